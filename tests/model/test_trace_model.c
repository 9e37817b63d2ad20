/* test_trace_model.c: a trace replayed through an allocator on the kernel
 * model (nf_trace_client_run driven by modelrun/), the library behind
 * `notfree model --trace`. A synthetic trace (no recorder needed, so this
 * runs in sanitized builds too) with blocks of up to 3 pages, through
 * bins, slab and shard:
 *   exact     the replay on the model makes the trace's calls, kind by
 *             kind, reaches the trace's peak live bytes, returns one
 *             operation per call, and damages no block
 *   checksum  equal to the same replay natively (the allocator on the
 *             real page source) and through the process's malloc
 *   presets   zen4 and skylake, each in its own child: the model saw the
 *             blocks' pages (faults >= the pages of the peak live bytes,
 *             which were all written); for bins the same faults, RSS, VSZ,
 *             page-table pages, VMAs and page calls (the same stream).
 *             Not for shard and slab: shard purges a free page 1 s of wall
 *             time after it was left (SHARD_PURGE_DELAY_NS), slab's empty
 *             slabs and cached large maps decay by the second, and a run
 *             on the model is slower under a preset that traps more, so
 *             what they give back may differ by preset.
 * Needs ASAN_OPTIONS=allow_user_segv_handler=1 under AddressSanitizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notfree/modelrun.h"
#include "notfree/trace.h"
#include "../common/check.h"
#include "../common/synthetic_trace.h"

#define EVENTS 1500
#define MAX_SIZE 12288 /* up to 3 pages: the touch policy writes each */

static nf_trace *trace;
static nf_trace_stats stats;
static const nf_trace_replay_opts opts = {NF_TRACE_TOUCH_PAGES, 1};

static uint64_t native_checksum(const nf_allocator *A)
{
    nf_mem_heap_ctx hc;
    nf_heap *h = A ? A->create(NULL) : NULL;
    nf_mem_api mem = A ? nf_mem_heap(&hc, A, h) : nf_mem_libc;
    nf_trace_replay_result res;
    REQUIREF(!A || h, "%s: no heap", A->name);
    CHECK(nf_trace_replay_run(trace, &mem, &opts, &res) == 0, "native replay through %s failed",
          A ? A->name : "malloc");
    if (h)
        A->destroy(h);
    return res.checksum;
}

static void one_allocator(const char *name, int timeless)
{
    const nf_allocator *A = nf_allocator_find(name);
    REQUIREF(A != NULL, "allocator %s", name);
    nf_modelrun_config cfg = {.alloc = A};
    char err[512];

    /* In this process, so that the client's result is here to read. */
    nf_trace_client c = {.t = trace, .o = opts};
    nf_modelrun_figures f;
    REQUIREF(nf_modelrun_one(&cfg, "zen4", nf_trace_client_run, &c, &f, err, sizeof err) == 0, "%s: %s", name, err);
    CHECK(c.rc == 0 && c.res.corrupt == 0 && c.res.failed == 0 && c.res.misaligned == 0 && c.res.not_zeroed == 0,
          "%s: rc %d, corrupt %llu, failed %llu", name, c.rc, (unsigned long long)c.res.corrupt,
          (unsigned long long)c.res.failed);
    CHECK(!memcmp(c.res.calls, stats.calls, sizeof stats.calls), "%s: calls by kind differ from the trace's", name);
    CHECK(c.res.events == trace->nevents && f.ops == (int64_t)trace->nevents, "%s: %lld ops for %llu calls", name,
          (long long)f.ops, (unsigned long long)trace->nevents);
    CHECK(c.res.peak_live_bytes == stats.peak_live_bytes, "%s: peak live %llu, trace %llu", name,
          (unsigned long long)c.res.peak_live_bytes, (unsigned long long)stats.peak_live_bytes);
    uint64_t native = native_checksum(A), libc = native_checksum(NULL);
    CHECK(c.res.checksum != 0 && c.res.checksum == native && native == libc,
          "%s: checksum model %llx, native %llx, malloc %llx", name, (unsigned long long)c.res.checksum,
          (unsigned long long)native, (unsigned long long)libc);

    /* Two presets, each in its own child: one stream. */
    const char *pre[] = {"zen4", "skylake"};
    nf_modelrun_figures g[2];
    nf_trace_client d = {.t = trace, .o = opts};
    REQUIREF(nf_modelrun_presets(&cfg, pre, 2, nf_trace_client_run, &d, g, err, sizeof err) == 0, "%s: %s", name, err);
    CHECK(g[0].ops == g[1].ops && g[0].ops == f.ops, "%s: ops %lld, %lld", name, (long long)g[0].ops,
          (long long)g[1].ops);
    CHECK(!timeless || (g[0].minor_faults == g[1].minor_faults && g[0].rss_peak == g[1].rss_peak &&
                        g[0].rss_final == g[1].rss_final && g[0].vsz_peak == g[1].vsz_peak &&
                        g[0].pt_pages_peak == g[1].pt_pages_peak && g[0].vmas_peak == g[1].vmas_peak),
          "%s: one stream: faults %llu/%llu, RSS peak %llu/%llu, PT %llu/%llu", name,
          (unsigned long long)g[0].minor_faults, (unsigned long long)g[1].minor_faults,
          (unsigned long long)g[0].rss_peak, (unsigned long long)g[1].rss_peak, (unsigned long long)g[0].pt_pages_peak,
          (unsigned long long)g[1].pt_pages_peak);
    CHECK(!timeless || !memcmp(g[0].page_calls, g[1].page_calls, sizeof g[0].page_calls), "%s: same page calls", name);
    CHECK(g[0].page_calls[NF_PAGE_MAP] > 0, "%s: the heap mapped nothing", name);
    uint64_t live_pages = stats.peak_live_bytes / 4096;
    CHECK(g[0].minor_faults >= live_pages && g[0].rss_peak >= live_pages,
          "%s: faults %llu, RSS peak %llu pages for %llu pages of live bytes", name,
          (unsigned long long)g[0].minor_faults, (unsigned long long)g[0].rss_peak, (unsigned long long)live_pages);
    CHECK(g[0].walks > 0 && g[0].l1_misses != g[1].l1_misses, "%s: the TLBs differ: L1 misses %llu, %llu", name,
          (unsigned long long)g[0].l1_misses, (unsigned long long)g[1].l1_misses);
    printf("  %s: %llu calls, %llu faults, RSS peak %llu pages, walks %llu (zen4) %llu (skylake)\n", name,
           (unsigned long long)trace->nevents, (unsigned long long)g[0].minor_faults, (unsigned long long)g[0].rss_peak,
           (unsigned long long)g[0].walks, (unsigned long long)g[1].walks);
}

static void replay_on_model(void)
{
    one_allocator("bins", 1);
    one_allocator("slab", 0);  /* its empty slabs and large maps decay by the second */
    one_allocator("shard", 0); /* time-based purging: see the top */
}

int main(void)
{
    trace = synthetic_trace(EVENTS, MAX_SIZE);
    REQUIRE(nf_trace_stats_compute(trace, &stats) == 0);
    TEST(replay_on_model);
    nf_trace_stats_free(&stats);
    nf_trace_free(trace);
    return check_done();
}
