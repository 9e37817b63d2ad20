/* test_stats.c: the U-test and Hodges-Lehmann against reference values.
 *
 * Exact p-values: the 5x5 (U = 2) and 3x4 (U = 3) cases are in Mann and
 * Whitney's 1947 table (P(U <= 2) = .016 for 5 and 5, P(U <= 3) = .200
 * for 3 and 4; doubled for two sides); every constant below was also
 * computed by tests/regress/reference.py, which enumerates all rank
 * assignments and shares no code with regress/stats.c; scipy 1.10.1's
 * mannwhitneyu (Debian python3-scipy) gives the same p-values to 1e-15
 * (exact for the exact cases, asymptotic for the two normal ones). */
#include "../common/check.h"
#include "notfree/stats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void exact_p(const double *x, size_t nx, const double *y, size_t ny, double u, double p)
{
    nf_mwu r;
    CHECK(nf_mwu_test(x, nx, y, ny, &r) == 0, "mwu failed");
    CHECK(r.exact, "expected the exact distribution for %zu x %zu", nx, ny);
    CHECK_NEAR(r.u, u, 0);
    CHECK_NEAR(r.p, p, 1e-12);
    /* Swapping the samples mirrors U and keeps p. */
    CHECK(nf_mwu_test(y, ny, x, nx, &r) == 0, "mwu failed");
    CHECK_NEAR(r.u, (double)(nx * ny) - u, 0);
    CHECK_NEAR(r.p, p, 1e-12);
}

static void test_exact(void)
{
    double sep5x[] = {1, 2, 3, 4, 5}, sep5y[] = {6, 7, 8, 9, 10};
    exact_p(sep5x, 5, sep5y, 5, 0, 0.0079365079365079361); /* 2 / C(10,5) */
    double a[] = {1, 2, 3, 4.5, 5.5}, b[] = {4, 6, 7, 8, 9};
    exact_p(a, 5, b, 5, 2, 0.031746031746031744); /* table: 2 x .016 */
    double c[] = {1.1, 3.3, 5.5}, d[] = {2.2, 4.4, 6.6, 7.7};
    exact_p(c, 3, d, 4, 3, 0.4); /* table: 2 x .200 */
    double e[] = {100, 101, 102, 103, 104, 105, 106}, f[] = {130, 131, 132, 133, 134, 135, 136};
    exact_p(e, 7, f, 7, 0, 0.00058275058275058275); /* 2 / C(14,7) */
    double g[] = {3.1, 4.7, 2.2, 5.9, 6.3, 1.8, 7.4, 4.1}, h[] = {5.2, 8.8, 6.9, 9.7, 7.7, 3.5};
    exact_p(g, 8, h, 6, 9, 0.059274059274059279);
}

static void test_normal(void)
{
    nf_mwu r;
    /* Ties: the normal approximation with the tie correction. */
    double x[] = {1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8}, y[] = {3, 4, 4, 5, 6, 6, 7, 8, 8, 9};
    CHECK(nf_mwu_test(x, N(x), y, N(y), &r) == 0, "mwu failed");
    CHECK(!r.exact, "ties must use the normal approximation");
    CHECK_NEAR(r.u, 30, 0);
    CHECK_NEAR(r.p, 0.049910057914991195, 1e-12);
    /* Over NF_MWU_EXACT_MAX per side: normal, no ties. */
    double bx[40], by[35];
    for (int i = 0; i < 40; i++)
        bx[i] = i;
    for (int i = 0; i < 35; i++)
        by[i] = i + 7.5;
    CHECK(nf_mwu_test(bx, 40, by, 35, &r) == 0, "mwu failed");
    CHECK(!r.exact, "40 x 35 must use the normal approximation");
    CHECK_NEAR(r.u, 528, 0);
    CHECK_NEAR(r.p, 0.068559708141030615, 1e-12);
    /* All values equal: no evidence, p = 1. */
    double s[] = {5, 5, 5}, t[] = {5, 5, 5, 5};
    CHECK(nf_mwu_test(s, 3, t, 4, &r) == 0, "mwu failed");
    CHECK_NEAR(r.p, 1, 0);
    CHECK(nf_mwu_test(s, 0, t, 4, &r) == -1, "an empty sample is refused");
}

static void hl(const double *x, size_t nx, const double *y, size_t ny, double level, double shift, double lo, double hi)
{
    nf_hl r;
    CHECK(nf_hl_shift(x, nx, y, ny, level, &r) == 0, "hl failed");
    CHECK_NEAR(r.shift, shift, 1e-9);
    CHECK(r.has_ci, "expected an interval at level %g", level);
    CHECK_NEAR(r.lo, lo, 1e-9);
    CHECK_NEAR(r.hi, hi, 1e-9);
}

static void test_hl(void)
{
    double e[] = {100, 101, 102, 103, 104, 105, 106}, f[] = {130, 131, 132, 133, 134, 135, 136};
    hl(e, 7, f, 7, 0.95, 30, 27, 33);
    hl(e, 7, f, 7, 0.99, 30, 26, 34);
    double g[] = {3.1, 4.7, 2.2, 5.9, 6.3, 1.8, 7.4, 4.1}, h[] = {5.2, 8.8, 6.9, 9.7, 7.7, 3.5};
    hl(g, 8, h, 6, 0.95, 2.65, -0.5, 5.5);
    hl(g, 8, h, 6, 0.99, 2.65, -1.2, 6.6);
    double a[] = {1, 2, 3, 4.5, 5.5}, b[] = {4, 6, 7, 8, 9};
    hl(a, 5, b, 5, 0.95, 3.5, 0.5, 7);
    hl(a, 5, b, 5, 0.99, 3.5, -1.5, 8);
    /* 2 x 2: the extremes have probability 1/6 each, no 99% interval. */
    nf_hl r;
    double p[] = {1, 2}, q[] = {3, 4};
    CHECK(nf_hl_shift(p, 2, q, 2, 0.99, &r) == 0, "hl failed");
    CHECK_NEAR(r.shift, 2, 0);
    CHECK(!r.has_ci, "2 x 2 cannot give a 99%% interval");
}

static void test_min_n(void)
{
    CHECK(nf_mwu_min_n(0.01) == 5, "min n at 0.01 = %u", nf_mwu_min_n(0.01));
    CHECK(nf_mwu_min_n(0.05) == 4, "min n at 0.05 = %u", nf_mwu_min_n(0.05));
    double v[] = {3, 1, 2, 10};
    CHECK_NEAR(nf_median(v, 4), 2.5, 0);
}

int main(void)
{
    TEST(test_exact);
    TEST(test_normal);
    TEST(test_hl);
    TEST(test_min_n);
    return check_done();
}
