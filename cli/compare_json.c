/* cli/compare_json.c: the comparison's results file,
 *   {"context": {...}, "runs": [{...}, ...]}
 * one record per run with exactly: allocator, workload, threads, rep,
 * wall_s, cpu_s, ops_per_s, peak_rss_kib, final_rss_kib, minflt, majflt,
 * steal_s, syscalls ({name: count} from the counting run of the same
 * allocator, workload and threads; null while not counted or when the
 * counter could not run, with the reason in context.syscall_counter_error),
 * verification (from the verification run of the same triple: {ok,
 * first_bad_offset, bad_block_size, error}, the offset and size null when
 * no byte was found changed; null while not run), ok, and error when not
 * ok. peak_rss_kib is the worker's own VmHWM, null when it did not say
 * (a crash). Written whole after every run to path.tmp,
 * then renamed over path, so a reader never sees half a file and an
 * interrupted comparison keeps every run that ended. */
#include "compare.h"

#include "notfree/context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void str(FILE *f, const char *s)
{
    char buf[8192];
    nf_json_escape(buf, sizeof buf, s ? s : "");
    fputs(buf, f);
}

static void num(FILE *f, double v)
{
    if (v != v || v > 1e300 || v < -1e300)
        fputs("null", f);
    else
        fprintf(f, "%.6g", v);
}

static void context(FILE *f, const nf_cmp_session *s)
{
    static char *box;   /* the box facts do not change within a comparison */
    static char date[32];
    if (!box) {
        box = nf_context_json();
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    char host[256] = "unknown-host";
    gethostname(host, sizeof host - 1);
    struct utsname u;
    uname(&u);
    const char *thp = nf_thp_mode();
    fprintf(f, "{\n  \"host\": ");
    str(f, host);
    fprintf(f, ",\n  \"date\": ");
    str(f, date);
    fprintf(f, ",\n  \"kernel\": ");
    str(f, u.release);
    fprintf(f, ",\n  \"thp\": ");
    str(f, thp ? thp : "unreadable");
    fprintf(f, ",\n  \"pus\": %ld,\n  \"reps\": %u,\n  \"timeout_s\": ", sysconf(_SC_NPROCESSORS_ONLN), s->reps);
    num(f, s->timeout_s);
    fprintf(f, ",\n  \"threads\": [");
    for (unsigned i = 0; i < s->nthreads; i++)
        fprintf(f, "%s%u", i ? ", " : "", s->threads[i]);
    fprintf(f, "],\n  \"allocators\": [");
    for (unsigned i = 0; i < s->nallocs; i++) {
        const nf_cmp_alloc *a = &s->allocs[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        str(f, a->name);
        fprintf(f, ", \"path\": ");
        str(f, a->path);
        fprintf(f, ", \"preloaded\": %s, \"package\": ", a->preload ? "true" : "false");
        str(f, a->package);
        fprintf(f, ", \"version\": ");
        str(f, a->version);
        fprintf(f, ", \"available\": %s", a->available ? "true" : "false");
        if (!a->available) {
            fprintf(f, ", \"reason\": ");
            str(f, a->reason);
        }
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"workloads\": [");
    for (unsigned i = 0; i < s->nworkloads; i++) {
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        str(f, s->workloads[i]);
        fprintf(f, ", \"ops_per_thread\": %llu}", s->ops[i]);
    }
    fprintf(f, "\n  ],\n  \"op\": \"one malloc, free or realloc call\",\n  \"syscall_counter\": ");
    str(f, nf_cmp_syscall_method);
    if (s->count_error[0]) {
        fprintf(f, ",\n  \"syscall_counter_error\": ");
        str(f, s->count_error);
    }
    fprintf(f, ",\n  \"steal_disturbed_fraction\": %.2f,\n  \"warnings\": [", NF_CMP_STEAL_FRACTION);
    for (unsigned i = 0; i < s->nwarnings; i++) {
        fprintf(f, "%s", i ? ", " : "");
        str(f, s->warnings[i]);
    }
    fprintf(f, "],\n  \"notfree\": %s\n}", box ? box : "null");
}

static void run(FILE *f, const nf_cmp_session *s, const nf_cmp_record *r)
{
    const nf_cmp_record *c = NULL, *v = NULL;   /* the counting and verification runs of this triple */
    for (unsigned i = 0; i < s->nrecs; i++) {
        const nf_cmp_record *x = &s->recs[i];
        if (x->alloc != r->alloc || x->workload != r->workload || x->threads != r->threads)
            continue;
        if (x->counted && !c)
            c = x;
        if (x->verified && !v)
            v = x;
    }
    fprintf(f, "{\"allocator\": ");
    str(f, s->allocs[r->alloc].name);
    fprintf(f, ", \"workload\": ");
    str(f, s->workloads[r->workload]);
    fprintf(f, ", \"threads\": %u, \"rep\": %u, \"wall_s\": ", r->threads, r->rep);
    num(f, r->r.wall_s);
    fprintf(f, ", \"cpu_s\": ");
    num(f, r->r.cpu_s);
    fprintf(f, ", \"ops_per_s\": ");
    num(f, r->r.ops_per_s);
    fprintf(f, ", \"peak_rss_kib\": ");
    if (r->r.peak_rss_kib >= 0)
        fprintf(f, "%ld", r->r.peak_rss_kib);
    else
        fprintf(f, "null");
    fprintf(f, ", \"final_rss_kib\": %ld, \"minflt\": %ld, \"majflt\": %ld, \"steal_s\": ",
            r->r.final_rss_kib, r->r.minflt, r->r.majflt);
    num(f, r->r.steal_s);
    fprintf(f, ", \"syscalls\": ");
    if (c) {
        fprintf(f, "{");
        for (unsigned k = 0; k < NF_CMP_NSYS; k++)
            fprintf(f, "%s\"%s\": %lld", k ? ", " : "", nf_cmp_sys_names[k], c->syscalls[k]);
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ", \"verification\": ");
    if (v) {
        fprintf(f, "{\"ok\": %s, ", v->verify.ok ? "true" : "false");
        if (v->verify.bad_size)
            fprintf(f, "\"first_bad_offset\": %llu, \"bad_block_size\": %llu", v->verify.bad_offset,
                    v->verify.bad_size);
        else
            fprintf(f, "\"first_bad_offset\": null, \"bad_block_size\": null");
        if (!v->verify.ok) {
            fprintf(f, ", \"error\": ");
            str(f, v->verify.error);
        }
        fprintf(f, "}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ", \"ok\": %s", r->r.ok ? "true" : "false");
    if (!r->r.ok) {
        fprintf(f, ", \"error\": ");
        str(f, r->r.error);
    }
    fprintf(f, "}");
}

int nf_cmp_write_json(const char *path, const nf_cmp_session *s)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"context\": ");
    context(f, s);
    fprintf(f, ",\n\"runs\": [");
    unsigned n = 0;
    for (unsigned i = 0; i < s->nrecs; i++) {
        fprintf(f, "%s\n", n++ ? "," : "");
        run(f, s, &s->recs[i]);
    }
    fprintf(f, "\n]}\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
