/* cli/cmd_regress.c: `notfree regress`: parse, plan the two sides (two
 * builds, or two allocator libraries), run them interleaved (regress_ab.c),
 * judge each kind with diff's rules, report, write everything to
 * results/regress-<host>-<UTC>.json. */
#include "commands.h"
#include "diff.h"
#include "regress.h"

#include "notfree/context.h"
#include "notfree/clock.h"
#include "notfree/resultfile.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef NF_SOURCE_DIR
#define NF_SOURCE_DIR "."
#endif

/* The quick set (`--base` without --benches): first-touch and populate
 * faults, fork at 16 MiB, the TLB chase at three sizes, small allocations
 * under our three allocators. ~7 s a round on the lab's box. */
#define QUICK_BENCHES                                                                                  \
    "^(fault/first_touch_write/hot/64/|fault/populate/64/|fork/latency/16/|tlb/chase/(64|1024|16384)$" \
    "|alloc/(bins|slab|shard)/small-churn/threads:1/)"
#define QUICK_WORKLOADS "small-churn,larson-like"

void nf_cmd_regress_help(FILE *f)
{
    fprintf(f, "usage: notfree regress --base REV [flags]\n"
               "       notfree regress --a NAME=/path/liba.so --b NAME=/path/libb.so [flags]\n\n"
               "An A/B run in one go, the noise-robust way on a shared box: the two sides run\n"
               "alternately (A B, B A, A B, ...) for --reps rounds, each run its own process,\n"
               "and the samples of each side are judged as `notfree diff` judges two files\n"
               "(U-test, threshold, counts by tolerance); a spread wider than a change makes it\n"
               "inconclusive. Ends with the table, the verdict and its exit code, and writes\n"
               "both sides' raw samples, the context and the verdicts to\n"
               "DIR/regress-<host>-<UTC>.json.\n\n"
               "  --base REV         this working tree's build (this notfree) against REV of its\n"
               "                     repository, built once under <source>/build/regress/<sha>/\n"
               "                     (git worktree + meson; reused when present)\n"
               "  --a SPEC, --b SPEC two allocators, each NAME=/path/to/lib.so or a name\n"
               "                     `notfree compare` knows (glibc, bins, ...): no git\n"
               "  --reps N           rounds (default 7; 5 is the least that can reach p < 0.01)\n"
               "  --workloads LIST   allocator workloads through `notfree compare` (default\n"
               "                     " QUICK_WORKLOADS "; none: no compare runs)\n"
               "  --allocators LIST  with --base: the allocators of the compare runs (default\n"
               "                     bins,slab,shard)\n"
               "  --threads LIST     default 1\n"
               "  --scale X          workload operations x X (default 0.25)\n"
               "  --benches RE       with --base: benches to run (a --benchmark_filter; default a\n"
               "                     quick set: fault first touch and populate at 64 MiB, fork at\n"
               "                     16 MiB, tlb/chase at 3 sizes, alloc small-churn; none: no benches)\n"
               "  --bench-min-time S --benchmark_min_time of each bench run (default 0.05)\n"
               "  --timeout S        per compare run (default 120)\n"
               "  --results DIR      default results; --out FILE instead of the default name\n"
               "  --keep             keep each run's JSON and log (the directory is printed)\n"
               "  and diff's --alpha, --threshold, --count-tolerance, --metric, --filter,\n"
               "  --format, --chart FILE (with both kinds: FILE-compare.png, FILE-bench.png)\n\n"
               "Exit: 0 no regression, 1 a regression (B, or head, worse than A, or base), 2 bad\n"
               "flags, a side that cannot run, or nothing in common to judge.\n");
}

static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "notfree regress: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

/* Steal time of all CPUs, in seconds (/proc/stat's 8th column); -1 unreadable. */
static double steal_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                       &v[6], &v[7])
              : 0;
    if (f)
        fclose(f);
    return n == 8 ? (double)v[7] / (double)sysconf(_SC_CLK_TCK) : -1;
}

/* The 1-minute load average; -1 unreadable. On a guest that reports no
 * steal, the load of other processes is the disturbance that shows. */
static double load1(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double v = -1;
    if (f) {
        if (fscanf(f, "%lf", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

typedef struct regress_args {
    const char *base, *a, *b, *results, *out;
    nf_ab_plan plan;
    const char *allocators;
    bool keep;
    nf_diff_flags fl;
} regress_args;

static int parse(int argc, char **argv, regress_args *r)
{
    static const char *const with_value[] = {"--base",       "--a",       "--b",     "--reps",    "--workloads",
                                             "--allocators", "--threads", "--scale", "--benches", "--bench-min-time",
                                             "--timeout",    "--results", "--out"};
    const char **dest[] = {&r->base,
                           &r->a,
                           &r->b,
                           NULL,
                           &r->plan.workloads,
                           &r->allocators,
                           &r->plan.threads,
                           &r->plan.scale,
                           &r->plan.benches,
                           &r->plan.bench_min_time,
                           &r->plan.timeout,
                           &r->results,
                           &r->out};
    for (int i = 1; i < argc; i++) {
        int t = nf_diff_flag("regress", argc, argv, &i, &r->fl);
        if (t < 0)
            return -1;
        if (t > 0)
            continue;
        char *a = argv[i];
        if (!strcmp(a, "--keep")) {
            r->keep = true;
            continue;
        }
        char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a), k;
        for (k = 0; k < sizeof with_value / sizeof *with_value; k++)
            if (strlen(with_value[k]) == len && !strncmp(a, with_value[k], len))
                break;
        if (k == sizeof with_value / sizeof *with_value) {
            bad("unknown flag or argument '%s' (notfree regress --help)", a);
            return -1;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) {
                bad("%s needs a value", with_value[k]);
                return -1;
            }
            v = argv[++i];
        }
        if (dest[k]) {
            *dest[k] = v;
            continue;
        }
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (*end || end == v || n < 1 || n > 1000) {
            bad("--reps: '%s' is not a whole number from 1 to 1000", v);
            return -1;
        }
        r->plan.reps = (unsigned)n;
    }
    if (!r->base == !(r->a || r->b) || (!r->base && !(r->a && r->b))) {
        bad("say --base REV, or --a SPEC and --b SPEC (notfree regress --help)");
        return -1;
    }
    if (r->base && r->allocators == NULL)
        r->allocators = "bins,slab,shard";
    if (!r->base && r->allocators) {
        bad("--allocators is for --base; --a and --b name the two allocators");
        return -1;
    }
    if (!r->base && r->plan.benches) {
        bad("--benches is for --base: the benches of two allocator libraries are one build's");
        return -1;
    }
    if (r->base && !r->plan.benches)
        r->plan.benches = QUICK_BENCHES;
    if (r->plan.benches && !strcmp(r->plan.benches, "none"))
        r->plan.benches = NULL;
    if (r->plan.workloads && !strcmp(r->plan.workloads, "none"))
        r->plan.workloads = NULL;
    else if (!r->plan.workloads)
        r->plan.workloads = QUICK_WORKLOADS;
    if (!r->plan.workloads && !r->plan.benches) {
        bad("nothing to run: --workloads none and no benches");
        return -1;
    }
    return 0;
}

/* "NAME=/path" -> NAME; a bare name is its own label. */
static void label_of(const char *spec, const char *suffix, char *buf, size_t cap)
{
    const char *eq = strchr(spec, '=');
    snprintf(buf, cap, "%.*s%s", eq ? (int)(eq - spec) : (int)strlen(spec), spec, suffix);
}

/* FILE.png -> FILE-<kind>.png when both kinds are charted. */
static void chart_name(const char *chart, const char *kind, bool both, char *buf, size_t cap)
{
    size_t n = strlen(chart);
    if (!both)
        snprintf(buf, cap, "%s", chart);
    else
        snprintf(buf, cap, "%.*s-%s%s", (int)(n - 4), chart, kind, chart + n - 4);
}

static json_t *side_json(const nf_ab_side *s)
{
    json_t *o = json_object();
    nf_json_set_str(o, "label", s->label);
    nf_json_set_str(o, "notfree", s->notfree);
    nf_json_set_str(o, "rev", s->rev[0] ? s->rev : NULL);
    nf_json_set_str(o, "allocators", s->allocators);
    nf_json_set_int(o, "processes", s->runs);
    nf_json_set_int(o, "failed", s->failed);
    nf_json_set_real(o, "seconds", s->seconds);
    json_object_set(o, "compare", s->compare ? s->compare : json_null());
    json_object_set(o, "bench", s->bench ? s->bench : json_null());
    return o;
}

/* Judges one kind: side 0 is old, side 1 new. Returns diff's exit status. */
static int judge_kind(regress_args *r, nf_ab_side side[2], bool bench, bool both, json_t *verdicts)
{
    json_t *doc[2] = {bench ? side[0].bench : side[0].compare, bench ? side[1].bench : side[1].compare};
    nf_rg_load_opts lo = {.without_allocator = !r->base};
    nf_rg_file f[2];
    char err[1024], name[2][160];
    for (int i = 0; i < 2; i++) {
        snprintf(name[i], sizeof name[i], "%s (%s)", side[i].label, bench ? "benches" : "workloads");
        if (!doc[i]) {
            if (i)
                nf_rg_free(&f[0]);
            return bad("the %s side has no %s sample: every such run failed", side[i].label,
                       bench ? "bench" : "workload");
        }
        if (nf_rg_load_json(json_incref(doc[i]), name[i], &lo, &f[i], err, sizeof err) != 0) {
            if (i)
                nf_rg_free(&f[0]);
            return bad("%s", err);
        }
    }
    char chart[PATH_MAX];
    if (r->fl.chart)
        chart_name(r->fl.chart, bench ? "bench" : "compare", both, chart, sizeof chart);
    printf("\n== %s ==\n", bench ? "benches (notfree bench)" : "allocator workloads (notfree compare)");
    fflush(stdout);
    json_t *v = NULL;
    int rc = nf_diff_judge("regress", &f[0], &f[1], &r->fl, r->fl.chart ? chart : NULL, &v);
    if (v)
        json_object_set_new(verdicts, bench ? "bench" : "compare", v);
    nf_rg_free(&f[0]);
    nf_rg_free(&f[1]);
    return rc;
}

/* How the run went: what the results file keeps beside the samples. */
typedef struct run_facts {
    double wall, steal, la0, la1; /* steal, la*: -1 unreadable */
} run_facts;

/* The results file: context, both sides' raw samples, the verdicts (consumed).
 * Returns rc, or 2 when the file cannot be written. */
static int write_results(const char *path, const regress_args *r, nf_ab_side side[2], const run_facts *rf,
                         json_t *verdicts, int rc)
{
    json_t *doc = json_object(), *ctx = json_object();
    char host[256] = "unknown-host", date[32];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    nf_json_set_str(ctx, "host", host);
    nf_json_set_str(ctx, "date", date);
    nf_json_set_str(ctx, "mode", r->base ? "base" : "ab");
    nf_json_set_int(ctx, "reps", r->plan.reps);
    nf_json_set_str(ctx, "order", "round r: side a then b when r is odd, b then a when even");
    nf_json_set_str(ctx, "workloads", r->plan.workloads);
    nf_json_set_str(ctx, "threads", r->plan.threads);
    nf_json_set_str(ctx, "scale", r->plan.scale);
    nf_json_set_str(ctx, "benches", r->plan.benches);
    nf_json_set_real(ctx, "wall_s", rf->wall);
    nf_json_set_real(ctx, "steal_s", rf->steal >= 0 ? rf->steal : NAN);
    nf_json_set_real(ctx, "loadavg_start", rf->la0 >= 0 ? rf->la0 : NAN);
    nf_json_set_real(ctx, "loadavg_end", rf->la1 >= 0 ? rf->la1 : NAN);
    nf_json_set_real(ctx, "alpha", r->fl.opts.alpha);
    nf_json_set_real(ctx, "threshold_pct", r->fl.opts.threshold);
    json_object_set_new(ctx, "notfree", nf_context_to_json());
    json_object_set_new(doc, "context", ctx);
    json_t *sides = json_array();
    for (int i = 0; i < 2; i++)
        json_array_append_new(sides, side_json(&side[i]));
    json_object_set_new(doc, "sides", sides);
    json_object_set_new(doc, "verdicts", verdicts);
    nf_json_set_int(doc, "exit", rc);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if ((slash && nf_mkdir_p(dir) != 0) || nf_json_write_file(doc, path) != 0) {
        bad("cannot write %s: %s", path, strerror(errno));
        rc = 2;
    } else {
        printf("results: %s\n", path);
    }
    json_decref(doc);
    return rc;
}

static int rm_rf(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int nf_cmd_regress(int argc, char **argv)
{
    regress_args r = {.results = "results",
                      .plan = {.reps = 7, .threads = "1", .scale = "0.25", .bench_min_time = "0.05", .timeout = "120"}};
    nf_diff_flags_init(&r.fl);
    r.fl.same_box = true; /* both sides run here, now */
    if (parse(argc, argv, &r) != 0) {
        nf_diff_flags_free(&r.fl);
        return 2;
    }
    nf_ab_side side[2];
    memset(side, 0, sizeof side);
    char self[PATH_MAX], err[2048], tmpdir[] = "/tmp/notfree-regress-XXXXXX", path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return bad("cannot find this program (/proc/self/exe): %s", strerror(errno));
    self[n] = '\0';
    int rc = 2;
    if (r.out)
        snprintf(path, sizeof path, "%s", r.out);
    else if (nf_result_path(path, sizeof path, r.results, "regress-") != 0)
        return bad("--results '%s': path too long", r.results);
    if (r.base) {
        snprintf(side[0].label, sizeof side[0].label, "base");
        snprintf(side[1].label, sizeof side[1].label, "head");
        snprintf(side[1].notfree, sizeof side[1].notfree, "%s", self);
        snprintf(side[1].rev, sizeof side[1].rev, "working tree");
        for (int i = 0; i < 2; i++)
            snprintf(side[i].allocators, sizeof side[i].allocators, "%s", r.allocators);
        if (nf_regress_build_base(NF_SOURCE_DIR, r.base, &side[0], err, sizeof err) != 0) {
            bad("%s", err);
            goto out;
        }
    } else {
        bool same = !strcmp(r.a, r.b);
        label_of(r.a, same ? " (a)" : "", side[0].label, sizeof side[0].label);
        label_of(r.b, same ? " (b)" : "", side[1].label, sizeof side[1].label);
        snprintf(side[0].allocators, sizeof side[0].allocators, "%s", r.a);
        snprintf(side[1].allocators, sizeof side[1].allocators, "%s", r.b);
        snprintf(side[0].notfree, sizeof side[0].notfree, "%s", self);
        snprintf(side[1].notfree, sizeof side[1].notfree, "%s", self);
    }
    if (!mkdtemp(tmpdir)) {
        bad("cannot create a temporary directory: %s", strerror(errno));
        goto out;
    }
    r.plan.tmpdir = tmpdir;
    fprintf(stderr, "notfree regress: %s vs %s, %u rounds interleaved%s%s%s%s\n", side[0].label, side[1].label,
            r.plan.reps, r.plan.workloads ? ", workloads " : "", r.plan.workloads ? r.plan.workloads : "",
            r.plan.benches ? ", benches " : "", r.plan.benches ? r.plan.benches : "");
    double t0 = nf_now_s(), st0 = steal_s(), la0 = load1();
    if (nf_ab_run(&r.plan, side, err, sizeof err) != 0) {
        bad("%s", err);
        goto out;
    }
    double wall = nf_now_s() - t0, st1 = steal_s(), la1 = load1();
    double steal = st0 >= 0 && st1 >= 0 ? st1 - st0 : -1;
    run_facts rf = {wall, steal, la0, la1};
    long pus = sysconf(_SC_NPROCESSORS_ONLN);

    json_t *verdicts = json_object();
    bool both = r.plan.workloads && r.plan.benches;
    rc = 0;
    if (r.plan.workloads) {
        int k = judge_kind(&r, side, false, both, verdicts);
        rc = k > rc ? k : rc;
    }
    if (r.plan.benches) {
        int k = judge_kind(&r, side, true, both, verdicts);
        rc = k > rc ? k : rc;
    }
    printf("\nrun: %.0f s, %u + %u processes (%u + %u failed)", wall, side[0].runs, side[1].runs, side[0].failed,
           side[1].failed);
    if (steal >= 0)
        printf("; steal %.1f s of %.0f CPU-s (%.1f%%)%s", steal, wall * (double)pus, 100 * steal / (wall * (double)pus),
               steal > 0.05 * wall * (double)pus ? ": a disturbed run, read spreads with care" : "");
    else
        printf("; steal unavailable (/proc/stat unreadable)");
    if (la0 >= 0 && la1 >= 0)
        printf("; load average %.1f at the start, %.1f at the end, on %ld PUs%s", la0, la1, pus,
               fmax(la0, la1) > (double)pus ? ": a loaded box, spreads will be wide" : "");
    printf("\nspread o/n in the tables: each side's interquartile range over its median; a change "
           "narrower than it is inconclusive\n");

    rc = write_results(path, &r, side, &rf, verdicts, rc);
out:
    if (r.plan.tmpdir) {
        if (r.keep)
            printf("runs kept in %s\n", tmpdir);
        else
            rm_rf(tmpdir);
    }
    for (int i = 0; i < 2; i++) {
        json_decref(side[i].compare);
        json_decref(side[i].bench);
    }
    nf_diff_flags_free(&r.fl);
    return rc;
}
