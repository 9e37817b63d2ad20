/* compare/plan.c: a comparison planned from its options, before any run:
 * the allocators (resolved, each library checked to be the malloc), the
 * workloads and their operations per thread (each workload's default
 * count times the scale), the thread counts, the worker, the results
 * file.
 *
 * Refused (2): an empty item in a list, an unknown name, an allocator
 * listed twice, a NAME=/path library that does not load, or one in which
 * malloc does not resolve (not an allocator), a missing worker. Cannot run
 * (1): nothing available to measure, a results directory that cannot be
 * made. */
#include "compare.h"

#include "notfree/resultfile.h"
#include "notfree/workload.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Splits a comma list into items (in place); returns the count, -1 when
 * an item is empty ("a,", ",a", "a,,b", ""): a stray comma is a mistake
 * to report, not to skip; -2 when there are more than cap. */
static int split(char *s, char **items, unsigned cap)
{
    unsigned n = 0;
    for (char *p = s;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p)
            return -1;
        if (n >= cap)
            return -2;
        items[n++] = p;
        if (!comma)
            return (int)n;
        p = comma + 1;
    }
}

/* The message for a list split() refused with rc. */
static int bad_list(const char *flag, const char *list, int rc, unsigned cap, char *err, size_t len)
{
    if (rc == -1)
        snprintf(err, len, "%s '%.900s': an empty item (a stray comma?)", flag, list);
    else
        snprintf(err, len, "%s '%.900s': more than %u items", flag, list, cap);
    return 2;
}

int nf_cmp_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int plan_allocators(const nf_cmp_options *o, nf_cmp_plan *p, char *err, size_t len)
{
    char *items[64], defaults[256] = "";
    for (unsigned k = 0; k < nf_cmp_nknown; k++)
        snprintf(defaults + strlen(defaults), sizeof defaults - strlen(defaults), "%s%s", k ? "," : "",
                 nf_cmp_known[k]);
    char *list = p->lists[0];
    snprintf(list, sizeof p->lists[0], "%s", o->allocators ? o->allocators : defaults);
    int n = split(list, items, 64);
    if (n <= 0)
        return bad_list("--allocators", o->allocators ? o->allocators : defaults, n, 64, err, len);
    p->s.allocs = calloc((size_t)n, sizeof *p->s.allocs);
    if (!p->s.allocs) {
        snprintf(err, len, "out of memory");
        return 1;
    }
    nf_cmp_alloc *allocs = p->s.allocs;
    for (unsigned k = 0; k < (unsigned)n; k++) {
        char why[512];
        if (nf_cmp_alloc_resolve(items[k], &allocs[k], why, sizeof why) != 0) {
            snprintf(err, len, "--allocators: %s", why);
            return 2;
        }
        p->s.nallocs = k + 1;
        for (unsigned j = 0; j < k; j++)
            if (!strcmp(allocs[j].name, allocs[k].name)) {
                snprintf(err, len, "--allocators: '%.200s' is listed twice", items[k]);
                return 2;
            }
        /* A library the user names must load: there is no package to
         * suggest, and measuring nothing under its name helps no one. */
        if (!allocs[k].available && !strcmp(allocs[k].package, "user")) {
            snprintf(err, len, "--allocators: %.1000s: %.2000s", items[k], allocs[k].reason);
            return 2;
        }
    }
    return 0;
}

static int plan_workloads(const nf_cmp_options *o, double scale, nf_cmp_plan *p, char *err, size_t len)
{
    unsigned nw = 0;
    if (o->workloads) {
        char *w[64];
        snprintf(p->lists[1], sizeof p->lists[1], "%s", o->workloads);
        int n = split(p->lists[1], w, 64);
        if (n <= 0)
            return bad_list("--workloads", o->workloads, n, 64, err, len);
        for (int k = 0; k < n; k++) {
            size_t size;
            if (!nf_workload_parse(w[k], &size)) {
                snprintf(err, len,
                         "--workloads: unknown workload '%.200s' (notfree alloc --list shows them; "
                         "small-churn:SIZE runs one block size, 1 to %zu bytes)",
                         w[k], NF_WORKLOAD_SIZE_MAX);
                return 2;
            }
            p->wnames[nw++] = w[k];
        }
    } else {
        for (size_t k = 0; k < nf_workload_count() && nw < 64; k++)
            p->wnames[nw++] = nf_workload_name(nf_workload_at(k));
    }
    for (unsigned k = 0; k < nw; k++) {
        size_t size;
        uint64_t base = nf_workload_default_ops(nf_workload_parse(p->wnames[k], &size));
        p->wops[k] = (unsigned long long)fmax(1, round((double)base * scale));
    }
    if (o->trace) {
        if (nw == 64) {
            snprintf(err, len, "--trace: 64 workloads already");
            return 2;
        }
        int rc = nf_cmp_plan_trace(o->trace, p->trace_name, sizeof p->trace_name, &p->wops[nw], err, len);
        if (rc)
            return rc;
        p->wnames[nw++] = p->trace_name;
        p->s.trace = o->trace;
    }
    p->s.workloads = p->wnames;
    p->s.ops = p->wops;
    p->s.nworkloads = nw;
    return 0;
}

static int plan_threads(const nf_cmp_options *o, nf_cmp_plan *p, char *err, size_t len)
{
    long pus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned nt = 0;
    if (o->threads) {
        char *t[32];
        snprintf(p->lists[2], sizeof p->lists[2], "%s", o->threads);
        int n = split(p->lists[2], t, 32);
        if (n <= 0)
            return bad_list("--threads", o->threads, n, 32, err, len);
        for (int k = 0; k < n; k++)
            if (nf_cmp_parse_uint(t[k], 1, 1024, &p->threads[nt++]) != 0) {
                snprintf(err, len, "--threads: '%.200s' is not a thread count from 1 to 1024", t[k]);
                return 2;
            }
    } else {
        p->threads[nt++] = 1;
        if (pus > 1)
            p->threads[nt++] = (unsigned)pus;
    }
    p->s.threads = p->threads;
    p->s.nthreads = nt;
    for (unsigned k = 0; k < nt; k++)
        if (pus > 0 && p->threads[k] > (unsigned)pus && p->s.nwarnings < 4) {
            snprintf(p->s.warnings[p->s.nwarnings++], sizeof p->s.warnings[0],
                     "%u threads asked for on %ld PUs: threads share PUs, so times measure the scheduler too",
                     p->threads[k], pus);
            fprintf(stderr, "notfree compare: warning: %s\n", p->s.warnings[p->s.nwarnings - 1]);
        }
    return 0;
}

int nf_cmp_plan_make(const nf_cmp_options *o, nf_cmp_plan *p, char *err, size_t len, int *hint)
{
    memset(p, 0, sizeof *p);
    p->s.reps = o->reps;
    p->s.timeout_s = o->timeout_s;
    p->s.timeline = o->timeline;
    p->s.latency_every = o->latency_every;
    *hint = 1;
    int rc;
    if ((rc = plan_allocators(o, p, err, len)) || (rc = plan_workloads(o, o->scale, p, err, len)) ||
        (rc = plan_threads(o, p, err, len)))
        return rc;
    *hint = 0;

    /* The worker: the build tree's, or the one installed beside notfree. */
    if (nf_cmp_locate_program("notfree-workload", "compare", "NOTFREE_WORKLOAD", p->worker, sizeof p->worker) != 0) {
        char dir[PATH_MAX];
        nf_cmp_exe_dir(dir, sizeof dir);
        snprintf(err, len, "the worker %.2000s is missing: build it with `ninja -C %.1000s`", p->worker, dir);
        return 2;
    }

    /* Is each library an allocator? Preloaded, malloc must resolve into it
     * (a library without malloc would be measured as glibc under its name). */
    for (unsigned k = 0; k < p->s.nallocs; k++) {
        nf_cmp_alloc *a = &p->s.allocs[k];
        char why[1024];
        if (a->available && nf_cmp_alloc_probe(p->worker, a, why, sizeof why) == 1) {
            snprintf(err, len, "--allocators: %s (%.1000s) refused: %.1500s", a->name, a->path, why);
            return 2;
        }
    }

    /* The results file */
    if (o->out) {
        snprintf(p->path, sizeof p->path, "%s", o->out);
    } else {
        const char *dir = o->results ? o->results : "results";
        if (nf_mkdir_p(dir) != 0) {
            snprintf(err, len, "cannot create %.2000s: %s", dir, strerror(errno));
            return 1;
        }
        if (nf_result_path(p->path, sizeof p->path, dir, "compare-") != 0) {
            snprintf(err, len, "%.2000s: the results path is too long", dir);
            return 1;
        }
    }

    for (unsigned k = 0; k < p->s.nallocs; k++) {
        if (p->s.allocs[k].available)
            p->navail++;
        else
            fprintf(stderr, "notfree compare: %s unavailable: %s\n", p->s.allocs[k].name, p->s.allocs[k].reason);
    }
    if (!p->navail) {
        snprintf(err, len, "nothing to measure: none of the allocators asked for is available");
        return 1;
    }
    unsigned ntimed = p->navail * p->s.nworkloads * p->s.nthreads * p->s.reps;
    p->s.recs = calloc(ntimed ? ntimed : 1, sizeof *p->s.recs);
    if (!p->s.recs) {
        snprintf(err, len, "out of memory");
        return 1;
    }
    return 0;
}

void nf_cmp_plan_free(nf_cmp_plan *p)
{
    free(p->s.recs);
    free(p->s.allocs);
    p->s.recs = NULL;
    p->s.allocs = NULL;
}
