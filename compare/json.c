/* compare/json.c: the comparison's results file, written with jansson
 * (notfree/json.h):
 *   {"context": {...}, "runs": [{...}, ...], "summary": {...}}
 * one record per run with exactly: allocator, workload, threads, rep,
 * wall_s, cpu_s, ops_per_s, peak_rss_kib, final_rss_kib, minflt, majflt,
 * steal_s, syscalls ({name: count} from the counting run of the same
 * allocator, workload and threads; null while not counted or when the
 * counter could not run, with the reason in context.syscall_counter_error),
 * verification (from the verification run of the same triple: {ok,
 * first_bad_offset, bad_block_size, error}, the offset and size null when
 * no byte was found changed; null while not run), ok, and error when not
 * ok. peak_rss_kib is the worker's own VmHWM, null when it did not say
 * (a crash). Then timeline (timeline.h: source "this run" with
 * --timeline, else "verification run"; the samples t, rss_kib, vsz_kib in
 * the record whose run was sampled, the figures in every record; null
 * while not sampled) and latency (latency.h; null when not sampled).
 *
 * summary: summary.c's aggregation, the only one (the table and the
 * charts read it): {baseline, median_over, spread, cells: [{allocator,
 * workload, threads, runs_ok, runs_failed, ops_per_s, spread,
 * peak_rss_kib, final_rss_kib, minflt (medians), time_vs_baseline,
 * peak_rss_vs_baseline, disturbed, syscalls_per_mop, latency (the ok
 * runs' samples together: percentiles and cdf [[ns, fraction], ...]),
 * latency_p99_ns, latency_max_ns, mean_rss_kib and above_90pct_of_peak
 * (medians of the runs' timeline figures), error when a run failed}]}; a
 * figure with no ok run, or a ratio without the baseline's, is null.
 *
 * Written whole after every run to a temporary file, then renamed over
 * path, so a reader never sees half a file and an interrupted comparison
 * keeps every run that ended. */
#include "compare.h"

#include "notfree/context.h"
#include "notfree/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static json_t *context(const nf_cmp_session *s)
{
    static json_t *box; /* the box facts do not change within a comparison */
    static char date[32];
    if (!box) {
        box = nf_context_to_json();
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
    json_t *c = json_object();
    nf_json_set_str(c, "host", host);
    nf_json_set_str(c, "date", date);
    nf_json_set_str(c, "kernel", u.release);
    nf_json_set_str(c, "thp", thp ? thp : "unreadable");
    nf_json_set_int(c, "pus", sysconf(_SC_NPROCESSORS_ONLN));
    nf_json_set_int(c, "reps", s->reps);
    nf_json_set_real(c, "timeout_s", s->timeout_s);
    json_t *threads = json_array();
    for (unsigned i = 0; i < s->nthreads; i++)
        json_array_append_new(threads, json_integer(s->threads[i]));
    json_object_set_new(c, "threads", threads);
    json_t *allocs = json_array();
    for (unsigned i = 0; i < s->nallocs; i++) {
        const nf_cmp_alloc *a = &s->allocs[i];
        json_t *o = json_object();
        nf_json_set_str(o, "name", a->name);
        nf_json_set_str(o, "path", a->path);
        json_object_set_new(o, "preloaded", json_boolean(a->preload));
        nf_json_set_str(o, "package", a->package);
        nf_json_set_str(o, "version", a->version);
        json_object_set_new(o, "available", json_boolean(a->available));
        if (!a->available)
            nf_json_set_str(o, "reason", a->reason);
        json_array_append_new(allocs, o);
    }
    json_object_set_new(c, "allocators", allocs);
    json_t *wls = json_array();
    for (unsigned i = 0; i < s->nworkloads; i++) {
        json_t *o = json_object();
        nf_json_set_str(o, "name", s->workloads[i]);
        nf_json_set_int(o, "ops_per_thread", (long long)s->ops[i]);
        if (s->trace && i == s->nworkloads - 1)
            nf_json_set_str(o, "trace", s->trace);
        json_array_append_new(wls, o);
    }
    json_object_set_new(c, "workloads", wls);
    nf_json_set_str(c, "op", "one malloc, free or realloc call");
    nf_json_set_str(c, "syscall_counter", nf_cmp_syscall_method);
    nf_json_set_str(c, "timeline", nf_cmp_timeline_method);
    nf_json_set_str(c, "timeline_runs", s->timeline ? "every run (--timeline)" : "the verification runs");
    if (s->latency_every)
        nf_json_set_int(c, "latency_sample_every", s->latency_every);
    else
        json_object_set_new(c, "latency_sample_every", json_null());
    if (s->count_error[0])
        nf_json_set_str(c, "syscall_counter_error", s->count_error);
    nf_json_set_real(c, "steal_disturbed_fraction", NF_CMP_STEAL_FRACTION);
    json_t *warn = json_array();
    for (unsigned i = 0; i < s->nwarnings; i++)
        json_array_append_new(warn, nf_json_string(s->warnings[i]));
    json_object_set_new(c, "warnings", warn);
    json_object_set_new(c, "notfree", box ? json_incref(box) : json_null());
    return c;
}

static json_t *syscalls_of(const long long counts[NF_CMP_NSYS])
{
    json_t *o = json_object();
    for (unsigned k = 0; k < NF_CMP_NSYS; k++)
        nf_json_set_int(o, nf_cmp_sys_names[k], counts[k]);
    return o;
}

static json_t *run(const nf_cmp_session *s, const nf_cmp_record *r)
{
    const nf_cmp_record *c = NULL, *v = NULL; /* the counting and verification runs of this triple */
    for (unsigned i = 0; i < s->nrecs; i++) {
        const nf_cmp_record *x = &s->recs[i];
        if (x->alloc != r->alloc || x->workload != r->workload || x->threads != r->threads)
            continue;
        if (x->counted && !c)
            c = x;
        if (x->verified && !v)
            v = x;
    }
    json_t *o = json_object();
    nf_json_set_str(o, "allocator", s->allocs[r->alloc].name);
    nf_json_set_str(o, "workload", s->workloads[r->workload]);
    nf_json_set_int(o, "threads", r->threads);
    nf_json_set_int(o, "rep", r->rep);
    nf_json_set_real(o, "wall_s", r->r.wall_s);
    nf_json_set_real(o, "cpu_s", r->r.cpu_s);
    nf_json_set_real(o, "ops_per_s", r->r.ops_per_s);
    if (r->r.peak_rss_kib >= 0)
        nf_json_set_int(o, "peak_rss_kib", r->r.peak_rss_kib);
    else
        json_object_set_new(o, "peak_rss_kib", json_null());
    nf_json_set_int(o, "final_rss_kib", r->r.final_rss_kib);
    nf_json_set_int(o, "minflt", r->r.minflt);
    nf_json_set_int(o, "majflt", r->r.majflt);
    nf_json_set_real(o, "steal_s", r->r.steal_s);
    json_object_set_new(o, "syscalls", c ? syscalls_of(c->syscalls) : json_null());
    json_t *ver = json_null();
    if (v) {
        ver = json_object();
        json_object_set_new(ver, "ok", json_boolean(v->verify.ok));
        json_object_set_new(ver, "first_bad_offset",
                            v->verify.bad_size ? json_integer((json_int_t)v->verify.bad_offset) : json_null());
        json_object_set_new(ver, "bad_block_size",
                            v->verify.bad_size ? json_integer((json_int_t)v->verify.bad_size) : json_null());
        if (!v->verify.ok)
            nf_json_set_str(ver, "error", v->verify.error);
    }
    json_object_set_new(o, "verification", ver);
    const nf_cmp_record *tr = nf_cmp_timeline_of(s, r);
    json_object_set_new(o, "timeline",
                        tr ? nf_cmp_timeline_json(&tr->timeline, s->timeline ? "this run" : "verification run", tr == r)
                           : json_null());
    json_object_set_new(o, "latency", nf_cmp_latency_json(&r->r.latency));
    json_object_set_new(o, "ok", json_boolean(r->r.ok));
    if (!r->r.ok)
        nf_json_set_str(o, "error", r->r.error);
    return o;
}

/* A median or ratio: null when there is none. */
static void set_figure(json_t *o, const char *key, int have, double v)
{
    if (have && !isnan(v))
        nf_json_set_real(o, key, v);
    else
        json_object_set_new(o, key, json_null());
}

static json_t *summary(const nf_cmp_session *s)
{
    nf_cmp_summary sum;
    if (nf_cmp_summarize(s, &sum) != 0)
        return NULL;
    json_t *o = json_object();
    nf_json_set_str(o, "baseline", sum.has_baseline ? s->allocs[sum.baseline].name : NULL);
    nf_json_set_str(o, "median_over", "the repetitions that ended ok");
    nf_json_set_str(o, "spread", "(max - min) / median of ops_per_s");
    json_t *cells = json_array();
    for (unsigned i = 0; i < sum.ncells; i++) {
        const nf_cmp_cell *c = &sum.cells[i];
        json_t *x = json_object();
        nf_json_set_str(x, "allocator", s->allocs[c->alloc].name);
        nf_json_set_str(x, "workload", s->workloads[c->workload]);
        nf_json_set_int(x, "threads", c->threads);
        nf_json_set_int(x, "runs_ok", c->n);
        nf_json_set_int(x, "runs_failed", c->failed);
        set_figure(x, "ops_per_s", c->n, c->ops_per_s);
        set_figure(x, "spread", c->n, c->spread);
        set_figure(x, "peak_rss_kib", c->n, c->peak_kib);
        set_figure(x, "final_rss_kib", c->n, c->final_kib);
        set_figure(x, "minflt", c->n, c->minflt);
        set_figure(x, "time_vs_baseline", 1, c->time_ratio);
        set_figure(x, "peak_rss_vs_baseline", 1, c->peak_ratio);
        json_object_set_new(x, "disturbed", json_boolean(c->disturbed));
        json_t *per = json_null();
        if (!isnan(nf_cmp_cell_per_mop(c, 0))) {
            per = json_object();
            for (unsigned k = 0; k < NF_CMP_NSYS; k++)
                nf_json_set_real(per, nf_cmp_sys_names[k], nf_cmp_cell_per_mop(c, k));
        }
        json_object_set_new(x, "syscalls_per_mop", per);
        nf_hist *all = malloc(sizeof *all);
        if (all && nf_cmp_cell_latency(s, c, all) > 0 && all->count > 0) {
            json_t *lat = nf_cmp_hist_json(all);
            json_object_set_new(lat, "cdf", nf_cmp_hist_cdf_json(all));
            json_object_set_new(x, "latency", lat);
        } else {
            json_object_set_new(x, "latency", json_null());
        }
        free(all);
        set_figure(x, "latency_p99_ns", 1, c->lat_p99_ns);
        set_figure(x, "latency_max_ns", 1, c->lat_max_ns);
        set_figure(x, "mean_rss_kib", 1, c->mean_rss_kib);
        set_figure(x, "above_90pct_of_peak", 1, c->above90);
        if (c->failed)
            nf_json_set_str(x, "error", c->error);
        json_array_append_new(cells, x);
    }
    json_object_set_new(o, "cells", cells);
    nf_cmp_summary_free(&sum);
    return o;
}

int nf_cmp_write_json(const char *path, const nf_cmp_session *s)
{
    json_t *root = json_object();
    json_object_set_new(root, "context", context(s));
    json_t *runs = json_array();
    for (unsigned i = 0; i < s->nrecs; i++)
        json_array_append_new(runs, run(s, &s->recs[i]));
    json_object_set_new(root, "runs", runs);
    json_t *sum = summary(s);
    if (!sum) {
        json_decref(root);
        errno = ENOMEM;
        return -1;
    }
    json_object_set_new(root, "summary", sum);
    int rc = nf_json_write_file(root, path);
    int e = errno;
    json_decref(root);
    errno = e;
    return rc;
}
