/* test_histogram: the log-bucketed histogram (notfree/histogram.h).
 * Buckets tile the values with no gap and no overlap, each at most 1/32 of
 * its values wide; the counts add up to the values recorded; percentiles of
 * known distributions (uniform, a two-level mix with a known tail, a
 * constant) come out within the bucket width; merge and the text form
 * keep every count. */
#include "../common/check.h"
#include "notfree/histogram.h"

#include <stdint.h>
#include <stdlib.h>

static nf_hist h, g;

static void test_buckets(void)
{
    CHECK(nf_hist_lowest(0) == 0, "first bucket starts at %llu", (unsigned long long)nf_hist_lowest(0));
    for (unsigned i = 0; i + 1 < NF_HIST_BUCKETS; i++) {
        uint64_t lo = nf_hist_lowest(i), hi = nf_hist_highest(i);
        CHECK(nf_hist_lowest(i + 1) == hi + 1, "gap after bucket %u", i);
        CHECK(nf_hist_index(lo) == i && nf_hist_index(hi) == i, "bucket %u [%llu, %llu] indexes %u %u", i,
              (unsigned long long)lo, (unsigned long long)hi, nf_hist_index(lo), nf_hist_index(hi));
        CHECK((double)(hi - lo) <= (double)lo / 32 || hi == lo, "bucket %u too wide: [%llu, %llu]", i,
              (unsigned long long)lo, (unsigned long long)hi);
    }
    for (uint64_t v = 0; v < 64; v++)
        CHECK(nf_hist_lowest(nf_hist_index(v)) == v, "small value %llu not exact", (unsigned long long)v);
    CHECK(nf_hist_index(UINT64_MAX) == NF_HIST_BUCKETS - 1, "huge value not in the last bucket");
}

/* Uniform 1..100000, shuffled: percentile p is p * 1000. */
static void test_uniform(void)
{
    nf_hist_init(&h);
    for (uint64_t i = 0; i < 100000; i++)
        nf_hist_record(&h, (i * 7919) % 100000 + 1);
    CHECK(h.count == 100000, "count %llu", (unsigned long long)h.count);
    uint64_t sum = 0;
    for (unsigned i = 0; i < NF_HIST_BUCKETS; i++)
        sum += h.counts[i];
    CHECK(sum == h.count, "buckets add up to %llu, count %llu", (unsigned long long)sum, (unsigned long long)h.count);
    CHECK(h.min == 1 && h.max == 100000, "min %llu max %llu", (unsigned long long)h.min, (unsigned long long)h.max);
    CHECK_NEAR(nf_hist_mean(&h), 50000.5, 1e-6);
    const double ps[] = {50, 90, 99, 99.9, 99.99};
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
        double want = ps[k] * 1000, got = (double)nf_hist_percentile(&h, ps[k]);
        CHECK(got >= want && got <= want * (1 + 1.0 / 32), "p%g = %g, want %g (+3.1%%)", ps[k], got, want);
    }
    CHECK(nf_hist_percentile(&h, 100) == 100000, "p100 is not the max");
}

/* 99% at 100 ns, 0.9% at 10 us, 0.1% at 1 ms: a tail that p99 misses and
 * p99.9 sees, as an allocator with rare page faults and a rarer purge. */
static void test_tail(void)
{
    nf_hist_init(&h);
    for (int i = 0; i < 99000; i++)
        nf_hist_record(&h, 100);
    for (int i = 0; i < 900; i++)
        nf_hist_record(&h, 10000);
    for (int i = 0; i < 100; i++)
        nf_hist_record(&h, 1000000);
    uint64_t p50 = nf_hist_percentile(&h, 50), p99 = nf_hist_percentile(&h, 99);
    uint64_t p999 = nf_hist_percentile(&h, 99.9), p9999 = nf_hist_percentile(&h, 99.99);
    CHECK(p50 >= 100 && p50 <= 103, "p50 %llu", (unsigned long long)p50);
    CHECK(p99 >= 100 && p99 <= 103, "p99 %llu (rank 99000 is the last 100)", (unsigned long long)p99);
    CHECK(p999 >= 10000 && p999 <= 10000 + 10000 / 32, "p99.9 %llu", (unsigned long long)p999);
    CHECK(p9999 == 1000000, "p99.99 %llu (clamped to the exact max)", (unsigned long long)p9999);
    uint64_t p0 = nf_hist_percentile(&h, 0.0001);
    CHECK(p0 >= 100 && p0 <= 103, "p0.0001 %llu", (unsigned long long)p0);
}

static void test_constant_and_empty(void)
{
    nf_hist_init(&h);
    CHECK(nf_hist_percentile(&h, 99) == 0, "empty histogram p99");
    for (int i = 0; i < 10; i++)
        nf_hist_record(&h, 5000);
    for (double p = 1; p <= 100; p += 9)
        CHECK(nf_hist_percentile(&h, p) == 5000, "constant p%g = %llu", p,
              (unsigned long long)nf_hist_percentile(&h, p));
}

static void test_merge_and_text(void)
{
    nf_hist_init(&h);
    nf_hist_init(&g);
    for (uint64_t i = 1; i <= 1000; i++)
        nf_hist_record(i % 2 ? &h : &g, i * i);
    nf_hist merged = h;
    nf_hist_merge(&merged, &g);
    CHECK(merged.count == 1000 && merged.min == 1 && merged.max == 1000000, "merged %llu [%llu, %llu]",
          (unsigned long long)merged.count, (unsigned long long)merged.min, (unsigned long long)merged.max);
    char buf[32768];
    size_t n = nf_hist_format(&merged, buf, sizeof buf);
    REQUIREF(n < sizeof buf, "text needs %zu bytes", n);
    nf_hist back;
    REQUIRE(nf_hist_parse(buf, &back) == 0);
    CHECK(back.count == merged.count && back.min == merged.min && back.max == merged.max && back.sum == merged.sum,
          "round trip changed the totals");
    CHECK(memcmp(back.counts, merged.counts, sizeof back.counts) == 0, "round trip changed a bucket");
    /* A cut text is not taken for a histogram. */
    char small[40];
    CHECK(nf_hist_format(&merged, small, sizeof small) == n, "the length needed");
    CHECK(nf_hist_parse(small, &back) != 0, "a cut text parsed: %s", small);
    CHECK(nf_hist_parse("n=3 min=1 max=2 sum=4 b=1:1,2:1", &back) != 0, "counts that do not add up parsed");
    CHECK(nf_hist_parse("n=2 min=1 max=2 sum=3 b=1:1,9999999:1", &back) != 0, "a bucket out of range parsed");
    CHECK(nf_hist_parse("n=0 min=0 max=0 sum=0 b=", &back) == 0 && back.count == 0, "the empty text");
}

int main(void)
{
    TEST(test_buckets);
    TEST(test_uniform);
    TEST(test_tail);
    TEST(test_constant_and_empty);
    TEST(test_merge_and_text);
    return check_done();
}
