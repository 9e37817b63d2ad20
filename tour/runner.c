/* tour/runner.c: runs the steps in order, narrates, and writes the JSON
 * (after every step, atomically, so an interrupted tour leaves what it
 * measured); the Markdown report at the end (report.c). */
#include "tour.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "notfree/clock.h"
#include "notfree/json.h"
#include "notfree/resultfile.h"

static const nf_tour_step *find_step(const char *name, size_t len)
{
    for (unsigned i = 0; i < nf_tour_nsteps; i++)
        if (strlen(nf_tour_steps[i].name) == len && !strncmp(nf_tour_steps[i].name, name, len))
            return &nf_tour_steps[i];
    return NULL;
}

int nf_tour_check_steps(const char *list, char *bad, size_t badlen)
{
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || !find_step(p, len)) {
            snprintf(bad, badlen, "%.*s", (int)len, p);
            return -1;
        }
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

static int selected(const nf_tour_options *o, const nf_tour_step *s)
{
    if (!o->only)
        return 1;
    for (const char *p = o->only;;) {
        size_t len = strcspn(p, ",");
        if (strlen(s->name) == len && !strncmp(s->name, p, len))
            return 1;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

void nf_tour_list(FILE *f)
{
    fprintf(f, "%-3s %-10s %-40s %s\n", "#", "step", "claim", "needs");
    for (unsigned i = 0; i < nf_tour_nsteps; i++) {
        const nf_tour_step *s = &nf_tour_steps[i];
        fprintf(f, "%-3d %-10s %-40s %s\n", s->number, s->name, s->title, s->needs);
    }
}

static json_t *context_json(const nf_tour_options *o)
{
    json_t *c = json_object();
    char host[256] = "unknown-host", date[32];
    gethostname(host, sizeof host - 1);
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    struct utsname u;
    uname(&u);
    nf_json_set_str(c, "host", host);
    nf_json_set_str(c, "date", date);
    nf_json_set_str(c, "kernel", u.release);
    json_object_set_new(c, "quick", json_boolean(o->quick));
    nf_json_set_int(c, "overcommit_memory", nf_tour_read_ll("/proc/sys/vm/overcommit_memory"));
    nf_json_set_int(c, "mem_total_kib", nf_tour_meminfo_kib("MemTotal"));
    nf_json_set_int(c, "swap_total_kib", nf_tour_meminfo_kib("SwapTotal"));
    nf_json_set_int(c, "commit_limit_kib", nf_tour_meminfo_kib("CommitLimit"));
    nf_json_set_int(c, "cpus", sysconf(_SC_NPROCESSORS_ONLN));
    char why[256] = "";
    json_object_set_new(c, "memory_cgroup",
                        nf_tour_cgroup_possible(why, sizeof why) ? json_true() : nf_json_string(why));
    return c;
}

static json_t *step_json(const nf_tour_step *s, const nf_tour_run *r, double secs)
{
    json_t *j = json_object();
    nf_json_set_int(j, "number", s->number);
    nf_json_set_str(j, "name", s->name);
    nf_json_set_str(j, "title", s->title);
    nf_json_set_str(j, "claim", s->claim);
    nf_json_set_str(j, "needs", s->needs);
    json_object_set(j, "did", r->did);
    json_object_set(j, "figures", r->figures);
    json_object_set(j, "invariants", r->invariants);
    json_object_set(j, "charts", r->charts);
    nf_json_set_str(j, "verdict", nf_tour_verdict_name(r->verdict));
    nf_json_set_str(j, r->verdict == NF_TOUR_SKIPPED ? "reason" : "reasoning", r->reasoning);
    nf_json_set_real(j, "seconds", secs);
    return j;
}

int nf_tour_main(const nf_tour_options *o)
{
    char json_path[PATH_MAX];
    if (o->json_path)
        snprintf(json_path, sizeof json_path, "%s", o->json_path);
    else if (nf_mkdir_p("results") != 0 || nf_result_path(json_path, sizeof json_path, "results", "tour-") != 0) {
        fprintf(stderr, "notfree tour: cannot make results/: %s\n", strerror(errno));
        return 2;
    }
    /* Charts go beside the report (or the JSON), named after its stem. */
    char dir[PATH_MAX], stem[PATH_MAX];
    const char *anchor = o->report_path ? o->report_path : json_path;
    snprintf(dir, sizeof dir, "%s", anchor);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(stem, sizeof stem, "%s", slash ? anchor + (slash - dir) + 1 : anchor);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = '\0';
    char exe_dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe_dir, sizeof exe_dir - 1);
    exe_dir[n > 0 ? n : 0] = '\0';
    slash = strrchr(exe_dir, '/');
    if (slash)
        *slash = '\0';

    nf_tour_install_cleanup();
    json_t *doc = json_object();
    json_object_set_new(doc, "context", context_json(o));
    json_t *steps = json_array();
    json_object_set_new(doc, "steps", steps);
    unsigned total = 0, done = 0;
    for (unsigned i = 0; i < nf_tour_nsteps; i++)
        total += selected(o, &nf_tour_steps[i]) ? 1u : 0u;
    int failed = 0;
    double t_all = nf_now_s();
    printf("notfree tour%s: %u step%s of \"malloc Is Not Free\", measured on this box\n", o->quick ? " --quick" : "",
           total, total == 1 ? "" : "s");
    for (unsigned i = 0; i < nf_tour_nsteps; i++) {
        const nf_tour_step *s = &nf_tour_steps[i];
        if (!selected(o, s))
            continue;
        printf("\n[%u/%u] step %d, %s: %s\n  claim: %s\n", ++done, total, s->number, s->name, s->title, s->claim);
        fflush(stdout);
        nf_tour_run r = {0};
        r.quick = o->quick;
        r.exe_dir = exe_dir;
        r.report_dir = dir;
        r.stamp = stem;
        r.figures = json_object();
        r.invariants = json_object();
        r.did = json_array();
        r.charts = json_array();
        double t0 = nf_now_s();
        s->run(&r);
        double secs = nf_now_s() - t0;
        if (r.verdict == NF_TOUR_PENDING) {
            snprintf(r.reasoning, sizeof r.reasoning, "the step ended without a verdict (a bug in notfree)");
            failed = 1;
        }
        printf("  verdict: %s (%.1f s)\n  %s %s\n", nf_tour_verdict_name(r.verdict), secs,
               r.verdict == NF_TOUR_SKIPPED ? "why:" : "because:", r.reasoning);
        fflush(stdout);
        json_array_append_new(steps, step_json(s, &r, secs));
        json_decref(r.figures);
        json_decref(r.invariants);
        json_decref(r.did);
        json_decref(r.charts);
        nf_json_set_real(doc, "seconds", nf_now_s() - t_all);
        if (nf_json_write_file(doc, json_path) != 0) {
            fprintf(stderr, "notfree tour: cannot write %s: %s\n", json_path, strerror(errno));
            json_decref(doc);
            nf_tour_cleanup_all();
            return 2;
        }
    }
    int rc = failed;
    if (o->report_path && nf_tour_write_report(o->report_path, doc) != 0) {
        fprintf(stderr, "notfree tour: cannot write %s: %s\n", o->report_path, strerror(errno));
        rc = 2;
    }
    printf("\ntour done in %.1f s: %s%s%s\n", nf_now_s() - t_all, json_path, o->report_path ? ", " : "",
           o->report_path ? o->report_path : "");
    json_decref(doc);
    nf_tour_cleanup_all();
    return rc;
}
