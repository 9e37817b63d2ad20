/* regress/report_chart.c: the diff as a chart through plots/diff.gp. This
 * file writes the figures it computed (one row per judged line) into a
 * temporary TSV; the script only draws them. */
#include "notfree/regress.h"

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int klass(const nf_rg_line *l)
{
    switch (l->verdict) {
    case NF_V_WORSE:
        return 1;
    case NF_V_BETTER:
        return 2;
    case NF_V_INCONCLUSIVE:
        return 3;
    default:
        return 0;
    }
}

static void nan_or(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs("\tNaN", f);
    else
        fprintf(f, "\t%.6g", v);
}

int nf_rg_report_chart(const nf_rg_diff *d, const char *out, const char *plots_dir, char *err, size_t cap)
{
    size_t len = strlen(out);
    const char *fmt = len > 4 && !strcmp(out + len - 4, ".png")   ? "png"
                      : len > 4 && !strcmp(out + len - 4, ".svg") ? "svg"
                                                                  : NULL;
    if (!fmt) {
        snprintf(err, cap, "--chart %s: the name must end in .png or .svg", out);
        return -1;
    }
    char data[] = "/tmp/notfree-diff-XXXXXX";
    int fd = mkstemp(data);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, cap, "chart: cannot write a temporary file: %s", strerror(errno));
        return -1;
    }
    /* Lines drawn bottom-up: the first line of the table at the top. */
    size_t k = 0;
    for (size_t i = d->n; i-- > 0;) {
        const nf_rg_line *l = &d->lines[i];
        /* Unjudged lines, and counts that did not move at all, would only
         * push what moved apart. */
        if (l->verdict == NF_V_UNJUDGED || (l->m.cls == NF_RG_COUNT && l->verdict == NF_V_SAME && l->change == 0))
            continue;
        fprintf(f, "%zu\t%s %s", k++, l->row, l->metric);
        nan_or(f, l->change);
        nan_or(f, l->hl_lo_pct);
        nan_or(f, l->hl_hi_pct);
        fprintf(f, "\t%d\n", klass(l));
    }
    fclose(f);
    if (k == 0) {
        unlink(data);
        snprintf(err, cap, "chart: no judged line to draw");
        return -1;
    }
    char script[4096], expr[8192];
    snprintf(script, sizeof script, "%s/diff.gp", plots_dir);
    snprintf(expr, sizeof expr, "datafile='%s'; outfile='%s'; fmt='%s'; threshold=%g; title='%s -> %s'", data, out, fmt,
             d->opts.threshold, d->old->name, d->new_->name);
    char *argv[] = {"gnuplot", "-e", expr, script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
    int st = 0;
    if (rc == 0)
        waitpid(pid, &st, 0);
    unlink(data);
    if (rc != 0) {
        snprintf(err, cap, "chart unavailable: gnuplot: %s (apt-get install gnuplot-nox)", strerror(rc));
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(err, cap, "chart: gnuplot failed on %s", script);
        return -1;
    }
    return 0;
}
