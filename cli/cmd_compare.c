/* cli/cmd_compare.c: `notfree compare`: each workload under each
 * allocator, each run in its own process under LD_PRELOAD, the way a user
 * swaps allocators; a table, results/compare-<host>-<stamp>.json, charts.
 *
 * Order: repetition, then workload, then thread count, then allocator
 * innermost, so the allocators take turns (A B C A B C ...) and drift on a
 * noisy box hits all alike. The first repetition of each (allocator,
 * workload, threads) is followed by its counting run (compare_syscalls.c)
 * and its verification run (worker --verify: every byte of every block
 * checked), both untimed. The JSON is rewritten after every run.
 *
 * Refused before any run (exit 2): an empty item in a list, an --out
 * whose directory is missing or not writable, a NAME=/path library that
 * does not load, or one in which malloc does not resolve (not an
 * allocator). Nothing available to measure exits 1. */
#include "commands.h"
#include "compare.h"

#include "notfree/workload.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The quick comparison of `notfree run`. */
static const char quick_workloads[] = "small-churn,random-mix,larson-like";
static const char quick_threads[] = "1,2";
static const char quick_scale[] = "0.25";

static void help(FILE *f)
{
    fprintf(f,
        "usage: notfree compare [--allocators LIST] [--workloads LIST] [--threads LIST] [--reps N]\n"
        "                       [--out FILE] [--results DIR] [--timeout S] [--scale X] [--no-plots]\n\n"
        "Runs each workload under each allocator, each run in its own process with the\n"
        "allocator preloaded (LD_PRELOAD; glibc: none), and prints a table: time and RSS\n"
        "relative to glibc, system calls per million operations. Writes\n"
        "DIR/compare-<host>-<UTC stamp>.json ({\"context\", \"runs\"}), rewritten after every\n"
        "run, and charts beside it (PNG and SVG).\n\n"
        "  --allocators LIST  comma-separated: glibc jemalloc mimalloc tcmalloc bins slab shard\n"
        "                     (default: all), or NAME=/path/to/lib.so for any other drop-in.\n"
        "                     A known allocator's missing library is listed as unavailable\n"
        "                     with what to install; a NAME=/path that does not load, or in\n"
        "                     which malloc does not resolve (not an allocator), is refused.\n"
        "  --workloads LIST   default: all (notfree alloc --list shows them)\n"
        "  --threads LIST     default: 1 and the number of PUs\n"
        "  --reps N           repetitions, interleaved across allocators (default 5); the\n"
        "                     table shows the median and the spread\n"
        "  --out FILE         the JSON file (default DIR/compare-<host>-<stamp>.json)\n"
        "  --results DIR      default: results\n"
        "  --timeout S        seconds before a run is killed (default 120)\n"
        "  --scale X          multiply every workload's operations by X (default 1)\n"
        "  --no-plots         no charts\n\n"
        "One operation is one malloc, free or realloc call. System calls (mmap, munmap,\n"
        "mremap, brk, madvise, mprotect) are counted in a separate, untimed run with a\n"
        "seccomp filter that stops only at those calls under ptrace. Another untimed run\n"
        "fills every byte of every block and checks all of it at free: damage there fails\n"
        "every run of that allocator, workload and thread count. Peak RSS is the worker's\n"
        "own VmHWM. Exit: 0 every run ok, 1 a run failed (checksum, verification, crash,\n"
        "timeout) or nothing could be measured, 2 bad flags or a library that is not an\n"
        "allocator.\n");
}

void nf_cmd_compare_help(FILE *f) { help(f); }

static int bad(const char *fmt, const char *what)
{
    fprintf(stderr, "notfree compare: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\n(notfree compare --help shows the flags)\n");
    return 2;
}

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

/* bad() for a list split() refused with rc. */
static int bad_list(const char *flag, const char *list, int rc, unsigned cap)
{
    fprintf(stderr, "notfree compare: %s '%s': ", flag, list);
    if (rc == -1)
        fprintf(stderr, "an empty item (a stray comma?)\n");
    else
        fprintf(stderr, "more than %u items\n", cap);
    fprintf(stderr, "(notfree compare --help shows the flags)\n");
    return 2;
}

/* Can path be created (its directory exists and is writable)? */
static int writable_target(const char *path, char *err, size_t len)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(err, len, "%.1000s is a directory, not a file", path);
    else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(err, len, "the directory %.1000s does not exist", dir);
    else if (access(dir, W_OK) != 0)
        snprintf(err, len, "cannot write in %.1000s: %s", dir, strerror(errno));
    else
        return 0;
    return -1;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return (mkdir(tmp, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fmt_duration(double s, char *buf, size_t len)
{
    if (s >= 60)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, len, "%.0fs", s);
}

/* The verification run of rec's triple, untimed: every byte checked. */
static void verify(const nf_cmp_job *job, nf_cmp_record *rec)
{
    nf_cmp_job v = *job;
    v.verify = 1;
    rec->verified = 1;
    if (nf_cmp_run(&v, &rec->verify) != 0 && !rec->verify.error[0])
        snprintf(rec->verify.error, sizeof rec->verify.error, "cannot start the worker: %s", strerror(errno));
}

/* A triple whose verification run failed has no valid run: rec (one of
 * its runs) is not ok, with the verification's error. */
static void apply_verification(const nf_cmp_session *s, nf_cmp_record *rec)
{
    for (unsigned i = 0; i < s->nrecs; i++) {
        const nf_cmp_record *v = &s->recs[i];
        if (!v->verified || v->verify.ok || v->alloc != rec->alloc || v->workload != rec->workload ||
            v->threads != rec->threads || !rec->r.ok)
            continue;
        rec->r.ok = 0;
        rec->r.ops_per_s = 0;
        snprintf(rec->r.error, sizeof rec->r.error, "verification run: %.480s", v->verify.error);
    }
}

static void render(const char *json)
{
    if (!NF_PLOTS) {
        fprintf(stderr, "notfree compare: charts unavailable: built without gnuplot\n");
        return;
    }
    const char *plots = getenv("NOTFREE_PLOTS_DIR");
    char script[PATH_MAX];
    snprintf(script, sizeof script, "%s/compare_render.sh", plots ? plots : NF_SOURCE_DIR "/plots");
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "notfree compare: charts unavailable: %s not found\n", script);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("bash", "bash", script, json, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "notfree compare: charts failed (%s)\n", script);
}

int nf_cmd_compare(int argc, char **argv)
{
    char *alist = NULL, *wlist = NULL, *tlist = NULL;
    const char *out = NULL, *results = "results";
    unsigned reps = 5, plots = 1;
    double timeout_s = 120, scale = 1;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *v = NULL;
        char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq) {
            *eq = '\0';
            v = eq + 1;
        }
        if (!strcmp(a, "--no-plots") && !eq) {
            plots = 0;
            continue;
        }
        static const char *const with_value[] = {"--allocators", "--workloads", "--threads", "--reps",
                                                 "--out", "--results", "--timeout", "--scale"};
        int known = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            known |= !strcmp(a, with_value[k]);
        if (!known)
            return bad("unknown flag '%s'", a);
        if (!v) {
            if (i + 1 >= argc)
                return bad("%s needs a value", a);
            v = argv[++i];
        }
        char *end;
        if (!strcmp(a, "--allocators"))
            alist = v;
        else if (!strcmp(a, "--workloads"))
            wlist = v;
        else if (!strcmp(a, "--threads"))
            tlist = v;
        else if (!strcmp(a, "--out")) {
            char err[1200];
            if (writable_target(v, err, sizeof err) != 0)
                return bad("--out: %s", err);
            out = v;
        }
        else if (!strcmp(a, "--results"))
            results = v;
        else if (!strcmp(a, "--reps")) {
            if (parse_uint(v, 1, 1000, &reps) != 0)
                return bad("--reps: '%s' is not a whole number from 1 to 1000", v);
        } else if (!strcmp(a, "--timeout")) {
            timeout_s = strtod(v, &end);
            if (*end || end == v || !(timeout_s > 0 && timeout_s <= 86400))
                return bad("--timeout: '%s' is not a number of seconds (0 to 86400)", v);
        } else {
            scale = strtod(v, &end);
            if (*end || end == v || !(scale > 0 && scale <= 1000))
                return bad("--scale: '%s' is not a positive factor (up to 1000)", v);
        }
    }

    /* Allocators */
    char *items[64], defaults[256] = "";
    for (unsigned k = 0; k < nf_cmp_nknown; k++)
        snprintf(defaults + strlen(defaults), sizeof defaults - strlen(defaults), "%s%s", k ? "," : "",
                 nf_cmp_known[k]);
    if (!alist)
        alist = defaults;
    char alist_copy[1024];
    snprintf(alist_copy, sizeof alist_copy, "%s", alist);
    int nsplit = split(alist, items, 64);
    if (nsplit <= 0)
        return bad_list("--allocators", alist_copy, nsplit, 64);
    unsigned nallocs = (unsigned)nsplit;
    nf_cmp_alloc *allocs = calloc(nallocs, sizeof *allocs);
    if (!allocs)
        return 1;
    for (unsigned k = 0; k < nallocs; k++) {
        char err[512];
        if (nf_cmp_alloc_resolve(items[k], &allocs[k], err, sizeof err) != 0) {
            free(allocs);
            return bad("--allocators: %s", err);
        }
        for (unsigned j = 0; j < k; j++)
            if (!strcmp(allocs[j].name, allocs[k].name)) {
                free(allocs);
                return bad("--allocators: '%s' is listed twice", items[k]);
            }
        /* A library the user names must load: there is no package to
         * suggest, and measuring nothing under its name helps no one. */
        if (!allocs[k].available && !strcmp(allocs[k].package, "user")) {
            static char msg[sizeof allocs[k].reason + 1024];
            snprintf(msg, sizeof msg, "%.1000s: %s", items[k], allocs[k].reason);
            free(allocs);
            return bad("--allocators: %s", msg);
        }
    }

    /* Workloads */
    const char *wnames[64];
    unsigned long long wops[64];
    unsigned nw = 0;
    if (wlist) {
        char *w[64], copy[1024];
        snprintf(copy, sizeof copy, "%s", wlist);
        int n = split(wlist, w, 64);
        if (n <= 0) {
            free(allocs);
            return bad_list("--workloads", copy, n, 64);
        }
        for (int k = 0; k < n; k++) {
            if (!nf_workload_find(w[k])) {
                free(allocs);
                return bad("--workloads: unknown workload '%s' (notfree alloc --list shows them)", w[k]);
            }
            wnames[nw++] = w[k];
        }
    } else {
        for (size_t k = 0; k < nf_workload_count() && nw < 64; k++)
            wnames[nw++] = nf_workload_name(nf_workload_at(k));
    }
    if (!nw) {
        free(allocs);
        return bad("%s: no workloads", "--workloads");
    }
    for (unsigned k = 0; k < nw; k++) {
        unsigned long long base = nf_workload_default_ops(nf_workload_find(wnames[k]));
        wops[k] = (unsigned long long)fmax(1, llround((double)base * scale));
    }

    /* Threads */
    long pus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads[32], nt = 0;
    if (tlist) {
        char *t[32], copy[1024];
        snprintf(copy, sizeof copy, "%s", tlist);
        int n = split(tlist, t, 32);
        if (n <= 0) {
            free(allocs);
            return bad_list("--threads", copy, n, 32);
        }
        for (int k = 0; k < n; k++)
            if (parse_uint(t[k], 1, 1024, &threads[nt++]) != 0) {
                free(allocs);
                return bad("--threads: '%s' is not a thread count from 1 to 1024", t[k]);
            }
    } else {
        threads[nt++] = 1;
        if (pus > 1)
            threads[nt++] = (unsigned)pus;
    }
    if (!nt) {
        free(allocs);
        return bad("%s: no thread counts", "--threads");
    }

    nf_cmp_session s = {0};
    s.allocs = allocs;
    s.nallocs = nallocs;
    s.workloads = wnames;
    s.ops = wops;
    s.nworkloads = nw;
    s.threads = threads;
    s.nthreads = nt;
    s.reps = reps;
    s.timeout_s = timeout_s;
    for (unsigned k = 0; k < nt; k++)
        if (pus > 0 && threads[k] > (unsigned)pus && s.nwarnings < 4) {
            snprintf(s.warnings[s.nwarnings++], sizeof s.warnings[0],
                     "%u threads asked for on %ld PUs: threads share PUs, so times measure the scheduler too",
                     threads[k], pus);
            fprintf(stderr, "notfree compare: warning: %s\n", s.warnings[s.nwarnings - 1]);
        }

    /* The worker, beside this binary */
    char dir[PATH_MAX], worker[PATH_MAX + 32];
    nf_cmp_exe_dir(dir, sizeof dir);
    const char *wenv = getenv("NOTFREE_WORKLOAD");
    snprintf(worker, sizeof worker, "%s", wenv ? wenv : "");
    if (!wenv)
        snprintf(worker, sizeof worker, "%s/cli/notfree-workload", dir);
    if (access(worker, X_OK) != 0) {
        fprintf(stderr, "notfree compare: the worker %s is missing: build it with `ninja -C %s`\n", worker, dir);
        free(allocs);
        return 2;
    }

    /* Is each library an allocator? Preloaded, malloc must resolve into it
     * (a library without malloc would be measured as glibc under its name). */
    for (unsigned k = 0; k < nallocs; k++) {
        char err[1024];
        if (allocs[k].available && nf_cmp_alloc_probe(worker, &allocs[k], err, sizeof err) == 1) {
            fprintf(stderr, "notfree compare: --allocators: %s (%s) refused: %s\n", allocs[k].name, allocs[k].path, err);
            free(allocs);
            return 2;
        }
    }

    /* The results file */
    char path[PATH_MAX];
    if (out) {
        snprintf(path, sizeof path, "%s", out);
    } else {
        char host[256] = "unknown-host", stamp[32];
        gethostname(host, sizeof host - 1);
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        if (mkdir_p(results) != 0) {
            fprintf(stderr, "notfree compare: cannot create %s: %s\n", results, strerror(errno));
            free(allocs);
            return 1;
        }
        snprintf(path, sizeof path, "%s/compare-%s-%s.json", results, host, stamp);
    }

    unsigned navail = 0;
    for (unsigned k = 0; k < nallocs; k++) {
        if (allocs[k].available)
            navail++;
        else
            fprintf(stderr, "notfree compare: %s unavailable: %s\n", allocs[k].name, allocs[k].reason);
    }
    if (!navail) {
        fprintf(stderr, "notfree compare: nothing to measure: none of the allocators asked for is available\n");
        free(allocs);
        return 1;
    }
    unsigned ntimed = navail * nw * nt * reps, ncount = navail * nw * nt, total = ntimed + 2 * ncount, done = 0;
    s.recs = calloc(ntimed ? ntimed : 1, sizeof *s.recs);
    if (!s.recs) {
        free(allocs);
        return 1;
    }
    fprintf(stderr, "notfree compare: %u allocators, %u workloads, %u thread counts, %u reps: %u runs + %u counting"
            " and %u verification runs -> %s\n", navail, nw, nt, reps, ntimed, ncount, ncount, path);
    if (nf_cmp_write_json(path, &s) != 0) {
        fprintf(stderr, "notfree compare: cannot write %s: %s\n", path, strerror(errno));
        free(s.recs);
        free(allocs);
        return 1;
    }
    int failed = 0;
    double t0 = now_s();
    for (unsigned rep = 0; rep < reps; rep++)
        for (unsigned w = 0; w < nw; w++)
            for (unsigned t = 0; t < nt; t++)
                for (unsigned a = 0; a < nallocs; a++) {
                    if (!allocs[a].available)
                        continue;
                    nf_cmp_job job = {worker, &allocs[a], wnames[w], threads[t], wops[w], timeout_s, 0};
                    nf_cmp_record *rec = &s.recs[s.nrecs];
                    *rec = (nf_cmp_record){.alloc = a, .workload = w, .threads = threads[t], .rep = rep};
                    if (nf_cmp_run(&job, &rec->r) != 0 && !rec->r.error[0])
                        snprintf(rec->r.error, sizeof rec->r.error, "cannot start the worker: %s", strerror(errno));
                    s.nrecs++;
                    done++;
                    char note[160] = "";
                    if (rep == 0) {
                        /* The counting run, untimed. */
                        char *cargv[16], bufs[2][64], line[256], err[256];
                        nf_cmp_argv(&job, cargv, 16, bufs);
                        int rc = nf_cmp_count_syscalls(cargv, allocs[a].preload ? allocs[a].path : NULL, timeout_s,
                                                       rec->syscalls, line, sizeof line, err, sizeof err);
                        nf_cmp_result cr = {0};
                        unsigned long long corrupt, fails;
                        int mapped;
                        if (rc == 0 && nf_cmp_parse_line(line, &cr, &corrupt, &fails, &mapped) == 7) {
                            rec->counted = 1;
                            rec->count_ops = cr.ops;
                        } else if (!s.count_error[0]) {
                            snprintf(s.count_error, sizeof s.count_error, "%s %s %u: %.150s", allocs[a].name,
                                     wnames[w], threads[t], rc ? err : "no result line from the worker");
                        }
                        done++;
                        verify(&job, rec);
                        done++;
                        snprintf(note, sizeof note, "; counted: %s; verified: %s", rec->counted ? "yes" : "no",
                                 rec->verify.ok ? "yes" : "FAILED");
                    }
                    apply_verification(&s, rec);
                    failed |= !rec->r.ok;
                    if (nf_cmp_write_json(path, &s) != 0)
                        fprintf(stderr, "notfree compare: cannot write %s: %s\n", path, strerror(errno));
                    double el = now_s() - t0;
                    char left[32];
                    fmt_duration(el / done * (total - done), left, sizeof left);
                    if (rec->r.ok)
                        fprintf(stderr, "[%u/%u] %-9s %-17s t=%u rep %u/%u: %7.2f Mops/s, %5.2f s%s%s; ~%s left\n",
                                done, total, allocs[a].name, wnames[w], threads[t], rep + 1, reps,
                                rec->r.ops_per_s / 1e6, rec->r.wall_s, rec->r.disturbed ? " (steal!)" : "", note, left);
                    else
                        fprintf(stderr, "[%u/%u] %-9s %-17s t=%u rep %u/%u: FAILED: %s%s; ~%s left\n", done, total,
                                allocs[a].name, wnames[w], threads[t], rep + 1, reps, rec->r.error, note, left);
                }
    nf_cmp_table(stdout, &s);
    printf("results: %s\n", path);
    fflush(stdout);
    if (plots && s.nrecs)
        render(path);
    free(s.recs);
    free(allocs);
    return failed ? 1 : 0;
}

int nf_compare_quick(const char *results_dir)
{
    char *argv[] = {"compare", "--workloads", (char *)quick_workloads, "--threads", (char *)quick_threads,
                    "--reps", "1", "--scale", (char *)quick_scale, "--timeout", "30",
                    "--results", (char *)results_dir, NULL};
    static char copy[3][128];
    snprintf(copy[0], sizeof copy[0], "%s", quick_workloads);   /* split() writes into its list */
    snprintf(copy[1], sizeof copy[1], "%s", quick_threads);
    argv[2] = copy[0];
    argv[4] = copy[1];
    return nf_cmd_compare((int)(sizeof argv / sizeof *argv) - 1, argv);
}
