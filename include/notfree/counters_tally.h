/* notfree/counters_tally.h: counters summed over a bench's measured
 * regions and reported per unit of work (per access, per page, per op).
 *
 * A tally is one nf_counters set (one thread's) plus the sum of its deltas
 * over every start/stop pair. Tallies of several threads merge into one.
 * Reporting writes, for each available counter of the hardware set
 * (NF_CTR_SET_BENCH_HW), "hw_<event>_per_<unit>" on the bench state, the
 * `hw_` prefix naming the source "hardware counter"; an unavailable one is
 * left out (the run's context lists it under `unavailable` with the reason,
 * from nf_counters_probe_all), never written as 0.
 */
#ifndef NOTFREE_COUNTERS_TALLY_H
#define NOTFREE_COUNTERS_TALLY_H

#include "notfree/bench.h"
#include "notfree/counters.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Invariant: sum[i] is meaningful only where set.avail[i]; `rounds` counts
 * the stop calls (each adds one delta per available counter). */
typedef struct nf_ctr_tally {
    nf_counters set;
    double sum[NF_CTR_COUNT];
    uint64_t rounds;
} nf_ctr_tally;

/* Opens `wanted` on the calling thread (as nf_counters_open); start and
 * stop on that thread only. */
void nf_ctr_tally_open(nf_ctr_tally *t, uint64_t wanted);
void nf_ctr_tally_start(nf_ctr_tally *t);
/* Adds each available counter's delta since the last start. */
void nf_ctr_tally_stop(nf_ctr_tally *t);
void nf_ctr_tally_close(nf_ctr_tally *t);
/* Adds src's sums into dst; a counter stays available only where both
 * have it. Either may be closed already (the sums and flags remain). */
void nf_ctr_tally_merge(nf_ctr_tally *dst, const nf_ctr_tally *src);
/* sum / units; NAN when the counter is unavailable or units <= 0. */
double nf_ctr_tally_per(const nf_ctr_tally *t, nf_counter_id id, double units);
/* "hw_" + the counter's name without "perf_" + "_per_" + unit, e.g.
 * "hw_dtlb_load_misses_per_access"; the length snprintf would need. */
int nf_ctr_tally_hw_name(nf_counter_id id, const char *unit, char *buf, size_t cap);
/* For each available counter in NF_CTR_SET_BENCH_HW: the counter named by
 * nf_ctr_tally_hw_name = sum / units. Returns how many it wrote. */
int nf_ctr_tally_report_hw(nf_state *st, const nf_ctr_tally *t, double units, const char *unit);

#ifdef __cplusplus
}
#endif
#endif
