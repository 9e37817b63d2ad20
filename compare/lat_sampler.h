/* compare/lat_sampler.h: inside the worker, the latency of single malloc
 * and free calls, sampled (lat_sampler.c).
 *
 * Glossary
 *   sample   one timed call: nf_ticks() before and after the process's own
 *            malloc (or free), the difference in ns recorded in the calling
 *            thread's histogram (notfree/histogram.h). No allocation, no
 *            lock, no system call on the path.
 *   every    calls between samples, on average: after each sample the next
 *            gap is drawn from [every/2, 3*every/2) per thread and per kind
 *            (malloc, free), so a workload's own period (small-churn's
 *            batches of 64) cannot line the samples up on one position.
 *   sample cost  what one sample adds to its call (the two counter reads
 *            and the record), measured at start by timing samples of an
 *            empty call; the overhead estimate is that times the samples
 *            over the threads' time.
 *   pair overhead  measured at start, before the workload: malloc(64) +
 *            free pairs through the plain interface and through this one,
 *            25 alternating blocks of 20000, the best block of each; what
 *            every call pays (the countdown) plus its share of samples,
 *            over the cheapest op the allocator has.
 */
#ifndef NOTFREE_COMPARE_LAT_SAMPLER_H
#define NOTFREE_COMPARE_LAT_SAMPLER_H

#include "notfree/workload.h"

#include <stdio.h>

/* Sets up sampling 1 call in every (>= 1) for up to threads threads,
 * calibrates the counter (about 5 ms) and measures the sample cost.
 * Returns the mem api to run the workload on, or NULL (out of memory). */
const nf_mem_api *nf_lat_sampler_start(unsigned every, unsigned threads);
/* Prints the lines the parent reads (compare/latency.c):
 *   latency every=<n> sample_ns=<ns> threads_s=<s> pair_plain_ns=<ns> pair_sampled_ns=<ns>
 *   latency_malloc <nf_hist_format>
 *   latency_free <nf_hist_format>
 * threads_s: the workload's seconds times its threads. */
void nf_lat_sampler_print(FILE *f, double threads_s);

#endif
