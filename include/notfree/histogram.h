/* notfree/histogram.h: a log-bucketed histogram of non-negative integers
 * (latencies in ns), HdrHistogram-style: fixed memory, O(1) record, no
 * allocation, so it can sit inside a measured malloc path.
 *
 * Glossary
 *   bucket   a range of values counted together. Values below 2^(S+1)
 *            (S = NF_HIST_SUB_BITS) have a bucket each (exact); above, each
 *            power of two [2^e, 2^(e+1)) is split into 2^S equal buckets of
 *            width 2^(e-S), so a bucket is at most 1/2^S (3.1%) of its values
 *            wide. Values of 2^NF_HIST_MAX_BITS and more land in the last
 *            bucket (max stays exact).
 *   rank     percentile p (0-100] of n values is the ceil(p/100 * n)-th
 *            smallest (at least the first); a percentile is reported as the
 *            highest value of the bucket holding that rank (never below the
 *            true value, at most 3.1% above it), clamped to the exact max.
 *
 * Invariants: count == the sum of counts[]; min <= max when count > 0;
 * sum is the exact sum of the values recorded (it wraps past 2^64). Not
 * thread-safe: one histogram per thread, merged after.
 */
#ifndef NOTFREE_HISTOGRAM_H
#define NOTFREE_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NF_HIST_SUB_BITS 5  /* 32 buckets per power of two */
#define NF_HIST_MAX_BITS 40 /* 2^40 ns: 18 minutes */
#define NF_HIST_BUCKETS ((NF_HIST_MAX_BITS - NF_HIST_SUB_BITS + 1) << NF_HIST_SUB_BITS)

typedef struct nf_hist {
    uint64_t count, min, max, sum;
    uint64_t counts[NF_HIST_BUCKETS];
} nf_hist;

/* The bucket of v. */
static inline unsigned nf_hist_index(uint64_t v)
{
    if (v < (2u << NF_HIST_SUB_BITS))
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e >= NF_HIST_MAX_BITS)
        return NF_HIST_BUCKETS - 1;
    unsigned sub = (unsigned)(v >> (e - NF_HIST_SUB_BITS)) - (1u << NF_HIST_SUB_BITS);
    return ((e - NF_HIST_SUB_BITS + 1) << NF_HIST_SUB_BITS) + sub;
}

static inline void nf_hist_record(nf_hist *h, uint64_t v)
{
    h->counts[nf_hist_index(v)]++;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += v;
}

void nf_hist_init(nf_hist *h);
/* The lowest and highest value of bucket i. */
uint64_t nf_hist_lowest(unsigned i);
uint64_t nf_hist_highest(unsigned i);
/* dst += src. */
void nf_hist_merge(nf_hist *dst, const nf_hist *src);
/* Percentile p in (0, 100] (see rank above); 0 when h is empty. */
uint64_t nf_hist_percentile(const nf_hist *h, double p);
/* Mean of the values, 0 when empty. */
double nf_hist_mean(const nf_hist *h);

/* Text form, for handing a histogram between processes: "n=<count>
 * min=<v> max=<v> sum=<v> b=<i>:<c>,<i>:<c>,..." (the non-empty buckets,
 * in order). nf_hist_format returns the length it needed (as snprintf;
 * the text is cut when cap is short). nf_hist_parse reads one from s into
 * h: 0, or -1 when it is malformed or its counts do not add up to n. */
size_t nf_hist_format(const nf_hist *h, char *buf, size_t cap);
int nf_hist_parse(const char *s, nf_hist *h);

#ifdef __cplusplus
}
#endif
#endif
