/* compare/latency.h: single malloc and free latencies of a run, as the
 * worker sampled them (lat_sampler.h), read and reported by the parent
 * (latency.c).
 *
 * Figures: p50, p90, p99, p99.9, p99.99 and max of the malloc calls, the
 * free calls, and both together (notfree/histogram.h's rank rule: a
 * percentile is the top of its bucket, at most 3.1% above the true value).
 * Source: timing (the TSC around the call, calibrated to ns; the two reads
 * themselves are inside every sample: sample_ns says how much).
 * overhead: the estimated fraction of the workload's thread time spent
 * in samples = samples x sample_ns / (seconds x threads), a model from the
 * measured cost of one sample; the calls not sampled pay a countdown only.
 * measured_overhead: timing, in the same process before the workload:
 * (sampled - plain) / plain ns of a malloc(64) + free pair, the best of 25
 * blocks each (lat_sampler.h): the countdown and the samples over the
 * allocator's cheapest op, so an upper bound for longer ops.
 */
#ifndef NOTFREE_COMPARE_LATENCY_H
#define NOTFREE_COMPARE_LATENCY_H

#include "notfree/histogram.h"

#include <jansson.h>

/* Calls between samples (on average) in the timed runs by default: the
 * overhead stays well under 3% of the op's time (README, Comparing). */
enum { NF_CMP_LATENCY_EVERY = 256 };

typedef struct nf_cmp_latency {
    int have; /* the worker sampled and its lines parsed */
    unsigned every;
    double sample_ns, threads_s, overhead;
    double pair_plain_ns, pair_sampled_ns, measured_overhead;
    nf_hist malloc_h, free_h;
} nf_cmp_latency;

/* Reads the worker's latency lines out of its stdout (out) into l;
 * l->have = 0 when there are none or they are malformed. */
void nf_cmp_latency_parse(const char *out, nf_cmp_latency *l);
/* malloc and free together. */
void nf_cmp_latency_all(const nf_cmp_latency *l, nf_hist *all);
/* A run's "latency" object: every, sample_ns, overhead, and per kind
 * (malloc, free, all) samples and the percentiles in ns. */
json_t *nf_cmp_latency_json(const nf_cmp_latency *l);
/* The percentiles of h: {samples, p50_ns, ..., max_ns}. */
json_t *nf_cmp_hist_json(const nf_hist *h);
/* The CDF of h for the chart: [[ns, fraction of calls at or below], ...]
 * at the top of each non-empty bucket. */
json_t *nf_cmp_hist_cdf_json(const nf_hist *h);

#endif
