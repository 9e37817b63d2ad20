/* cli/cmd_run.c: `notfree run`, what `./lab run` calls.
 *
 * Runs the default suite pinned, writes the results as Google Benchmark
 * JSON (with notfree's context) to <results>/<host>-<UTC timestamp>.json,
 * renders the charts next to it with plots/render.sh, and prints a summary
 * table in which every figure names its source. A failing bench does not
 * lose the others: the JSON keeps every run that ended, and the charts
 * and the table are still made from it.
 *
 * Parse, check, then create: the flags and the filter are checked and the
 * benches resolved (in nf_bench_main) before the results directory is
 * made, so a bad filter leaves nothing behind. The JSON is written
 * through a temporary file (notfree/outfile.h): an interrupted run leaves
 * either the finished benches marked "partial": true (SIGINT, SIGTERM) or
 * no results file (SIGKILL; the next run removes the temporary).
 */
#include "commands.h"

#include "notfree/bench.h"
#include "notfree/outfile.h"
#include "registry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROWS 512
#define FIGURES_MAX 4096  /* every counter of a row fits (rss/overcommit has 12) */
#define SUMMARY_WIDTH 160 /* figures wrap onto indented lines past this column */

/* One row of the summary: the median where repetitions ran, else the run.
 * `figures` holds every counter as "name=value [source]", two spaces
 * apart (or the error). */
typedef struct row {
    char name[160];
    char unit[4];
    double real_time;
    char figures[FIGURES_MAX];
    int error;
    int is_median;
} row;

static row rows[MAX_ROWS];
static int nrows;

/* Where a counter comes from, by the naming rules of benches/METHOD.md. */
static const char *source_of(const char *counter)
{
    if (!strncmp(counter, "model_", 6))
        return "model";
    if (strstr(counter, "_vs_model"))
        return "hardware counter / model";
    if (!strncmp(counter, "hw_", 3))
        return "hardware counter";
    if (strstr(counter, "perf_"))
        return "perf";
    if (strstr(counter, "faults"))
        return "rusage";
    if (strstr(counter, "_kib") || strstr(counter, "thp_confirmed") || strstr(counter, "tlb_shootdowns"))
        return "proc";
    return "timing";
}

static void on_run(const nf_run_result *r, void *user)
{
    (void)user;
    int median = !strcmp(r->aggregate, "median");
    if (r->aggregate[0] && !median)
        return; /* mean, stddev, cv: in the JSON */
    if (!r->aggregate[0] && r->repetition_index > 0)
        return; /* repetitions: the median stands for them */
    char base[160];
    snprintf(base, sizeof base, "%s", r->name);
    if (median) {
        char *s = strstr(base, "_median");
        if (s)
            *s = 0;
    }
    row *w = NULL;
    for (int i = 0; i < nrows; i++)
        if (!strcmp(rows[i].name, base))
            w = &rows[i];
    if (!w) {
        if (nrows == MAX_ROWS)
            return;
        w = &rows[nrows++];
    }
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", base);
    snprintf(w->unit, sizeof w->unit, "%s", r->time_unit);
    w->real_time = r->real_time;
    w->error = r->error;
    w->is_median = median;
    if (r->error) {
        snprintf(w->figures, sizeof w->figures, "ERROR: %s", r->error_message);
        return;
    }
    size_t off = 0;
    for (size_t i = 0; i < r->ncounters; i++) {
        /* Large figures in full (rss_kib=529300, not 5.293e+05). */
        double v = r->counters[i].value;
        int whole = fabs(v) >= 1e4 && fabs(v) < 1e15;
        int n = snprintf(w->figures + off, sizeof w->figures - off, whole ? "%s%s=%.0f [%s]" : "%s%s=%.4g [%s]",
                         i ? "  " : "", r->counters[i].name, v, source_of(r->counters[i].name));
        if (n < 0 || (size_t)n >= sizeof w->figures - off) {
            /* Never silently short: say that figures are missing. */
            snprintf(w->figures + off, sizeof w->figures - off, "  ... (more in the JSON)");
            break;
        }
        off += (size_t)n;
    }
}

/* A time in the unit that fits it (ns, µs, ms, s), 4 significant digits:
 * "18.57 ms", not "1.857e+04 us". `unit` is libbenchmark's. */
static void format_time(double t, const char *unit, char *buf, size_t cap)
{
    static const char *const units[] = {"ns", "\u00b5s", "ms", "s"};
    double ns = t * (!strcmp(unit, "s") ? 1e9 : !strcmp(unit, "ms") ? 1e6 : !strcmp(unit, "us") ? 1e3 : 1);
    int u = 0;
    double v = ns;
    while (u < 3 && fabs(v) >= 999.95) { /* 999.96 would print as "1000" */
        v /= 1e3;
        u++;
    }
    if (fabs(v) >= 1e4)
        snprintf(buf, cap, "%.0f %s", v, units[u]);
    else
        snprintf(buf, cap, "%.4g %s", v, units[u]);
}

/* Columns a UTF-8 string takes (one per character). */
static size_t columns(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The figures after the time, wrapped at SUMMARY_WIDTH onto lines
 * indented to the figures column; no figure is ever cut. */
static void print_figures(const char *figures, size_t col)
{
    size_t at = col;
    const char *p = figures;
    int first = 1;
    while (*p) {
        const char *end = strstr(p, "  ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!first && at + 2 + len > SUMMARY_WIDTH) {
            printf("\n%*s", (int)col, "");
            at = col;
        } else if (!first) {
            printf("  ");
            at += 2;
        }
        printf("%.*s", (int)len, p);
        at += len;
        first = 0;
        p += len;
        while (*p == ' ')
            p++;
    }
    printf("\n");
}

static void print_summary(const char *json)
{
    enum { NAME_W = 52, TIME_W = 11 };
    printf("\nnotfree summary (%s)\n", json);
    printf("%-*s %*s  %s\n", NAME_W, "bench", TIME_W, "time", "figures [source]");
    for (int i = 0; i < nrows; i++) {
        char t[48];
        format_time(rows[i].real_time, rows[i].unit, t, sizeof t);
        size_t w = columns(t);
        printf("%-*s %*s%s%s  ", NAME_W, rows[i].name, (int)(w < TIME_W - 1 ? TIME_W - 1 - w : 0), "", t,
               rows[i].is_median ? "*" : " ");
        size_t name_w = strlen(rows[i].name) > NAME_W ? strlen(rows[i].name) : NAME_W;
        print_figures(rows[i].figures, name_w + 1 + TIME_W + 2);
    }
    printf("\n* median over repetitions. Sources: timing = clock time measured here;\n"
           "rusage = the kernel's getrusage counts; perf = the kernel's perf software\n"
           "events; proc = /proc/self (statm, smaps_rollup); model = notfree's kernel\n"
           "model (kernels/). Times are per iteration.\n");
}

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return (mkdir(tmp, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

static int render_charts(const char *json, int want)
{
    if (!want) {
        fprintf(stderr, "notfree run: charts skipped (--no-plots)\n");
        return 0;
    }
    if (!NF_PLOTS) {
        fprintf(stderr, "notfree run: charts unavailable: built without gnuplot (-Dplots=disabled, or"
                        " gnuplot-nox missing when configured)\n");
        return 0;
    }
    const char *plots = getenv("NOTFREE_PLOTS_DIR");
    char script[4096];
    snprintf(script, sizeof script, "%s/render.sh", plots ? plots : NF_SOURCE_DIR "/plots");
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "notfree run: charts unavailable: %s not found\n", script);
        return 0;
    }
    pid_t pid = fork();
    if (pid == 0) {
        execlp("bash", "bash", script, json, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
        fprintf(stderr, "notfree run: charts unavailable (gnuplot missing; apt-get install gnuplot-nox)\n");
        return 0;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* What nf_bench_main calls once the flags and the filter are good and the
 * benches known: only now is the results directory made. */
struct ready {
    const char *dir;
    const char *json;
    int called; /* the flags were good: the run started */
};

static int on_ready(size_t nbenches, void *user)
{
    struct ready *r = user;
    r->called = 1;
    if (mkdir_p(r->dir) != 0) {
        fprintf(stderr, "notfree run: cannot create %s: %s\n", r->dir, strerror(errno));
        return 1;
    }
    nf_outfile_clean_stale(r->dir);
    fprintf(stderr, "notfree run: %zu benches; results go to %s\n", nbenches, r->json);
    return 0;
}

void nf_cmd_run_help(FILE *f)
{
    fprintf(f, "usage: notfree run [--full] [--results DIR] [--no-plots] [--no-compare] [--pin=PU]\n"
               "                   [--filter=REGEX]\n"
               "                   [--benchmark_* flags]\n\n"
               "Runs the default suite (page faults, fork/COW, RSS, allocators, TLB and the\n"
               "kernel model, shim overhead) pinned, writes DIR/<host>-<UTC timestamp>.json,\n"
               "charts next to it (PNG and SVG), prints a summary table naming each figure's\n"
               "source, then a quick allocator comparison (DIR/compare-<host>-<stamp>.json).\n\n"
               "  --full          the large sizes too (fork up to 4 GiB where memory allows)\n"
               "  --results DIR   where results go (default: ./results)\n"
               "  --no-plots      write no charts\n"
               "  --no-compare    skip the quick allocator comparison that ends the run\n"
               "                  (the only flag that skips it)\n"
               "  --pin=PU        base PU for pinning (default: the last PU)\n"
               "  --filter=REGEX  run only the benches whose names match REGEX (Google\n"
               "                  Benchmark's --benchmark_filter; `notfree bench --list`\n"
               "                  names them); the comparison still runs in full\n"
               "Other --benchmark_* flags go to Google Benchmark (`notfree bench --help`).\n\n"
               "An invalid REGEX exits 2 and a REGEX matching no bench exits 1, both\n"
               "before anything is created. The JSON appears when the run ends; on\n"
               "SIGINT or SIGTERM it keeps the benches that finished, marked\n"
               "\"partial\": true, and the run exits non-zero.\n");
}

int nf_cmd_run(int argc, char **argv)
{
    const char *dir = "results";
    const char *filter = NULL;
    int plots = 1, compare = 1;
    char *pass[64];
    int npass = 0;
    pass[npass++] = "notfree run";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--full")) {
            setenv("NOTFREE_FULL", "1", 1);
        } else if (!strcmp(a, "--no-plots")) {
            plots = 0;
        } else if (!strcmp(a, "--no-compare")) {
            compare = 0;
        } else if (!strcmp(a, "--results") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strncmp(a, "--results=", 10)) {
            dir = a + 10;
        } else if (!strncmp(a, "--filter=", 9)) {
            filter = a + 9;
        } else if ((!strncmp(a, "--pin=", 6) || !strncmp(a, "--benchmark_", 12)) && npass < 56) {
            if (!strncmp(a, "--benchmark_out", 15) || !strncmp(a, "--benchmark_format", 18)) {
                fprintf(stderr, "notfree run: %s is set by `notfree run`; use `notfree bench` for it\n", a);
                return 2;
            }
            pass[npass++] = argv[i];
        } else {
            fprintf(stderr, "notfree run: unknown flag '%s'\n\n", a);
            nf_cmd_run_help(stderr);
            return 2;
        }
    }
    char host[256] = "unknown-host", stamp[32], json[4096];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(json, sizeof json, "%s/%s-%s.json", dir, host, stamp);

    static char out_flag[4200], filter_flag[1100];
    snprintf(out_flag, sizeof out_flag, "--benchmark_out=%s", json);
    pass[npass++] = out_flag;
    pass[npass++] = "--benchmark_out_format=json";
    if (filter) {
        snprintf(filter_flag, sizeof filter_flag, "--benchmark_filter=%s", filter);
        pass[npass++] = filter_flag;
    }
    pass[npass] = NULL;

    nf_register_all_benches();
    struct ready r = {dir, json, 0};
    nf_bench_on_ready(on_ready, &r);
    nf_bench_on_run(on_run, NULL);
    nf_bench_set_progress(1);
    int rc = nf_bench_main(npass, pass);
    if (!r.called)
        return rc; /* a bad flag or filter, already reported; nothing made */
    if (access(json, R_OK) != 0) {
        fprintf(stderr, "notfree run: no results written\n");
        return rc ? rc : 1;
    }
    if (render_charts(json, plots) != 0) {
        fprintf(stderr, "notfree run: rendering charts failed\n");
        rc = rc ? rc : 1;
    }
    print_summary(json);
    if (compare) {
        /* The quick comparison: every allocator preloaded in its own
         * process on three workloads (notfree compare, small scale). */
        fprintf(stderr, "\nnotfree run: quick allocator comparison (notfree compare; --no-compare skips it)\n");
        int crc = nf_compare_quick(dir);
        if (crc != 0) {
            fprintf(stderr, "notfree run: the quick comparison %s\n",
                    crc == 1 ? "had a failed run (see its table)" : "could not run");
            rc = rc ? rc : 1;
        }
    }
    return rc;
}
