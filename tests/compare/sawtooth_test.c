/* tests/compare/sawtooth_test.c: a run's RSS timeline and latency
 * histograms, end to end (compare/run.c under glibc, no preload).
 *
 * timeline: the sawtooth workload grows to 16 MiB of 1-3 KiB blocks and
 * frees them all, CYCLES times; glibc gives the heap back when the last
 * block goes, so the parent's statm samples must show a peak about 16 MiB
 * above the trough (12 to 24 MiB: block headers and pages) and one drop of
 * most of it per cycle (the last may fall after the final sample).
 * latency: small-churn sampled 1 call in EVERY: the histograms' counts add
 * up to the sampled calls, about one in EVERY of each kind, and the
 * overhead estimate is reported and below 3%. */
#include "../common/check.h"
#include "compare.h"

#include <limits.h>

enum { CYCLES = 4, SLOTS = 8192, EVERY = 16 };

static const char *worker;
static nf_cmp_alloc glibc = {.name = "glibc", .available = 1};

static void test_sawtooth(void)
{
    static nf_cmp_timeline tl;
    nf_cmp_job j = {.worker = worker,
                    .alloc = &glibc,
                    .workload = "sawtooth",
                    .threads = 1,
                    .ops = CYCLES * 2 * SLOTS,
                    .timeout_s = 120,
                    .timeline = &tl};
    static nf_cmp_result r;
    REQUIRE(nf_cmp_run(&j, &r) == 0);
    REQUIREF(r.ok, "the run failed: %s", r.error);
    REQUIREF(tl.n > 20, "%d samples", tl.n);
    REQUIREF(r.t_end > r.t_start && tl.t_end == r.t_end, "window [%f, %f]", r.t_start, r.t_end);
    long lo = LONG_MAX, hi = 0;
    for (int i = 0; i < tl.n; i++) {
        if (tl.t[i] < r.t_start || tl.t[i] > r.t_end)
            continue;
        lo = tl.rss_kib[i] < lo ? tl.rss_kib[i] : lo;
        hi = tl.rss_kib[i] > hi ? tl.rss_kib[i] : hi;
    }
    long amp = hi - lo;
    printf("%d samples every %.0f ms, RSS %ld to %ld KiB in the window\n", tl.n, tl.interval_s * 1e3, lo, hi);
    CHECK(amp >= 12 * 1024 && amp <= 24 * 1024, "peak - trough %ld KiB, want about 16 MiB", amp);
    /* With hysteresis: a peak is a climb above 80% of the range, a trough a
     * fall below 45% after one; glibc's troughs stay a few MiB above the
     * lowest sample (its arena keeps some), its peaks reach the top. */
    int drops = 0, high = 0;
    long trough = LONG_MAX;
    for (int i = 0; i < tl.n; i++) {
        long v = tl.rss_kib[i] - lo;
        if (!high && v >= amp * 8 / 10) {
            if (drops)
                CHECK(trough < amp * 35 / 100, "trough %d at %ld KiB above the lowest", drops, trough);
            high = 1;
        } else if (high && v <= amp * 45 / 100) {
            high = 0;
            drops++;
            trough = v;
        }
        if (!high && v < trough)
            trough = v;
    }
    CHECK(drops >= CYCLES - 1 && drops <= CYCLES, "%d peaks and troughs for %d cycles", drops, CYCLES);
    nf_cmp_tl_figures f;
    REQUIRE(nf_cmp_timeline_figures(&tl, &f) == 0);
    printf("mean %.0f KiB, at 50/90/100%%: %.0f %.0f %.0f, peak %.0f, above 90%%: %.2f, sampling cost %.1f ms\n",
           f.mean_rss_kib, f.rss50_kib, f.rss90_kib, f.rss100_kib, f.peak_kib, f.above90, tl.cost_s * 1e3);
    CHECK(f.mean_rss_kib > lo && f.mean_rss_kib < hi, "mean %g outside [%ld, %ld]", f.mean_rss_kib, lo, hi);
    CHECK(f.above90 > 0 && f.above90 < 0.9, "above 90%% of peak %g: a sawtooth is not at its peak throughout",
          f.above90);
}

static void test_latency(void)
{
    nf_cmp_job j = {.worker = worker,
                    .alloc = &glibc,
                    .workload = "small-churn",
                    .threads = 1,
                    .ops = 40000,
                    .timeout_s = 60,
                    .latency_every = EVERY};
    static nf_cmp_result r;
    REQUIRE(nf_cmp_run(&j, &r) == 0);
    REQUIREF(r.ok, "the run failed: %s", r.error);
    const nf_cmp_latency *l = &r.latency;
    REQUIREF(l->have, "no latency lines parsed");
    CHECK(l->every == EVERY, "every %u", l->every);
    const nf_hist *h[2] = {&l->malloc_h, &l->free_h};
    for (int k = 0; k < 2; k++) {
        uint64_t sum = 0;
        for (unsigned i = 0; i < NF_HIST_BUCKETS; i++)
            sum += h[k]->counts[i];
        CHECK(sum == h[k]->count, "buckets add up to %llu, samples %llu", (unsigned long long)sum,
              (unsigned long long)h[k]->count);
        /* 20000 calls of each kind, one in EVERY on average */
        double want = (double)r.ops / 2 / EVERY;
        CHECK(fabs((double)h[k]->count - want) < 0.1 * want, "%s: %llu samples, want about %.0f", k ? "free" : "malloc",
              (unsigned long long)h[k]->count, want);
        CHECK(h[k]->min <= nf_hist_percentile(h[k], 50) && nf_hist_percentile(h[k], 99.99) <= h[k]->max,
              "percentiles outside [min, max]");
    }
    printf("sample %.1f ns, overhead %.3f%%, malloc p50 %llu ns p99 %llu ns max %llu ns\n", l->sample_ns,
           l->overhead * 100, (unsigned long long)nf_hist_percentile(&l->malloc_h, 50),
           (unsigned long long)nf_hist_percentile(&l->malloc_h, 99), (unsigned long long)l->malloc_h.max);
    CHECK(l->sample_ns > 0 && l->overhead > 0, "overhead not reported");
    /* One in 16 is the heaviest sampling; the default (256) is 16 times lighter. */
    CHECK(l->overhead < 0.03 * 16, "overhead %g at one in %d", l->overhead, EVERY);
}

int main(int argc, char **argv)
{
    REQUIREF(argc == 2, "usage: sawtooth_test PATH/TO/notfree-workload");
    worker = argv[1];
    TEST(test_sawtooth);
    TEST(test_latency);
    return check_done();
}
