/* cli/cmd_compare.c: `notfree compare`: each workload under each
 * allocator, each run in its own process under LD_PRELOAD, the way a user
 * swaps allocators; a table, results/compare-<host>-<stamp>.json, charts.
 * A command in four steps: parse (the flags, here), plan (compare/plan.c),
 * run (compare/session.c), report (the table, the file, the charts).
 *
 * Refused before any run (exit 2): a bad flag, an --out whose directory
 * is missing or not writable, and what the plan refuses (compare/plan.c).
 * Nothing available to measure exits 1. */
#include "commands.h"
#include "compare.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The quick comparison of `notfree run`. */
static const char quick_workloads[] = "small-churn,random-mix,larson-like";
static const char quick_threads[] = "1,2";
static const char quick_scale[] = "0.25";

static void help(FILE *f)
{
    fprintf(f,
            "usage: notfree compare [--allocators LIST] [--workloads LIST] [--threads LIST] [--reps N]\n"
            "                       [--out FILE] [--results DIR] [--timeout S] [--scale X] [--no-plots]\n"
            "                       [--timeline] [--latency-every N] [--trace FILE]\n\n"
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
            "  --workloads LIST   default: all (notfree alloc --list shows them); small-churn:SIZE\n"
            "                     runs small-churn with one block size (1 B to 1 MiB), a row of its own\n"
            "  --threads LIST     default: 1 and the number of PUs\n"
            "  --reps N           repetitions, interleaved across allocators (default 5); the\n"
            "                     table shows the median and the spread\n"
            "  --out FILE         the JSON file (default DIR/compare-<host>-<stamp>.json)\n"
            "  --results DIR      default: results\n"
            "  --timeout S        seconds before a run is killed (default 120)\n"
            "  --scale X          multiply every workload's operations by X (default 1)\n"
            "  --no-plots         no charts\n"
            "  --timeline         sample RSS and VSZ over time in the timed runs too (default:\n"
            "                     in the untimed verification run only); the parent reads the\n"
            "                     worker's /proc/<pid>/statm every 1 ms (doubling past 256 samples)\n"
            "  --latency-every N  time one malloc and one free call in N, on average (default\n"
            "                     %d; 0: off): p50 to p99.99 and max, with the sampling's\n"
            "                     estimated overhead in the JSON\n"
            "  --trace FILE       add a recorded allocation trace (notfree trace record) as the\n"
            "                     workload trace:<file name>: at T threads, T copies of it\n"
            "                     replayed at once, each in its recorded order; its operations\n"
            "                     are its calls (--scale does not apply). A file that is not a\n"
            "                     valid trace is refused (exit 2)\n\n"
            "One operation is one malloc, free or realloc call. System calls (mmap, munmap,\n"
            "mremap, brk, madvise, mprotect) are counted in a separate, untimed run with a\n"
            "seccomp filter that stops only at those calls under ptrace. Another untimed run\n"
            "fills every byte of every block and checks all of it at free: damage there fails\n"
            "every run of that allocator, workload and thread count. Peak RSS is the worker's\n"
            "own VmHWM. Exit: 0 every run ok, 1 a run failed (checksum, verification, crash,\n"
            "timeout) or nothing could be measured, 2 bad flags or a library that is not an\n"
            "allocator.\n",
            NF_CMP_LATENCY_EVERY);
}

void nf_cmd_compare_help(FILE *f) { help(f); }

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "notfree compare: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(notfree compare --help shows the flags)\n");
    return 2;
}

/* Can path be created (its directory exists and is writable)? */
static int writable_target(const char *path, char *err, size_t len)
{
    char dir[PATH_MAX];
    nf_cli_parent_dir(path, dir, sizeof dir);
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

/* Parse: the flags into o (lists checked by the plan). 0, or 2 after
 * the message. */
static int parse(int argc, char **argv, nf_cmp_options *o, int *plots)
{
    *o = (nf_cmp_options){
        .results = "results", .reps = 5, .timeout_s = 120, .scale = 1, .latency_every = NF_CMP_LATENCY_EVERY};
    *plots = 1;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *v = NULL;
        char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq) {
            *eq = '\0';
            v = eq + 1;
        }
        if (!strcmp(a, "--no-plots") && !eq) {
            *plots = 0;
            continue;
        }
        if (!strcmp(a, "--timeline") && !eq) {
            o->timeline = 1;
            continue;
        }
        static const char *const with_value[] = {"--allocators",    "--workloads", "--threads", "--reps",
                                                 "--out",           "--results",   "--timeout", "--scale",
                                                 "--latency-every", "--trace"};
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
            o->allocators = v;
        else if (!strcmp(a, "--workloads"))
            o->workloads = v;
        else if (!strcmp(a, "--threads"))
            o->threads = v;
        else if (!strcmp(a, "--out")) {
            char err[1200];
            if (writable_target(v, err, sizeof err) != 0)
                return bad("--out: %s", err);
            o->out = v;
        } else if (!strcmp(a, "--results"))
            o->results = v;
        else if (!strcmp(a, "--latency-every")) {
            if (nf_cmp_parse_uint(v, 0, 1000000000, &o->latency_every) != 0)
                return bad("--latency-every: '%s' is not a whole number from 0 to 1000000000", v);
        } else if (!strcmp(a, "--trace"))
            o->trace = v; /* loaded and checked by the plan */
        else if (!strcmp(a, "--reps")) {
            if (nf_cmp_parse_uint(v, 1, 1000, &o->reps) != 0)
                return bad("--reps: '%s' is not a whole number from 1 to 1000", v);
        } else if (!strcmp(a, "--timeout")) {
            o->timeout_s = strtod(v, &end);
            if (*end || end == v || !(o->timeout_s > 0 && o->timeout_s <= 86400))
                return bad("--timeout: '%s' is not a number of seconds (0 to 86400)", v);
        } else {
            o->scale = strtod(v, &end);
            if (*end || end == v || !(o->scale > 0 && o->scale <= 1000))
                return bad("--scale: '%s' is not a positive factor (up to 1000)", v);
        }
    }
    return 0;
}

/* Report: the charts, by plots/compare_render.sh (found by locate.c). */
static void render(const char *json)
{
    if (!NF_PLOTS) {
        fprintf(stderr, "notfree compare: charts unavailable: built without gnuplot\n");
        return;
    }
    char plots[PATH_MAX], script[PATH_MAX + 32];
    int found = nf_cmp_locate_plots(plots, sizeof plots) == 0;
    snprintf(script, sizeof script, "%s/compare_render.sh", plots);
    if (!found || access(script, R_OK) != 0) {
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
    nf_cmp_options o;
    int plots;
    int rc = parse(argc, argv, &o, &plots);
    if (rc)
        return rc;

    nf_cmp_plan *p = malloc(sizeof *p);
    if (!p)
        return 1;
    char err[4096];
    int hint = 0;
    rc = nf_cmp_plan_make(&o, p, err, sizeof err, &hint);
    if (rc) {
        fprintf(stderr, "notfree compare: %s\n%s", err, hint ? "(notfree compare --help shows the flags)\n" : "");
        nf_cmp_plan_free(p);
        free(p);
        return rc;
    }

    rc = nf_cmp_session_run(p);
    if (rc < 0) {
        fprintf(stderr, "notfree compare: cannot write %s: %s\n", p->path, strerror(errno));
        rc = 1;
    } else {
        nf_cmp_table(stdout, &p->s);
        printf("results: %s\n", p->path);
        fflush(stdout);
        if (plots && p->s.nrecs)
            render(p->path);
    }
    nf_cmp_plan_free(p);
    free(p);
    return rc;
}

int nf_compare_quick(const char *results_dir)
{
    char *argv[] = {"compare",
                    "--workloads",
                    (char *)quick_workloads,
                    "--threads",
                    (char *)quick_threads,
                    "--reps",
                    "1",
                    "--scale",
                    (char *)quick_scale,
                    "--timeout",
                    "30",
                    "--results",
                    (char *)results_dir,
                    NULL};
    static char copy[3][128];
    snprintf(copy[0], sizeof copy[0], "%s", quick_workloads); /* split() writes into its list */
    snprintf(copy[1], sizeof copy[1], "%s", quick_threads);
    argv[2] = copy[0];
    argv[4] = copy[1];
    return nf_cmd_compare((int)(sizeof argv / sizeof *argv) - 1, argv);
}
