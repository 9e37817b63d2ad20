/* regress/verdict.c: one results file judged against another.
 *
 * A timed metric is a regression when the U-test says the two samples
 * differ (p < alpha) AND the median moved more than the threshold in the
 * metric's bad direction AND that move (new/old, as a ratio) is wider than
 * the spread of either side (its quartiles' ratio q3/q1); too few samples,
 * a spread wider than the move, or a big move the test cannot confirm
 * give `inconclusive`. A count is compared by its medians with a
 * tolerance: a regression when worse by more than count_tol percent AND
 * by more than the metric's floor (one per million operations), and, when
 * it varies from run to run, confirmed by the U-test. */
#include "notfree/regress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nf_rg_opts_default(nf_rg_opts *o)
{
    memset(o, 0, sizeof *o);
    o->alpha = 0.01;
    o->threshold = 5;
    o->count_tol = 10;
}

const char *nf_rg_verdict_word(const nf_rg_line *l)
{
    switch (l->verdict) {
    case NF_V_WORSE:
        return l->m.worse;
    case NF_V_BETTER:
        return l->m.better_w;
    case NF_V_INCONCLUSIVE:
        return "inconclusive";
    case NF_V_UNJUDGED:
        return "-";
    default:
        return "same";
    }
}

/* The quartiles of v (sorted, n >= 1), linear interpolation. */
static void quartiles(const double *v, size_t n, double *q1, double *q3)
{
    double at[2] = {0.25, 0.75}, q[2];
    for (int k = 0; k < 2; k++) {
        double pos = at[k] * (double)(n - 1);
        size_t i = (size_t)pos;
        double frac = pos - (double)i;
        q[k] = i + 1 < n ? v[i] + frac * (v[i + 1] - v[i]) : v[i];
    }
    *q1 = q[0];
    *q3 = q[1];
}

static bool matches(const regex_t *re, const char *s) { return !re || regexec(re, s, 0, NULL, 0) == 0; }

static const nf_rg_series *find(const nf_rg_file *f, const char *row, const char *metric)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->s[i].row, row) && (!metric || !strcmp(f->s[i].metric, metric)))
            return &f->s[i];
    return NULL;
}

/* A count that is the same in every sample of both sides (the usual case)
 * is judged by the tolerance alone. One that varies from run to run (a
 * shard's munmap calls on a loaded box: 3, then 6 per million) must also
 * pass the U-test, or a doubling of a noisy count would be a false alarm. */
static int judge_count(nf_rg_line *l, const nf_rg_series *a, const nf_rg_series *b, const nf_rg_opts *o)
{
    double delta = l->new_med - l->old_med;
    double bad = -l->m.better * delta; /* > 0: moved the bad way */
    bool big = fabs(delta) > l->m.floor && (l->old_med == 0 || fabs(l->change) > o->count_tol);
    snprintf(l->why, sizeof l->why, "count: tolerance %g%% and %g (not a test)", o->count_tol, l->m.floor);
    l->verdict = !big ? NF_V_SAME : bad > 0 ? NF_V_WORSE : NF_V_BETTER;
    bool varies = false;
    for (size_t i = 1; i < a->n; i++)
        varies |= a->v[i] != a->v[0];
    for (size_t i = 1; i < b->n; i++)
        varies |= b->v[i] != b->v[0];
    if (!big || !varies)
        return 0;
    unsigned need = nf_mwu_min_n(o->alpha);
    if (a->n < need || b->n < need) {
        l->verdict = NF_V_INCONCLUSIVE;
        snprintf(l->why, sizeof l->why,
                 "the count varies between runs and there are too few "
                 "(%zu and %zu) to test: needs %u per side",
                 a->n, b->n, need);
        return 0;
    }
    if (nf_mwu_test(a->v, a->n, b->v, b->n, &l->mwu) != 0)
        return -1;
    l->tested = true;
    if (l->mwu.p >= o->alpha) {
        l->verdict = NF_V_INCONCLUSIVE;
        snprintf(l->why, sizeof l->why,
                 "the count varies between runs (spread %.0f%%/%.0f%%) and "
                 "p = %.3g >= alpha %g",
                 l->spread_old, l->spread_new, l->mwu.p, o->alpha);
    } else {
        snprintf(l->why, sizeof l->why, "count: tolerance %g%% and %g; it varies, p = %.3g < %g", o->count_tol,
                 l->m.floor, l->mwu.p, o->alpha);
    }
    return 0;
}

static int judge_timed(nf_rg_line *l, const nf_rg_series *a, const nf_rg_series *b, const nf_rg_opts *o)
{
    unsigned need = nf_mwu_min_n(o->alpha);
    if (a->n < need || b->n < need) {
        l->verdict = NF_V_INCONCLUSIVE;
        snprintf(l->why, sizeof l->why, "too few samples (%zu and %zu): needs %u per side at alpha %g", a->n, b->n,
                 need, o->alpha);
        return 0;
    }
    if (nf_mwu_test(a->v, a->n, b->v, b->n, &l->mwu) != 0 ||
        nf_hl_shift(a->v, a->n, b->v, b->n, 1 - o->alpha, &l->hl) != 0)
        return -1;
    l->tested = true;
    if (l->hl.has_ci && l->old_med != 0) {
        l->hl_lo_pct = l->hl.lo / fabs(l->old_med) * 100;
        l->hl_hi_pct = l->hl.hi / fabs(l->old_med) * 100;
    }
    double move = fabs(l->change);
    /* Noise against the move as ratios (q3/q1 against new/old), so that a
     * throughput that fell to a sixth is not excused by a spread over 100%
     * of its median, which a drop in percent can never exceed. */
    double ratio = l->old_med > 0 && l->new_med > 0 ? fmax(l->new_med / l->old_med, l->old_med / l->new_med) : INFINITY;
    double spread = fmax(l->spread_ratio_old, l->spread_ratio_new);
    bool bad = -l->m.better * l->change > 0;
    if (move <= o->threshold || isnan(move)) {
        l->verdict = NF_V_SAME;
        snprintf(l->why, sizeof l->why, "within the %g%% threshold", o->threshold);
    } else if (l->mwu.p >= o->alpha) {
        l->verdict = NF_V_INCONCLUSIVE;
        snprintf(l->why, sizeof l->why, "moved %.1f%% but p = %.3g >= alpha %g: more reps", move, l->mwu.p, o->alpha);
    } else if (spread > ratio) {
        l->verdict = NF_V_INCONCLUSIVE;
        snprintf(l->why, sizeof l->why,
                 "spread (quartiles %.2fx apart) wider than the move "
                 "(%.2fx): too noisy",
                 spread, ratio);
    } else {
        l->verdict = bad ? NF_V_WORSE : NF_V_BETTER;
        snprintf(l->why, sizeof l->why, "p = %.3g < %g and beyond the %g%% threshold", l->mwu.p, o->alpha,
                 o->threshold);
    }
    return 0;
}

static int judge(nf_rg_line *l, const nf_rg_series *a, const nf_rg_series *b, const nf_rg_opts *o)
{
    memset(l, 0, sizeof *l);
    l->row = a->row;
    l->metric = a->metric;
    l->m = nf_rg_metric_of(a->metric);
    l->n_old = a->n;
    l->n_new = b->n;
    double *x = malloc((a->n + b->n) * sizeof *x);
    if (!x)
        return -1;
    memcpy(x, a->v, a->n * sizeof *x);
    memcpy(x + a->n, b->v, b->n * sizeof *x);
    l->old_med = nf_median(x, a->n); /* sorts each part */
    l->new_med = nf_median(x + a->n, b->n);
    double q1, q3;
    quartiles(x, a->n, &q1, &q3);
    l->spread_old = l->old_med != 0 ? fabs((q3 - q1) / l->old_med) * 100 : 0;
    l->spread_ratio_old = q1 > 0 ? q3 / q1 : q3 == q1 ? 1 : INFINITY;
    quartiles(x + a->n, b->n, &q1, &q3);
    l->spread_new = l->new_med != 0 ? fabs((q3 - q1) / l->new_med) * 100 : 0;
    l->spread_ratio_new = q1 > 0 ? q3 / q1 : q3 == q1 ? 1 : INFINITY;
    free(x);
    l->hl_lo_pct = l->hl_hi_pct = NAN;
    l->change = l->old_med != 0 ? (l->new_med - l->old_med) / fabs(l->old_med) * 100 : l->new_med == 0 ? 0 : NAN;
    switch (l->m.cls) {
    case NF_RG_COUNT:
        return judge_count(l, a, b, o);
    case NF_RG_TIMED:
        return judge_timed(l, a, b, o);
    default:
        l->verdict = NF_V_UNJUDGED;
        snprintf(l->why, sizeof l->why, "direction unknown: shown, not judged");
        return 0;
    }
}

/* Appends each row of f (passing the filter) absent from g to *list. */
static int unmatched(const nf_rg_file *f, const nf_rg_file *g, const nf_rg_opts *o, char ***list, size_t *n)
{
    for (size_t i = 0; i < f->n; i++) {
        const char *row = f->s[i].row;
        if (!matches(o->filter_re, row) || find(g, row, NULL))
            continue;
        bool seen = false;
        for (size_t k = 0; k < *n && !seen; k++)
            seen = !strcmp((*list)[k], row);
        if (seen)
            continue;
        char **l = realloc(*list, (*n + 1) * sizeof *l);
        if (!l)
            return -1;
        *list = l;
        l[(*n)++] = f->s[i].row;
    }
    return 0;
}

int nf_rg_diff_run(const nf_rg_file *old, const nf_rg_file *new_, const nf_rg_opts *o, nf_rg_diff *d, char *err,
                   size_t cap)
{
    memset(d, 0, sizeof *d);
    d->old = old;
    d->new_ = new_;
    d->opts = *o;
    if (old->kind != new_->kind) {
        snprintf(err, cap, "%s is a %s file, %s a %s file: nothing to match", old->name, nf_rg_kind_name(old->kind),
                 new_->name, nf_rg_kind_name(new_->kind));
        return -1;
    }
    d->lines = calloc(old->n ? old->n : 1, sizeof *d->lines);
    if (!d->lines)
        goto oom;
    for (size_t i = 0; i < old->n; i++) {
        const nf_rg_series *a = &old->s[i];
        if (!matches(o->filter_re, a->row) || !matches(o->metric_re, a->metric))
            continue;
        const nf_rg_series *b = find(new_, a->row, a->metric);
        if (!b)
            continue;
        if (judge(&d->lines[d->n], a, b, o) != 0)
            goto oom;
        if (d->lines[d->n].verdict == NF_V_WORSE)
            d->regressions++;
        d->n++;
    }
    if (unmatched(old, new_, o, &d->only_old, &d->n_only_old) != 0 ||
        unmatched(new_, old, o, &d->only_new, &d->n_only_new) != 0)
        goto oom;
    if (d->n == 0) {
        snprintf(err, cap, "no rows and metrics in common between %s and %s%s", old->name, new_->name,
                 o->filter_re || o->metric_re ? " (after --filter/--metric)" : "");
        nf_rg_diff_free(d);
        return -1;
    }
    return 0;
oom:
    snprintf(err, cap, "out of memory");
    nf_rg_diff_free(d);
    return -1;
}

void nf_rg_diff_free(nf_rg_diff *d)
{
    free(d->lines);
    free(d->only_old);
    free(d->only_new);
    memset(d, 0, sizeof *d);
}
