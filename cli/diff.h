/* cli/diff.h: what `notfree diff` and `notfree regress` share: the
 * judging flags (--alpha, --threshold, --metric, --filter, --format,
 * --chart, --force, --count-tolerance) and the judge-and-report step. */
#ifndef NOTFREE_CLI_DIFF_H
#define NOTFREE_CLI_DIFF_H

#include "notfree/regress.h"

typedef struct nf_diff_flags {
    nf_rg_opts opts;
    regex_t metric_re, filter_re; /* compiled when has_* */
    bool has_metric, has_filter;
    const char *format; /* "text", "json" or "markdown" */
    const char *chart;  /* NULL: no chart */
    bool force;         /* judge files from different boxes */
    bool same_box;      /* no box check: both sides ran here, now (regress) */
} nf_diff_flags;

void nf_diff_flags_init(nf_diff_flags *f);
void nf_diff_flags_free(nf_diff_flags *f);
/* If argv[*i] is one of the shared flags, takes it (and its value, moving
 * *i) and returns 1; 0 if not one of them; -1 after printing the error
 * (prefixed by cmd) for a bad value. */
int nf_diff_flag(const char *cmd, int argc, char **argv, int *i, nf_diff_flags *f);
/* The box check, the verdicts, the report on stdout, the chart (into chart,
 * NULL: none), and the verdicts as JSON into *verdict (when not NULL; the
 * caller owns it). Returns the exit status: 0 no regression, 1 a
 * regression, 2 refused. */
int nf_diff_judge(const char *cmd, const nf_rg_file *old, const nf_rg_file *new_, nf_diff_flags *f, const char *chart,
                  json_t **verdict);
/* The results directory's baseline of this box: DIR/baselines/<key>/NAME.json. */
int nf_baseline_path(char *buf, size_t cap, const char *results, const json_t *box, const char *name);

#endif
