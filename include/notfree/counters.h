/* notfree/counters.h: what the kernel and the CPU count around a region.
 *
 * Sources (each figure names its own, see nf_counter_source):
 *   perf   perf_event_open on the calling thread: software events
 *          (page-faults, minor-faults, major-faults, context-switches) and,
 *          where the box has a PMU, hardware events (cycles, instructions,
 *          dTLB-loads, dTLB-load-misses, dTLB-store-misses,
 *          iTLB-load-misses). Each is read with its enabled and running
 *          times and scaled by enabled/running, so a PMU that multiplexes
 *          more events than it has counters gives estimates, not
 *          undercounts (software events are never multiplexed: exact).
 *   rusage getrusage(RUSAGE_THREAD): minflt, majflt, nvcsw, nivcsw.
 *   proc   /proc/self/statm (VSZ) and /proc/self/smaps_rollup (Rss,
 *          AnonHugePages, LazyFree, Locked): gauges, read at start and stop.
 *
 * Kernel accounting differs by path: MAP_POPULATE, MADV_POPULATE_WRITE and
 * mlock fault pages in through GUP, which getrusage counts as minflt (one per
 * page) while the perf page-faults event, which fires only in the page-fault
 * handler, counts none. Report both and say which.
 *
 * An unavailable counter is never reported as 0: nf_counters_available says
 * no and gives the reason, which the shim writes under notfree.unavailable.
 */
#ifndef NOTFREE_COUNTERS_H
#define NOTFREE_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nf_counter_id {
    /* perf software events (deltas) */
    NF_CTR_PERF_PAGE_FAULTS,
    NF_CTR_PERF_MINOR_FAULTS,
    NF_CTR_PERF_MAJOR_FAULTS,
    NF_CTR_PERF_CONTEXT_SWITCHES,
    /* perf hardware events (deltas) */
    NF_CTR_PERF_CYCLES,
    NF_CTR_PERF_INSTRUCTIONS,
    NF_CTR_PERF_DTLB_LOADS,
    NF_CTR_PERF_DTLB_LOAD_MISSES,
    NF_CTR_PERF_DTLB_STORE_MISSES,
    NF_CTR_PERF_ITLB_LOAD_MISSES,
    /* getrusage (deltas) */
    NF_CTR_RU_MINFLT,
    NF_CTR_RU_MAJFLT,
    NF_CTR_RU_NVCSW,
    NF_CTR_RU_NIVCSW,
    /* /proc gauges, KiB */
    NF_CTR_VSZ_KIB,
    NF_CTR_RSS_KIB,
    NF_CTR_ANON_HUGE_KIB,
    NF_CTR_LAZYFREE_KIB,
    NF_CTR_LOCKED_KIB,
    NF_CTR_COUNT
} nf_counter_id;

/* Which counters a set reads. */
#define NF_CTR_BIT(id) (UINT64_C(1) << (id))
#define NF_CTR_SET_PERF_SW                                                        \
    (NF_CTR_BIT(NF_CTR_PERF_PAGE_FAULTS) | NF_CTR_BIT(NF_CTR_PERF_MINOR_FAULTS) | \
     NF_CTR_BIT(NF_CTR_PERF_MAJOR_FAULTS) | NF_CTR_BIT(NF_CTR_PERF_CONTEXT_SWITCHES))
#define NF_CTR_SET_PERF_HW                                                                                        \
    (NF_CTR_BIT(NF_CTR_PERF_CYCLES) | NF_CTR_BIT(NF_CTR_PERF_INSTRUCTIONS) | NF_CTR_BIT(NF_CTR_PERF_DTLB_LOADS) | \
     NF_CTR_BIT(NF_CTR_PERF_DTLB_LOAD_MISSES) | NF_CTR_BIT(NF_CTR_PERF_DTLB_STORE_MISSES) |                       \
     NF_CTR_BIT(NF_CTR_PERF_ITLB_LOAD_MISSES))
/* What a bench reports per unit of work where the PMU exists (see
 * notfree/counters_tally.h): the TLB misses and cycles/instructions. */
#define NF_CTR_SET_BENCH_HW                                                                 \
    (NF_CTR_BIT(NF_CTR_PERF_CYCLES) | NF_CTR_BIT(NF_CTR_PERF_INSTRUCTIONS) |                \
     NF_CTR_BIT(NF_CTR_PERF_DTLB_LOAD_MISSES) | NF_CTR_BIT(NF_CTR_PERF_DTLB_STORE_MISSES) | \
     NF_CTR_BIT(NF_CTR_PERF_ITLB_LOAD_MISSES))
#define NF_CTR_SET_RUSAGE                                                                        \
    (NF_CTR_BIT(NF_CTR_RU_MINFLT) | NF_CTR_BIT(NF_CTR_RU_MAJFLT) | NF_CTR_BIT(NF_CTR_RU_NVCSW) | \
     NF_CTR_BIT(NF_CTR_RU_NIVCSW))
#define NF_CTR_SET_PROC                                                                           \
    (NF_CTR_BIT(NF_CTR_VSZ_KIB) | NF_CTR_BIT(NF_CTR_RSS_KIB) | NF_CTR_BIT(NF_CTR_ANON_HUGE_KIB) | \
     NF_CTR_BIT(NF_CTR_LAZYFREE_KIB) | NF_CTR_BIT(NF_CTR_LOCKED_KIB))
#define NF_CTR_SET_ALL ((UINT64_C(1) << NF_CTR_COUNT) - 1)

typedef enum nf_counter_source {
    NF_SRC_PERF_SOFTWARE,
    NF_SRC_PERF_HARDWARE,
    NF_SRC_RUSAGE,
    NF_SRC_PROC
} nf_counter_source;

/* One set of counters for the calling thread. Invariants: avail[i] is
 * false exactly when reason[i] is non-empty or i is not in `wanted`;
 * fd[i] >= 0 only for an available perf counter; start/stop hold raw
 * readings, so delta = stop - start for events and stop is the gauge. */
typedef struct nf_counters {
    uint64_t wanted;
    bool avail[NF_CTR_COUNT];
    char reason[NF_CTR_COUNT][96];
    int fd[NF_CTR_COUNT];
    uint64_t start[NF_CTR_COUNT];
    uint64_t stop[NF_CTR_COUNT];
} nf_counters;

/* Opens the wanted counters; those that cannot be had are marked
 * unavailable with a reason. Never fails as a whole. */
void nf_counters_open(nf_counters *c, uint64_t wanted);
void nf_counters_close(nf_counters *c);
void nf_counters_start(nf_counters *c);
void nf_counters_stop(nf_counters *c);
bool nf_counters_available(const nf_counters *c, nf_counter_id id, const char **reason);
/* Events: stop - start. Gauges: stop - start too (may be negative).
 * An unavailable counter gives NAN from both (never 0). */
double nf_counters_delta(const nf_counters *c, nf_counter_id id);
/* Gauges: the reading at stop. */
double nf_counters_value(const nf_counters *c, nf_counter_id id);
const char *nf_counter_name(nf_counter_id id); /* "perf_page_faults", "rss_kib" */
nf_counter_source nf_counter_source_of(nf_counter_id id);
const char *nf_counter_source_name(nf_counter_source s); /* "perf software event" ... */
bool nf_counter_is_gauge(nf_counter_id id);

/* For tests: from now on, opening counter `id` opens the perf event of
 * `stand_in` (its type and config) in its place, under id's name and
 * source; nf_counters_stand_in(id, id) undoes it. This is how a box with no
 * PMU tests every line of the hardware-counter path but the event type: a
 * software event (page-faults) stands in for a hardware one. Both must be
 * perf counters; -1 otherwise. Call it before opening the sets it should
 * affect, from one thread. */
int nf_counters_stand_in(nf_counter_id id, nf_counter_id stand_in);

/* Memory of the process now, from /proc/self (KiB); -1 where unreadable. */
typedef struct nf_proc_mem {
    int64_t vsz_kib, rss_kib, anon_huge_kib, lazyfree_kib, locked_kib;
} nf_proc_mem;
int nf_proc_mem_read(nf_proc_mem *m);

/* Probes every counter once (in a scratch set) and records each one that
 * is unavailable with nf_context_unavailable("counter:<name>", reason). */
void nf_counters_probe_all(void);
/* Probes once (as nf_counters_probe_all) and returns the set of counters
 * this box can give, as NF_CTR_BIT()s. Thread-safe. */
uint64_t nf_counters_probed_mask(void);

#ifdef __cplusplus
}
#endif
#endif
