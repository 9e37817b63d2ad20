/* cli/cmd_model_alloc.c: `notfree model --allocator NAME --workload WL`:
 * allocators on the kernel model (modelrun/, notfree/modelrun.h).
 *
 * Parse, plan, run, report. Each (allocator, workload) pair runs once per
 * preset, live, each preset in a child forked from here, so the streams are
 * equal (the allocator's decisions depend only on the calls and the
 * addresses, which are the same in every child; the workload runs on one
 * thread with one seed). The report: one row per preset, in totals and per
 * 1,000 operations. --chart draws model_alloc (cmd_model_chart.c).
 *
 * Traces: `--trace FILE` (instead of --workload) replays a recorded trace
 * (notfree/trace.h) through each allocator: the client is
 * nf_trace_client_run (trace/client.c) in place of the workload client,
 * its rows named "trace:" and the file's base name; the trace is loaded
 * once, here, before the per-preset children fork (they share its pages).
 * Operations are the trace's calls; the touch policy is the replay's
 * PAGES with check (stated in --help).
 */
#include "commands.h"
#include "model_alloc.h"

#include <notfree/json.h>
#include <notfree/modelrun.h>
#include <notfree/tlb.h>
#include <notfree/trace.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notfree/clock.h"

#define MAX_LIST 16
#define PROGRESS_AFTER_S 2.0

/* Operations per run when --ops is not given: each finishes in well under
 * 30 s on a box where a trapped access costs ~50 us (measured: see
 * README, "Allocators on the model"). Workloads not listed: 2000. */
static const struct {
    const char *name;
    uint64_t ops;
} default_ops[] = {
    {"small-churn", 20000},   {"random-mix", 10000},    {"larson-like", 10000}, {"producer-consumer", 20000},
    {"false-sharing", 20000}, {"fragmentation", 10000}, {"large", 150},         {"trim", 5000},
};

uint64_t nf_model_alloc_default_ops(const char *workload)
{
    for (size_t i = 0; i < sizeof default_ops / sizeof default_ops[0]; i++)
        if (!strcmp(default_ops[i].name, workload))
            return default_ops[i].ops;
    return 2000;
}

typedef struct aopts {
    const nf_allocator *alloc[MAX_LIST];
    const nf_workload *wl[MAX_LIST];
    const char *preset[MAX_LIST];
    size_t nalloc, nwl, npreset;
    uint64_t ops, seed, threads;
    bool json;
    const char *chart;
    const char *trace_path; /* --trace: replaces --workload */
    nf_trace *trace;        /* loaded by load_trace() */
    char trace_name[128];   /* its rows' workload name: trace:BASENAME */
    char preset_names[256]; /* the --preset list, split (o->preset points here) */
} aopts;

/* Splits v at commas into out (pointers into store, a copy of v of cap
 * bytes); the count, or -1 when too long, more than MAX_LIST or an empty
 * item. */
static int split(const char *v, char *store, size_t cap, const char **out)
{
    int n = 0;
    if (strlen(v) >= cap)
        return -1;
    strcpy(store, v);
    for (char *s = store, *e; s; s = e) {
        e = strchr(s, ',');
        if (e)
            *e++ = 0;
        if (!*s || n == MAX_LIST)
            return -1;
        out[n++] = s;
    }
    return n;
}

static int parse(int argc, char **argv, aopts *o)
{
    const char *names[MAX_LIST];
    char tmp[256]; /* the --allocator or --workload list, split (names point here) */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        static const char *const valued[] = {"--allocator", "--workload", "--preset", "--ops", "--seed",
                                             "--threads",   "--chart",    "--trace",  NULL};
        bool known = false;
        for (int k = 0; valued[k]; k++)
            known |= !strcmp(a, valued[k]);
        if (!known)
            return nf_model_usage_error("unknown flag '%s' with --allocator", a);
        if (!v)
            return nf_model_usage_error("%s needs a value", a);
        i++;
        int n = 0;
        if (!strcmp(a, "--allocator") || !strcmp(a, "--workload") || !strcmp(a, "--preset")) {
            bool keep = !strcmp(a, "--preset");
            n = split(v, keep ? o->preset_names : tmp, keep ? sizeof o->preset_names : sizeof tmp, names);
            if (n < 0)
                return nf_model_usage_error("bad %s '%s': one name or up to %d separated by commas", a, v, MAX_LIST);
        }
        if (!strcmp(a, "--allocator")) {
            for (int k = 0; k < n; k++) {
                const nf_allocator *A = nf_allocator_find(names[k]);
                if (!A)
                    return nf_model_usage_error("unknown allocator '%s' (bins, slab, shard)", names[k]);
                const char *why = nf_modelrun_refuse(A);
                if (why)
                    return nf_model_usage_error("--allocator %s cannot run on the model: %s", names[k], why);
                o->alloc[k] = A;
            }
            o->nalloc = (size_t)n;
        } else if (!strcmp(a, "--workload")) {
            for (int k = 0; k < n; k++) {
                o->wl[k] = nf_workload_find(names[k]);
                if (!o->wl[k])
                    return nf_model_usage_error("unknown workload '%s' (notfree compare --help lists them)", names[k]);
            }
            o->nwl = (size_t)n;
        } else if (!strcmp(a, "--preset")) {
            for (int k = 0; k < n; k++) {
                nf_tlb_geom g;
                char err[512];
                if (nf_tlb_preset(names[k], &g, err, sizeof err) != 0)
                    return nf_model_usage_error("%s", err);
                o->preset[k] = names[k];
            }
            o->npreset = (size_t)n;
        } else if (!strcmp(a, "--ops")) {
            if (nf_model_parse_count(v, &o->ops) != 0 || o->ops == 0)
                return nf_model_usage_error("bad --ops '%s': a positive whole number", v);
        } else if (!strcmp(a, "--seed")) {
            if (nf_model_parse_count(v, &o->seed) != 0)
                return nf_model_usage_error("bad --seed '%s': a whole number", v);
        } else if (!strcmp(a, "--threads")) {
            if (nf_model_parse_count(v, &o->threads) != 0 || o->threads == 0)
                return nf_model_usage_error("bad --threads '%s': a positive whole number", v);
        } else if (!strcmp(a, "--chart")) {
            o->chart = v;
        } else if (!strcmp(a, "--trace")) {
            o->trace_path = v;
        }
    }
    return 0;
}

static int plan(aopts *o)
{
    if (!o->nalloc)
        return nf_model_usage_error("%s", "--allocator NAME is needed (bins, slab, shard)");
    if (o->trace_path && o->nwl)
        return nf_model_usage_error("%s",
                                    "--trace and --workload are mutually exclusive: replay one recorded trace or run "
                                    "workloads (two calls for both)");
    if (o->trace_path && o->ops)
        return nf_model_usage_error("%s", "--ops does not apply to --trace: a replay makes every call of the trace");
    if (!o->nwl && !o->trace_path)
        return nf_model_usage_error("%s", "--workload NAME or --trace FILE is needed with --allocator");
    if (o->threads != 1)
        return nf_model_usage_error("--threads %" PRIu64
                                    ": live mode serves one thread's accesses at a time (the model is "
                                    "single-threaded), so allocators run on the model with --threads 1",
                                    o->threads);
    if (!o->npreset) {
        o->preset[0] = "zen4";
        o->npreset = 1;
    }
    if (o->chart && !NF_PLOTS)
        return nf_model_usage_error("%s", "--chart: built without gnuplot (-Dplots=disabled, or gnuplot-nox missing)");
    return 0;
}

/* Loads --trace once, before any child forks; 0, or 2 with one line said. */
static int load_trace(aopts *o)
{
    char err[512];
    int r = nf_trace_load(o->trace_path, &o->trace, err, sizeof err);
    if (r == -1)
        return nf_model_usage_error("--trace %s: cannot read it: %s", o->trace_path, err);
    if (r != 0)
        return nf_model_usage_error("--trace %s: not a valid trace: %s", o->trace_path, err);
    /* The chart passes names to gnuplot as space-separated words. */
    const char *base = strrchr(o->trace_path, '/');
    snprintf(o->trace_name, sizeof o->trace_name, "trace:%s", base ? base + 1 : o->trace_path);
    for (char *c = o->trace_name; *c; c++)
        if (*c == ' ' || *c == '\t' || *c == '"' || *c == '\'')
            *c = '_';
    return 0;
}

/* ---- progress: on stderr, after 2 s, a line rewritten in place when stderr
 * is a terminal, else one line every 10 s (logs stay short) ---- */
typedef struct aprog {
    bool tty, shown;
    double start, next;
    char what[256];
} aprog;

/* Runs in the child of each run: the last call ends a shown line there. */
static void on_progress(void *arg, uint64_t done, uint64_t total)
{
    aprog *p = arg;
    double t = nf_now_s();
    bool last = done >= total;
    if (t - p->start < PROGRESS_AFTER_S || (t < p->next && !last) || (last && p->tty && !p->shown))
        return;
    p->next = t + (p->tty ? 0.25 : 10.0);
    p->shown = true;
    fprintf(stderr, "%snotfree model: %s: %" PRIu64 " of %" PRIu64 " ops (%.0f%%), %.1f s%s", p->tty ? "\r\033[K" : "",
            p->what, done, total, 100.0 * (double)done / (double)total, t - p->start, p->tty && !last ? "" : "\n");
}

/* One allocator on one client under each preset, each preset in a child of
 * its own: a row per preset that ran; 0, or 1 (said on stderr). */
static int run_presets(const aopts *o, const nf_allocator *A, const char *what, uint64_t ops_asked,
                       nf_modelrun_client client, void *arg, aprog *pr, nf_model_alloc_row *rows, size_t *n)
{
    nf_modelrun_config cfg = {.alloc = A};
    int rc = 0;
    for (size_t p = 0; p < o->npreset; p++) {
        nf_modelrun_figures fig;
        snprintf(pr->what, sizeof pr->what, "%s on %s, %s", A->name, what, o->preset[p]);
        pr->start = nf_now_s();
        pr->next = 0;
        char err[512];
        if (nf_modelrun_presets(&cfg, &o->preset[p], 1, client, arg, &fig, err, sizeof err) != 0) {
            fprintf(stderr, "%snotfree model: %s on %s, %s: %s\n", pr->tty ? "\r\033[K" : "", A->name, what,
                    o->preset[p], err);
            rc = 1;
            continue;
        }
        rows[(*n)++] = (nf_model_alloc_row){A->name, what, ops_asked, fig};
    }
    return rc;
}

static int run_all(const aopts *o, nf_model_alloc_row *rows, size_t *nrows)
{
    aprog pr = {.tty = isatty(2) == 1};
    size_t n = 0;
    int rc = 0;
    for (size_t w = 0; w < o->nwl; w++)
        for (size_t a = 0; a < o->nalloc; a++) {
            nf_modelrun_workload c = {
                .w = o->wl[w],
                .params = {.threads = 1, .seed = o->seed},
                .ops = o->ops ? o->ops : nf_model_alloc_default_ops(nf_workload_name(o->wl[w])),
                .progress = on_progress,
                .parg = &pr,
            };
            rc |= run_presets(o, o->alloc[a], nf_workload_name(o->wl[w]), c.ops, nf_modelrun_workload_client, &c, &pr,
                              rows, &n);
        }
    for (size_t a = 0; o->trace && a < o->nalloc; a++) {
        nf_trace_client c = {
            .t = o->trace,
            .o = {NF_TRACE_TOUCH_PAGES, 1},
            .progress = on_progress,
            .parg = &pr,
        };
        rc |= run_presets(o, o->alloc[a], o->trace_name, o->trace->nevents, nf_trace_client_run, &c, &pr, rows, &n);
    }
    *nrows = n;
    return rc;
}

/* ---- report ---- */
static double per_kop(uint64_t v, int64_t ops) { return ops > 0 ? 1000.0 * (double)v / (double)ops : 0; }

static void print_table(const aopts *o, const nf_model_alloc_row *r, size_t n)
{
    if (o->trace)
        printf("notfree model: allocators on the kernel model, live mode, 1 thread, trace %s\n"
               "(%s: %" PRIu64 " calls from %" PRIu32 " thread%s, replayed in recorded order on one thread;\n"
               "each block's first and last 8 bytes and one byte per 4 KiB written at birth, read back before free)\n",
               o->trace_path, o->trace->command, o->trace->nevents, o->trace->nthreads,
               o->trace->nthreads == 1 ? "" : "s");
    else
        printf("notfree model: allocators on the kernel model, live mode, 1 thread, seed %" PRIu64 "\n", o->seed);
    printf("every figure is the model's (kernels/), except wall time (timing); /kop = per 1,000 operations;\n"
           "pages are 4 KiB; TLB misses and walks are what live mode sees (L1 hits are not trapped)\n");
    const char *last = "";
    for (size_t i = 0; i < n; i++) {
        const nf_modelrun_figures *f = &r[i].fig;
        if (strcmp(last, r[i].workload)) {
            printf("\n%s (%" PRIu64 " ops)\n", r[i].workload, r[i].ops_asked);
            printf("  %-6s %-10s %9s %8s %7s %5s %5s | %8s %8s %8s %8s %5s %4s | %8s %8s %8s %8s | %7s %6s\n", "alloc",
                   "preset", "faults", "/kop", "dzero", "cow", "zero", "RSSpeak", "RSSend", "VSZpeak", "VSZend", "PT",
                   "VMAs", "L1miss/k", "L2miss/k", "walks/k", "refs/k", "wall s", "us/trap");
            last = r[i].workload;
        }
        printf("  %-6s %-10s %9" PRIu64 " %8.2f %7" PRIu64 " %5" PRIu64 " %5" PRIu64 " | %8" PRIu64 " %8" PRIu64
               " %8" PRIu64 " %8" PRIu64 " %5" PRIu64 " %4" PRIu64 " | %8.2f %8.2f %8.2f %8.2f | %7.2f %6.1f\n",
               r[i].alloc, f->preset, f->minor_faults + f->major_faults, per_kop(f->minor_faults, f->ops),
               f->demand_zero, f->cow_faults, f->zero_page_maps, f->rss_peak, f->rss_final, f->vsz_peak, f->vsz_final,
               f->pt_pages_peak, f->vmas_peak, per_kop(f->l1_misses, f->ops), per_kop(f->l2_misses, f->ops),
               per_kop(f->walks, f->ops), per_kop(f->walk_refs, f->ops), f->wall_s,
               f->traps ? f->wall_s * 1e6 / (double)f->traps : 0.0);
        printf("  %-17s page calls: map %" PRIu64 " (%" PRIu64 " KiB), unmap %" PRIu64 ", advise %" PRIu64
               ", brk %" PRIu64 ", protect %" PRIu64 ", lock %" PRIu64 "; swap-ins %" PRIu64 ", traps %" PRIu64
               ", ops done %" PRId64 "\n",
               "", f->page_calls[NF_PAGE_MAP], f->page_bytes[NF_PAGE_MAP] / 1024, f->page_calls[NF_PAGE_UNMAP],
               f->page_calls[NF_PAGE_ADVISE], f->page_calls[NF_PAGE_BRK], f->page_calls[NF_PAGE_PROTECT],
               f->page_calls[NF_PAGE_LOCK], f->swap_ins, f->traps, f->ops);
    }
    printf("\nfaults: minor + major (dzero: demand-zero, cow, zero: zero-page maps); RSS, VSZ: pages, peak and at\n"
           "the end (blocks freed, heap not destroyed); PT: peak page-table pages; us/trap: wall time per trapped\n"
           "access, an upper bound on live mode's cost per trap (the native work is far smaller)\n");
}

static void print_json(const aopts *o, const nf_model_alloc_row *r, size_t n)
{
    json_t *j = json_object();
    nf_json_set_str(j, "source", "model");
    nf_json_set_str(j, "mode", "live");
    nf_json_set_int(j, "threads", 1);
    if (o->trace) {
        json_t *t = json_object();
        nf_json_set_str(t, "file", o->trace_path);
        nf_json_set_str(t, "command", o->trace->command);
        nf_json_set_int(t, "calls", (long long)o->trace->nevents);
        nf_json_set_int(t, "threads", (long long)o->trace->nthreads);
        nf_json_set_str(t, "touch", "pages");
        json_object_set_new(j, "trace", t);
    } else {
        nf_json_set_int(j, "seed", (long long)o->seed);
    }
    json_t *runs = json_array();
    for (size_t i = 0; i < n; i++) {
        const nf_modelrun_figures *f = &r[i].fig;
        json_t *x = json_object();
        nf_json_set_str(x, "allocator", r[i].alloc);
        nf_json_set_str(x, "workload", r[i].workload);
        nf_json_set_str(x, "preset", f->preset);
        struct {
            const char *k;
            uint64_t v;
        } u[] = {
            {"ops", (uint64_t)f->ops},
            {"minor_faults", f->minor_faults},
            {"major_faults", f->major_faults},
            {"demand_zero_faults", f->demand_zero},
            {"cow_faults", f->cow_faults},
            {"zero_page_maps", f->zero_page_maps},
            {"swap_ins", f->swap_ins},
            {"pt_pages_peak", f->pt_pages_peak},
            {"pt_pages_final", f->pt_pages_final},
            {"vmas_peak", f->vmas_peak},
            {"vmas_final", f->vmas_final},
            {"rss_pages_peak", f->rss_peak},
            {"rss_pages_final", f->rss_final},
            {"vsz_pages_peak", f->vsz_peak},
            {"vsz_pages_final", f->vsz_final},
            {"tlb_lookups", f->tlb_lookups},
            {"l1_misses", f->l1_misses},
            {"l2_hits", f->l2_hits},
            {"l2_misses", f->l2_misses},
            {"walks", f->walks},
            {"walk_refs", f->walk_refs},
            {"traps", f->traps},
        };
        for (size_t k = 0; k < sizeof u / sizeof u[0]; k++)
            nf_json_set_int(x, u[k].k, (long long)u[k].v);
        json_t *pcs = json_object();
        for (int k = 0; k < NF_PAGE_CALL_COUNT; k++)
            nf_json_set_int(pcs, nf_page_call_name((nf_page_call)k), (long long)f->page_calls[k]);
        json_object_set_new(x, "page_calls", pcs);
        nf_json_set_real(x, "faults_per_kop", per_kop(f->minor_faults + f->major_faults, f->ops));
        nf_json_set_real(x, "walks_per_kop", per_kop(f->walks, f->ops));
        nf_json_set_real(x, "l1_misses_per_kop", per_kop(f->l1_misses, f->ops));
        nf_json_set_real(x, "wall_s", f->wall_s);
        nf_json_set_real(x, "us_per_trap", f->traps ? f->wall_s * 1e6 / (double)f->traps : 0.0);
        json_array_append_new(runs, x);
    }
    json_object_set_new(j, "runs", runs);
    json_dumpf(j, stdout, NF_JSON_FLAGS | JSON_INDENT(1));
    fputc('\n', stdout);
    json_decref(j);
}

int nf_cmd_model_alloc(int argc, char **argv)
{
    aopts o = {.seed = 1, .threads = 1};
    int rc = parse(argc, argv, &o);
    if (!rc)
        rc = plan(&o);
    if (!rc && o.trace_path)
        rc = load_trace(&o);
    if (rc)
        return rc;
    nf_model_alloc_row *rows = calloc(o.nalloc * (o.nwl + (o.trace != NULL)) * o.npreset, sizeof *rows);
    if (!rows) {
        fprintf(stderr, "notfree model: out of memory\n");
        nf_trace_free(o.trace);
        return 1;
    }
    size_t n = 0;
    rc = run_all(&o, rows, &n);
    if (o.json)
        print_json(&o, rows, n);
    else
        print_table(&o, rows, n);
    if (o.chart && n && nf_model_alloc_chart(o.chart, rows, n) != 0)
        rc = rc ? rc : 1;
    free(rows);
    nf_trace_free(o.trace);
    return rc;
}
