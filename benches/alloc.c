/* benches/alloc.c: allocator throughput and resident memory on the shared
 * workloads: alloc/<allocator>/<workload>/threads:<n>.
 *
 * Method
 *   - One heap per bench instance (create(NULL); for `system` the process's
 *     malloc, whatever serves it: with a drop-in preloaded,
 *     alloc/system/... measures that allocator, and the label says which).
 *   - The workload runs on its own <n> worker threads (notfree/workload.h),
 *     started before the timed loop; each benchmark iteration is one round
 *     of ROUND_OPS operations per thread (one op = one malloc or one free),
 *     timed with CLOCK_MONOTONIC around the round (manual time).
 *   - ops_per_s: operations / timed seconds (a rate counter).
 *   - peak_rss_kib: the most resident memory the run added to the process,
 *     from /proc/self/statm read after each round (untimed), over the RSS
 *     before the workload started. The baseline is taken without
 *     malloc_trim, for every allocator alike: a trim makes glibc, bins,
 *     slab and shard give their cached pages back and fault them in again
 *     inside the timed loop, while Debian's mimalloc 2.0.9, jemalloc and
 *     tcmalloc export no malloc_trim (the call reaches glibc's, which trims
 *     only glibc's idle arena), so trimming taxed only some of them. Within one process memory that an earlier bench left
 *     cached in the system allocator hides part of this; `notfree compare`
 *     runs each allocator in its own process for that reason.
 *   - A run whose checksum finds a damaged block, or whose malloc fails, is
 *     reported as an error, never as a time.
 *   - Worker i is pinned to online CPU i mod count.
 * Default: threads 1 and 2; NOTFREE_FULL=1 adds 4 and 8.
 */
#include "registry.h"

#include "notfree/clock.h"
#include "notfree/alloc.h"
#include "notfree/bench.h"
#include "notfree/counters.h"
#include "notfree/workload.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { ROUND_OPS = 20000 };

/* The throughput workloads (a round of ROUND_OPS suits them); the others in
 * the registry (large, trim, fragmentation, ...) measure memory and run
 * under `notfree compare`, one process each. */
static const char *const bench_workloads[] = {"small-churn", "random-mix", "larson-like"};

typedef struct alloc_case {
    const nf_allocator *a;
    const nf_workload *w;
    unsigned threads;
} alloc_case;

/* RSS now (KiB) from the counters module's /proc reader; -1 if unreadable. */
static long rss_kib(void)
{
    nf_proc_mem m;
    nf_proc_mem_read(&m);
    return (long)m.rss_kib;
}

/* Which allocator serves this heap: a preloaded drop-in of ours tells its
 * name; otherwise the allocator's identify. */
static void label_of(const alloc_case *c, nf_heap *h, char *buf, size_t len)
{
    if (strcmp(c->a->name, "system") == 0) {
        const char *(*ours)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "notfree_dropin_identify");
        if (ours) {
            snprintf(buf, len, "%s (preloaded)", ours());
            return;
        }
    }
    c->a->identify(h, buf, len);
}

static void bench_alloc(nf_state *st, void *user)
{
    const alloc_case *c = user;
    nf_heap *h = c->a->create(NULL);
    if (!h) {
        nf_state_skip_with_error(st, "cannot create a heap");
        return;
    }
    char label[160];
    label_of(c, h, label, sizeof label);
    long base = rss_kib(), peak = base;
    if (base < 0) {
        c->a->destroy(h);
        nf_state_skip_with_error(st, "cannot read RSS from /proc/self/statm");
        return;
    }
    nf_mem_heap_ctx ctx;
    nf_mem_api api = nf_mem_heap(&ctx, c->a, h);
    nf_workload_params p = {.threads = c->threads, .seed = 42, .pin = 1};
    nf_workload_run *run = nf_workload_start(c->w, &p, &api);
    if (!run) {
        c->a->destroy(h);
        nf_state_skip_with_error(st, "cannot start the workload");
        return;
    }
    uint64_t ops = 0;
    NF_BENCH_LOOP(st)
    {
        double t0 = nf_now_s();
        ops += nf_workload_round(run, ROUND_OPS);
        nf_state_set_iteration_time(st, nf_now_s() - t0);
        long r = rss_kib();
        peak = r > peak ? r : peak;
    }
    nf_workload_result res;
    int rc = nf_workload_finish(run, &res);
    c->a->destroy(h);
    if (rc != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "workload failed: %llu damaged blocks, %llu failed mallocs",
                 (unsigned long long)res.corrupt, (unsigned long long)res.failed);
        nf_state_skip_with_error(st, msg);
        return;
    }
    nf_state_counter(st, "ops_per_s", (double)ops, NF_COUNTER_RATE);
    nf_state_counter(st, "peak_rss_kib", (double)(peak - base), NF_COUNTER_DEFAULT);
    nf_state_label(st, label);
}

void nf_register_alloc_benches(void)
{
    static const unsigned threads_default[] = {1, 2}, threads_full[] = {1, 2, 4, 8};
    const unsigned *threads = nf_benches_full() ? threads_full : threads_default;
    size_t nthreads = nf_benches_full() ? 4 : 2;
    size_t na = nf_allocator_count(), nw = sizeof bench_workloads / sizeof bench_workloads[0];
    alloc_case *cases = calloc(na * nw * nthreads, sizeof *cases); /* lives as long as the process */
    if (!cases)
        return;
    size_t k = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nw; j++)
            for (size_t t = 0; t < nthreads; t++, k++) {
                const nf_workload *w = nf_workload_find(bench_workloads[j]);
                if (!w)
                    continue;
                cases[k] = (alloc_case){nf_allocator_at(i), w, threads[t]};
                char name[128];
                snprintf(name, sizeof name, "alloc/%s/%s/threads:%u", cases[k].a->name, nf_workload_name(cases[k].w),
                         threads[t]);
                nf_bench *b = nf_bench_register(name, bench_alloc, &cases[k]);
                nf_bench_use_manual_time(b);
                nf_bench_unit(b, NF_UNIT_US);
            }
}
