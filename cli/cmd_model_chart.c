/* cli/cmd_model_chart.c: the model_alloc chart of `notfree model
 * --allocator ... --chart FILE`: the rows as the TSV that
 * plots/model_alloc.gp reads (the same columns plots/extract.sh writes from
 * a results file), then gnuplot. The figures are computed here once (walks
 * per 1,000 operations, RSS in KiB); the script only draws them. */
#include "model_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The index of s among the first n names (appending it if new). */
static int index_of(const char **names, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(names[i], s))
            return (int)i;
    names[*n] = s;
    return (int)(*n)++;
}

/* The names of one kind, space-separated, in index order (for -e). */
static void join(char *buf, size_t cap, const char **names, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? " " : "", names[i]);
}

/* Writes the TSV and the -e lists of names (presets, workloads, allocs). */
static int write_dat(const char *path, const nf_model_alloc_row *r, size_t n, char lists[3][1024])
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const char **pre = calloc(n, sizeof *pre), **wl = calloc(n, sizeof *wl), **al = calloc(n, sizeof *al);
    size_t np = 0, nw = 0, na = 0;
    for (size_t i = 0; pre && wl && al && i < n; i++) {
        const nf_modelrun_figures *g = &r[i].fig;
        double walks = g->ops > 0 ? 1000.0 * (double)g->walks / (double)g->ops : 0;
        fprintf(f, "%d\t%s\t%d\t%s\t%d\t%s\t%.6g\t%llu\n", index_of(pre, &np, g->preset), g->preset,
                index_of(wl, &nw, r[i].workload), r[i].workload, index_of(al, &na, r[i].alloc), r[i].alloc, walks,
                (unsigned long long)g->rss_peak * 4);
    }
    int ok = pre && wl && al;
    if (ok) {
        join(lists[0], 1024, pre, np);
        join(lists[1], 1024, wl, nw);
        join(lists[2], 1024, al, na);
    }
    free(pre);
    free(wl);
    free(al);
    return fclose(f) == 0 && ok ? 0 : -1;
}

int nf_model_alloc_chart(const char *file, const nf_model_alloc_row *rows, size_t n)
{
    char base[4096], dat[] = "/tmp/notfree-model-alloc-XXXXXX", lists[3][1024];
    snprintf(base, sizeof base, "%s", file);
    char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
    if (dot && (!slash || dot > slash) && (!strcmp(dot, ".png") || !strcmp(dot, ".svg")))
        *dot = 0;
    int fd = mkstemp(dat);
    if (fd < 0 || (close(fd), write_dat(dat, rows, n, lists)) != 0) {
        fprintf(stderr, "notfree model: cannot write the chart's data: %s\n", strerror(errno));
        return -1;
    }
    const char *plots = getenv("NOTFREE_PLOTS_DIR");
    char script[4096], expr[12000];
    snprintf(script, sizeof script, "%s/model_alloc.gp", plots ? plots : NF_SOURCE_DIR "/plots");
    /* gnuplot string literals: the paths must not hold a double quote. */
    if (strchr(base, '"') || strchr(base, '\\')) {
        fprintf(stderr, "notfree model: --chart %s: the path may not contain '\"' or '\\'\n", file);
        unlink(dat);
        return -1;
    }
    /* The title's host and date, as the results files' context gives them. */
    char host[256] = "unknown host", date[64] = "";
    gethostname(host, sizeof host - 1);
    host[strcspn(host, "\"\\")] = 0;
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    snprintf(expr, sizeof expr,
             "datafile=\"%s\"; outbase=\"%s\"; presets=\"%s\"; workloads=\"%s\"; allocs=\"%s\"; host=\"%s\"; "
             "date=\"%s\"",
             dat, base, lists[0], lists[1], lists[2], host, date);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", "-e", expr, script, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    unlink(dat);
    if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "notfree model: gnuplot failed on %s (status %d)\n", script, st);
        return -1;
    }
    fprintf(stderr, "notfree model: chart written: %s.png, %s.svg\n", base, base);
    return 0;
}
