/* notfree/regress.h: results files as samples, and the verdict of one
 * against another (`notfree diff`, `notfree regress`, `notfree baseline`).
 *
 * Glossary:
 *   row     what is measured under fixed conditions: a bench's run_name, or
 *           a comparison's allocator/workload/threads.
 *   metric  one figure of a row (real_time, ops_per_s, mmap_per_mop, ...).
 *   series  the samples of one (row, metric) in one file: a bench's
 *           iteration rows (one per repetition), a comparison's reps.
 *   timed   a metric that varies from run to run: judged by the U-test.
 *   count   a metric that is deterministic or nearly (faults per page,
 *           system calls per million ops, minor faults per op): judged by
 *           a tolerance on the medians, not a test.
 *   box     the context facts that make absolute figures comparable (CPU
 *           model, kernel release, hypervisor, THP mode, notfree version).
 */
#ifndef NOTFREE_REGRESS_H
#define NOTFREE_REGRESS_H

#include "notfree/json.h"
#include "notfree/stats.h"

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- results files (load.c) ---- */

typedef enum { NF_RG_BENCH, NF_RG_COMPARE } nf_rg_kind;

/* Invariant: v holds n samples (cap allocated); row and metric owned. */
typedef struct nf_rg_series {
    char *row;
    char *metric;
    double *v;
    size_t n, cap;
} nf_rg_series;

typedef struct nf_rg_file {
    nf_rg_kind kind;
    char name[512];    /* the path, or what the caller named it */
    json_t *root;      /* owned: the whole document */
    const json_t *box; /* borrowed from root: context.notfree, or NULL */
    nf_rg_series *s;   /* in order of first appearance */
    size_t n, cap;
} nf_rg_file;

/* Load options. without_allocator: a comparison's rows are keyed by
 * workload/threads only (A/B of two differently named libraries). */
typedef struct nf_rg_load_opts {
    bool without_allocator;
} nf_rg_load_opts;

/* Reads path (the kind is found from the document). Returns 0, or -1 with
 * a one-line reason in err (unreadable, not JSON, unknown kind, no rows). */
int nf_rg_load(const char *path, const nf_rg_load_opts *o, nf_rg_file *f, char *err, size_t cap);
/* The same from a document already parsed (steals the reference). */
int nf_rg_load_json(json_t *root, const char *name, const nf_rg_load_opts *o, nf_rg_file *f, char *err, size_t cap);
void nf_rg_free(nf_rg_file *f);
const char *nf_rg_kind_name(nf_rg_kind k);

/* ---- metrics (metric.c) ---- */

typedef enum { NF_RG_TIMED, NF_RG_COUNT, NF_RG_INFO } nf_rg_class;

typedef struct nf_rg_metric {
    nf_rg_class cls;
    int better;           /* -1 lower is better, +1 higher, 0 unknown (INFO) */
    double floor;         /* COUNT: a change must also exceed this, in the metric's unit */
    const char *worse;    /* the verdict words: "slower"/"faster", "bigger"/"smaller", */
    const char *better_w; /* "more"/"fewer" */
} nf_rg_metric;

/* What a metric name means (by name: real_time, ns_per_*, *_per_s, ...). */
nf_rg_metric nf_rg_metric_of(const char *name);

/* ---- the box (box.c) ---- */

/* Writes "field: OLD vs NEW; ..." for every box field that differs (or is
 * missing from one side) into why. Returns the number of differences
 * (0: same box). A file without box facts differs in "context.notfree". */
int nf_rg_box_differs(const json_t *a, const json_t *b, char *why, size_t cap);
/* A directory name for the box: the fields, sanitised, joined by '_' and
 * cut, plus a hash of them all. Returns 0, or -1 without box facts. */
int nf_rg_box_key(const json_t *box, char *buf, size_t cap);

/* ---- verdicts (verdict.c) ---- */

typedef enum {
    NF_V_SAME,
    NF_V_WORSE, /* a regression: counts toward exit status 1 */
    NF_V_BETTER,
    NF_V_INCONCLUSIVE,
    NF_V_UNJUDGED, /* no known direction: shown, never judged */
} nf_rg_verdict;

typedef struct nf_rg_opts {
    double alpha;       /* default 0.01 */
    double threshold;   /* percent, default 5 */
    double count_tol;   /* percent, default 10 */
    regex_t *metric_re; /* NULL: every metric */
    regex_t *filter_re; /* NULL: every row */
} nf_rg_opts;

void nf_rg_opts_default(nf_rg_opts *o);

/* One (row, metric) judged. change and the interval are percent of the
 * old median; spreads are the interquartile range over the median. */
typedef struct nf_rg_line {
    const char *row, *metric; /* borrowed from the old file */
    nf_rg_metric m;
    size_t n_old, n_new;
    double old_med, new_med, change;
    bool tested; /* a U-test ran (TIMED, enough samples) */
    nf_mwu mwu;
    nf_hl hl;                                  /* shift in the metric's unit */
    double hl_lo_pct, hl_hi_pct;               /* its interval in percent (NaN: none) */
    double spread_old, spread_new;             /* shown: (q3 - q1) / median, percent */
    double spread_ratio_old, spread_ratio_new; /* judged: q3 / q1 */
    nf_rg_verdict verdict;
    char why[160]; /* the reason in words */
} nf_rg_line;

typedef struct nf_rg_diff {
    nf_rg_line *lines;
    size_t n;
    char **only_old, **only_new; /* rows in one file only (borrowed) */
    size_t n_only_old, n_only_new;
    unsigned regressions;
    const nf_rg_file *old, *new_;
    nf_rg_opts opts;
} nf_rg_diff;

/* Judges every (row, metric) present in both. Returns 0, or -1 with the
 * reason (different kinds, no rows in common, malloc). */
int nf_rg_diff_run(const nf_rg_file *old, const nf_rg_file *new_, const nf_rg_opts *o, nf_rg_diff *d, char *err,
                   size_t cap);
void nf_rg_diff_free(nf_rg_diff *d);
const char *nf_rg_verdict_word(const nf_rg_line *l);

/* ---- reports (report_*.c) ---- */

void nf_rg_report_text(FILE *f, const nf_rg_diff *d);
/* "+12.3%" (or "n/a"), and "HL shift [lo, hi]" in percent, for the tables. */
void nf_rg_fmt_pct(char *buf, size_t cap, double v);
void nf_rg_fmt_interval(char *buf, size_t cap, const nf_rg_line *l);
/* The U test's p, or "count" for a count metric judged by tolerance, "-" untested. */
void nf_rg_fmt_p(char *buf, size_t cap, const nf_rg_line *l);
void nf_rg_report_markdown(FILE *f, const nf_rg_diff *d);
json_t *nf_rg_report_json(const nf_rg_diff *d);
/* The chart: one bar per judged line (change and interval, colored by
 * verdict, the threshold as lines) through plots/diff.gp. out ends in
 * .png or .svg. Returns 0, or -1 with the reason. */
int nf_rg_report_chart(const nf_rg_diff *d, const char *out, const char *plots_dir, char *err, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
