/* tests/compare/timeline_test.c: the timeline's figures (compare/timeline.c)
 * on synthetic series whose answers are known: a step from 1000 to 2000 KiB
 * half way, a ramp, samples outside the workload's window ignored, a window
 * the worker did not give, and the thinning that keeps a long run's samples
 * evenly spaced within the buffer. */
#include "../common/check.h"
#include "compare.h"

static nf_cmp_timeline tl;

static void fill(double t0, double t1, double dt, long (*rss)(double))
{
    memset(&tl, 0, sizeof tl);
    tl.interval_s = dt;
    for (double t = t0; t <= t1 + 1e-9; t += dt)
        nf_cmp_timeline_add(&tl, t, rss(t), 4 * rss(t));
}

static long step(double t) { return t < 0.5 ? 1000 : 2000; }
static long ramp(double t) { return (long)(1000 + 1000 * t); }

static void test_step(void)
{
    fill(-0.1, 1.1, 0.01, step); /* start-up and exit outside the window */
    tl.t_start = 0;
    tl.t_end = 1;
    nf_cmp_tl_figures f;
    REQUIRE(nf_cmp_timeline_figures(&tl, &f) == 0);
    CHECK(f.samples >= 99 && f.samples <= 101, "samples in the window: %d", f.samples);
    CHECK_NEAR(f.mean_rss_kib, 1500, 10); /* the step is linear over one 10 ms gap */
    CHECK_NEAR(f.peak_kib, 2000, 0);
    CHECK_NEAR(f.rss90_kib, 2000, 0);
    CHECK_NEAR(f.rss100_kib, 2000, 0);
    CHECK_NEAR(f.above90, 0.5, 0.01);
    CHECK(f.rss50_kib >= 1000 && f.rss50_kib <= 2000, "rss at 50%%: %g", f.rss50_kib);
}

static void test_ramp(void)
{
    fill(0, 1, 0.001, ramp);
    tl.t_start = 0;
    tl.t_end = 1;
    nf_cmp_tl_figures f;
    REQUIRE(nf_cmp_timeline_figures(&tl, &f) == 0);
    CHECK_NEAR(f.mean_rss_kib, 1500, 5);
    CHECK_NEAR(f.rss50_kib, 1500, 5);
    CHECK_NEAR(f.rss90_kib, 1900, 5);
    CHECK_NEAR(f.rss100_kib, 2000, 5);
    /* at or above 1800 from t = 0.8: a fifth of the window */
    CHECK_NEAR(f.above90, 0.2, 0.01);
}

static void test_no_window(void)
{
    fill(0, 1, 0.1, ramp);
    nf_cmp_tl_figures f;
    CHECK(nf_cmp_timeline_figures(&tl, &f) == -1, "figures without a window");
    tl.t_start = 0.41;
    tl.t_end = 0.49; /* no sample inside */
    CHECK(nf_cmp_timeline_figures(&tl, &f) == -1, "figures from %d samples", f.samples);
}

/* 10 s at 1 ms: the buffer thins to every other sample as it fills, so
 * what stays is evenly spaced, spans the run, and fits. */
static void test_thinning(void)
{
    fill(0, 10, 0.001, ramp);
    CHECK(tl.n <= NF_TL_CAP && tl.n >= NF_TL_CAP / 2, "%d samples kept", tl.n);
    CHECK(tl.t[0] == 0, "first sample %g", tl.t[0]);
    CHECK(tl.t[tl.n - 1] > 10 - 2 * tl.interval_s, "last sample %g of 10 s", tl.t[tl.n - 1]);
    double gap = tl.t[1] - tl.t[0];
    int even = 1;
    for (int i = 1; i + 1 < tl.n; i++)
        even &= fabs(tl.t[i + 1] - tl.t[i] - gap) < 1e-6;
    CHECK(even, "samples are not evenly spaced");
    CHECK_NEAR(gap, tl.interval_s, 1e-9);
}

int main(void)
{
    TEST(test_step);
    TEST(test_ramp);
    TEST(test_no_window);
    TEST(test_thinning);
    return check_done();
}
