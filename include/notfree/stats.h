/* notfree/stats.h: the two-sample statistics behind `notfree diff`.
 *
 * Glossary:
 *   U    the Mann-Whitney statistic of x against y: the number of pairs
 *        (x_i, y_j) with x_i > y_j, plus one half for each tie. It runs
 *        from 0 to nx*ny; nx*ny/2 when the two samples do not differ.
 *   p    two-sided: the chance, were both samples from one distribution,
 *        of a U at least this far from nx*ny/2.
 *   HL   the Hodges-Lehmann shift: the median of all nx*ny differences
 *        y_j - x_i; its confidence interval is the pair of order
 *        statistics of those differences that the U distribution gives.
 *
 * Exact distribution when there are no ties and nx, ny <= NF_MWU_EXACT_MAX
 * (counted by the recurrence on (nx, ny)); otherwise the normal
 * approximation with the tie correction and a continuity correction of
 * 1/2 (as scipy.stats.mannwhitneyu does by default). Nothing allocates
 * beyond the caller's scratch except nf_mwu_* (one calloc each).
 */
#ifndef NOTFREE_STATS_H
#define NOTFREE_STATS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NF_MWU_EXACT_MAX 30

typedef struct nf_mwu {
    double u;   /* U of x against y (see above) */
    double p;   /* two-sided p-value, in [0, 1] */
    bool exact; /* p from the exact distribution (else normal approx.) */
} nf_mwu;

/* Returns 0, or -1 when a sample is empty or malloc fails. */
int nf_mwu_test(const double *x, size_t nx, const double *y, size_t ny, nf_mwu *out);

typedef struct nf_hl {
    double shift;  /* median of y_j - x_i */
    double lo, hi; /* confidence interval of the shift */
    bool has_ci;   /* false when the samples are too small for this level */
    double level;  /* the confidence asked for, e.g. 0.99 */
} nf_hl;

/* HL shift of y against x and its (level) confidence interval (exact
 * order statistics for small samples, normal for large). Returns 0, or -1
 * on an empty sample or malloc failure. */
int nf_hl_shift(const double *x, size_t nx, const double *y, size_t ny, double level, nf_hl *out);

/* The smallest n such that two samples of n each, fully separated, give an
 * exact two-sided p below alpha (n = 5 at alpha 0.01, 4 at 0.05). */
unsigned nf_mwu_min_n(double alpha);

/* The median of v (sorted in place). NaN for n == 0. */
double nf_median(double *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
