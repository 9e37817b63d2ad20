/* regress/stats.c: Mann-Whitney U (exact and normal) and Hodges-Lehmann.
 * Definitions and the choice of method are in include/notfree/stats.h. */
#include "notfree/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double nf_median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The exact null distribution of U for samples of n and m without ties:
 * dist[u] = P(U = u), u = 0..n*m, by the recurrence
 *   P(n, m, u) = n/(n+m) P(n-1, m, u-m) + m/(n+m) P(n, m-1, u)
 * (the largest of the n+m values belongs to x, adding m to U, or to y).
 * Only sums of positive terms: no cancellation. Returns a calloc'd array
 * of n*m+1 probabilities, or NULL. */
static double *u_distribution(size_t n, size_t m)
{
    size_t w = n * m + 1;
    /* prev[j][u] = P(i-1, j, u), cur[j][u] = P(i, j, u) for j = 0..m */
    double *prev = calloc((m + 1) * w, sizeof *prev);
    double *cur = calloc((m + 1) * w, sizeof *cur);
    double *out = calloc(w, sizeof *out);
    if (!prev || !cur || !out) {
        free(prev);
        free(cur);
        free(out);
        return NULL;
    }
    for (size_t j = 0; j <= m; j++)
        prev[j * w] = 1.0; /* i = 0: U = 0 surely */
    for (size_t i = 1; i <= n; i++) {
        memset(cur, 0, (m + 1) * w * sizeof *cur);
        cur[0] = 1.0; /* j = 0: U = 0 surely */
        for (size_t j = 1; j <= m; j++) {
            double a = (double)i / (double)(i + j), b = (double)j / (double)(i + j);
            for (size_t u = 0; u <= i * j; u++) {
                double v = b * cur[(j - 1) * w + u];
                if (u >= j)
                    v += a * prev[j * w + u - j];
                cur[j * w + u] = v;
            }
        }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    memcpy(out, prev + m * w, w * sizeof *out);
    free(prev);
    free(cur);
    return out;
}

/* U of x against y, and the tie term sum(t^3 - t) over groups of equal
 * values in the pooled sample. O(n m) for U: the samples are small. */
static double u_statistic(const double *x, size_t nx, const double *y, size_t ny, double *ties)
{
    double u = 0;
    for (size_t i = 0; i < nx; i++)
        for (size_t j = 0; j < ny; j++)
            u += x[i] > y[j] ? 1.0 : x[i] == y[j] ? 0.5 : 0.0;
    size_t n = nx + ny;
    double *all = malloc(n * sizeof *all);
    *ties = 0;
    if (!all)
        return -1;
    memcpy(all, x, nx * sizeof *x);
    memcpy(all + nx, y, ny * sizeof *y);
    qsort(all, n, sizeof *all, cmp_double);
    for (size_t i = 0; i < n;) {
        size_t k = i;
        while (k < n && all[k] == all[i])
            k++;
        double t = (double)(k - i);
        *ties += t * t * t - t;
        i = k;
    }
    free(all);
    return u;
}

int nf_mwu_test(const double *x, size_t nx, const double *y, size_t ny, nf_mwu *out)
{
    if (nx == 0 || ny == 0)
        return -1;
    double ties;
    double u = u_statistic(x, nx, y, ny, &ties);
    if (u < 0)
        return -1;
    double nm = (double)nx * (double)ny;
    out->u = u;
    double far = u > nm - u ? u : nm - u; /* the larger of U and nm - U */
    if (ties == 0 && nx <= NF_MWU_EXACT_MAX && ny <= NF_MWU_EXACT_MAX) {
        double *d = u_distribution(nx, ny);
        if (!d)
            return -1;
        double tail = 0;
        for (size_t k = (size_t)far; k <= nx * ny; k++)
            tail += d[k];
        free(d);
        out->p = fmin(1.0, 2 * tail);
        out->exact = true;
        return 0;
    }
    double n = (double)(nx + ny);
    double var = nm / 12.0 * ((n + 1) - ties / (n * (n - 1)));
    out->exact = false;
    if (var <= 0) { /* every value equal: no evidence of a shift */
        out->p = 1.0;
        return 0;
    }
    double z = (far - nm / 2 - 0.5) / sqrt(var);
    out->p = z <= 0 ? 1.0 : fmin(1.0, erfc(z / M_SQRT2));
    return 0;
}

/* The standard normal quantile of q in (0.5, 1), by bisection on erfc:
 * a few dozen steps, called once per interval. */
static double z_quantile(double q)
{
    double lo = 0, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (1 - 0.5 * erfc(mid / M_SQRT2) < q)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

/* Ca: the largest c with P(U <= c - 1) <= (1 - level) / 2; the interval is
 * the c-th smallest and c-th largest of the nm differences. 0 when even
 * the extremes do not reach the level. */
static size_t ci_rank(size_t nx, size_t ny, double level)
{
    double half = (1 - level) / 2;
    size_t nm = nx * ny;
    if (nx <= NF_MWU_EXACT_MAX && ny <= NF_MWU_EXACT_MAX) {
        double *d = u_distribution(nx, ny);
        if (!d)
            return 0;
        double cum = 0;
        size_t c = 0;
        /* P(U <= c - 1) for c = 1, 2, ...: stop at the first that exceeds */
        while (c < nm) {
            cum += d[c];
            if (cum > half + 1e-12)
                break;
            c++;
        }
        free(d);
        return c;
    }
    double sd = sqrt((double)nm * (double)(nx + ny + 1) / 12.0);
    double c = floor((double)nm / 2 - z_quantile(1 - half) * sd);
    return c < 1 ? 0 : (size_t)c;
}

int nf_hl_shift(const double *x, size_t nx, const double *y, size_t ny, double level, nf_hl *out)
{
    if (nx == 0 || ny == 0)
        return -1;
    size_t nm = nx * ny;
    double *d = malloc(nm * sizeof *d);
    if (!d)
        return -1;
    for (size_t i = 0; i < nx; i++)
        for (size_t j = 0; j < ny; j++)
            d[i * ny + j] = y[j] - x[i];
    out->shift = nf_median(d, nm); /* sorts d */
    out->level = level;
    size_t c = ci_rank(nx, ny, level);
    out->has_ci = c >= 1 && c <= nm + 1 - c;
    out->lo = out->has_ci ? d[c - 1] : NAN;
    out->hi = out->has_ci ? d[nm - c] : NAN;
    free(d);
    return 0;
}

unsigned nf_mwu_min_n(double alpha)
{
    /* Fully separated samples of n each: exact p = 2 / C(2n, n). */
    for (unsigned n = 1; n < 64; n++) {
        double c = 1;
        for (unsigned k = 1; k <= n; k++)
            c = c * (double)(n + k) / (double)k;
        if (2 / c < alpha)
            return n;
    }
    return 64;
}
