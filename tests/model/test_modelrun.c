/* test_modelrun.c: allocators on the model (modelrun/), against the real
 * kernel.
 *
 * Fidelity: for bins, slab and shard on two workloads, the model's page
 * faults equal the kernel's minor faults for the same workload, allocator,
 * operations and seed run natively (on the real page source, in a child
 * that runs only the workload) within 5%, and the model's peak RSS the
 * native peak RSS growth (VmHWM) within 10%.
 *   What the native child counts that the model does not see: the worker
 *   thread's stack and TLS, the workload's bookkeeping in the process's
 *   own malloc, the code pages the child runs for the first time and COW
 *   copies of the parent's pages it writes. These do not depend on the
 *   number of operations, so a run with zero operations measures them:
 *   fixed = native(0) - model(0), the native count of the zero-operation
 *   run less what the model saw of it (the heap's creation, the workload's
 *   setup and cleanup). The check is model(N) against native(N) - fixed.
 * Equal streams: two presets give the same faults, RSS, page-table pages
 * and page calls (the children get the same reservation address).
 * Needs ASAN_OPTIONS=allow_user_segv_handler=1 under AddressSanitizer;
 * the fidelity figures are skipped there (ASan's shadow memory faults
 * natively and not on the model). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notfree/modelrun.h"
#include "../common/check.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static nf_modelrun_workload client_of(const char *wl, uint64_t ops)
{
    nf_modelrun_workload c = {.w = nf_workload_find(wl), .params = {.threads = 1, .seed = 7}, .ops = ops};
    return c;
}

static void model_run(const nf_allocator *A, const char *wl, uint64_t ops, const char *preset, nf_modelrun_figures *f)
{
    nf_modelrun_config cfg = {.alloc = A};
    nf_modelrun_workload c = client_of(wl, ops);
    char err[512];
    const char *pre[] = {preset};
    REQUIREF(nf_modelrun_presets(&cfg, pre, 1, nf_modelrun_workload_client, &c, f, err, sizeof err) == 0,
             "%s on %s, model: %s", A->name, wl, err);
}

static void native_run(const nf_allocator *A, const char *wl, uint64_t ops, nf_modelrun_native *n)
{
    nf_modelrun_config cfg = {.alloc = A};
    nf_modelrun_workload c = client_of(wl, ops);
    char err[512];
    REQUIREF(nf_modelrun_native_run(&cfg, nf_modelrun_workload_client, &c, n, err, sizeof err) == 0,
             "%s on %s, native: %s", A->name, wl, err);
}

static double rel(double got, double want) { return want ? (got - want) / want : got; }

static void fidelity_one(const char *alloc, const char *wl, uint64_t ops)
{
    const nf_allocator *A = nf_allocator_find(alloc);
    REQUIREF(A != NULL, "allocator %s", alloc);
    nf_modelrun_figures m0, mn;
    nf_modelrun_native n0, nn;
    model_run(A, wl, 0, "zen4", &m0);
    model_run(A, wl, ops, "zen4", &mn);
    native_run(A, wl, 0, &n0);
    native_run(A, wl, ops, &nn);
    CHECK(mn.ops == nn.ops && mn.ops > 0, "%s %s: the same operations (%lld, %lld)", alloc, wl, (long long)mn.ops,
          (long long)nn.ops);
    double fixed = (double)n0.minflt - (double)m0.minor_faults;
    double native = (double)nn.minflt - fixed;
    double model = (double)mn.minor_faults;
    double fixed_kib = (double)n0.hwm_kib - 4.0 * (double)m0.rss_peak;
    double native_kib = (double)nn.hwm_kib - fixed_kib;
    double model_kib = 4.0 * (double)mn.rss_peak;
    printf("%-6s %-12s ops %6llu: faults model %7.0f native %7.0f (raw %llu, fixed %.0f) %+6.2f%%; "
           "peak RSS model %7.0f KiB native %7.0f KiB (raw %llu, fixed %.0f) %+6.2f%%\n",
           alloc, wl, (unsigned long long)ops, model, native, (unsigned long long)nn.minflt, fixed,
           100 * rel(model, native), model_kib, native_kib, (unsigned long long)nn.hwm_kib, fixed_kib,
           100 * rel(model_kib, native_kib));
    if (UNDER_ASAN) {
        printf("  (fidelity figures not checked under AddressSanitizer: its shadow memory faults natively)\n");
        return;
    }
    CHECK(model > 100, "%s %s: enough faults to compare (%.0f)", alloc, wl, model);
    CHECK(rel(model, native) <= 0.05 && rel(model, native) >= -0.05, "%s %s: faults model %.0f, native %.0f", alloc, wl,
          model, native);
    if (nn.hwm_kib == 0) {
        printf("  peak RSS unavailable natively (/proc/self/clear_refs not writable)\n");
        return;
    }
    if (mn.rss_final >= mn.rss_peak) {
        CHECK(rel(model_kib, native_kib) <= 0.10 && rel(model_kib, native_kib) >= -0.10,
              "%s %s: peak RSS model %.0f KiB, native %.0f KiB", alloc, wl, model_kib, native_kib);
        return;
    }
    /* Memory went back during the run (the model's final RSS is below its
     * peak). The kernel's VmHWM then misses peaks: its RSS counters are
     * per-CPU and the high-water mark is taken only at some unmaps, so a
     * longer run of the same calls can read a lower VmHWM than a shorter
     * one (bins random-mix: 1276 KiB raw at 1000 operations, 1004 KiB at
     * 2000). Native is a lower bound then, and the model's exact peak can
     * be no more than the pages it faulted. */
    printf("  memory went back mid-run: native VmHWM is a lower bound\n");
    CHECK(rel(model_kib, native_kib) >= -0.10 && model_kib <= 4.0 * model,
          "%s %s: peak RSS model %.0f KiB, native (a lower bound) %.0f KiB, faulted %.0f KiB", alloc, wl, model_kib,
          native_kib, 4.0 * model);
}

static void fidelity(void)
{
    static const char *const allocs[] = {"bins", "slab", "shard"};
    for (int a = 0; a < 3; a++) {
        fidelity_one(allocs[a], "random-mix", 4000);
        fidelity_one(allocs[a], "trim", 2000);
    }
}

/* Two presets in one call: each runs live in its own child; the streams
 * are equal, so everything but the TLB's figures is the same. bins, whose
 * decisions never read the clock: shard's purge and slab's decay follow
 * wall time, which passes faster per access under a preset that traps more. */
static void equal_streams(void)
{
    const char *pre[] = {"zen4", "skylake"};
    nf_modelrun_figures f[2];
    nf_modelrun_config cfg = {.alloc = nf_allocator_find("bins")};
    nf_modelrun_workload c = client_of("random-mix", 3000);
    char err[512];
    REQUIREF(nf_modelrun_presets(&cfg, pre, 2, nf_modelrun_workload_client, &c, f, err, sizeof err) == 0, "%s", err);
    CHECK_STR(f[0].preset, "zen4");
    CHECK_STR(f[1].preset, "skylake");
    CHECK(f[0].ops == f[1].ops && f[0].minor_faults == f[1].minor_faults && f[0].rss_peak == f[1].rss_peak &&
              f[0].rss_final == f[1].rss_final && f[0].pt_pages_peak == f[1].pt_pages_peak &&
              f[0].vsz_peak == f[1].vsz_peak && f[0].vmas_peak == f[1].vmas_peak,
          "same stream: faults %llu/%llu, RSS peak %llu/%llu, PT %llu/%llu", (unsigned long long)f[0].minor_faults,
          (unsigned long long)f[1].minor_faults, (unsigned long long)f[0].rss_peak, (unsigned long long)f[1].rss_peak,
          (unsigned long long)f[0].pt_pages_peak, (unsigned long long)f[1].pt_pages_peak);
    CHECK(!memcmp(f[0].page_calls, f[1].page_calls, sizeof f[0].page_calls), "same page calls");
    /* zen4's L1 holds 72 entries, skylake's 64 (+32 2M): more L1 misses */
    CHECK(f[0].walks > 0 && f[1].walks > 0 && f[0].l1_misses != f[1].l1_misses,
          "the TLBs differ: L1 misses %llu (zen4), %llu (skylake)", (unsigned long long)f[0].l1_misses,
          (unsigned long long)f[1].l1_misses);
    /* every fault is a trap; a walk is an L1 miss that missed L2 */
    CHECK(f[0].traps >= f[0].minor_faults && f[0].walks <= f[0].l1_misses, "traps %llu, faults %llu",
          (unsigned long long)f[0].traps, (unsigned long long)f[0].minor_faults);
    CHECK(f[0].page_calls[NF_PAGE_MAP] > 0 && f[0].rss_peak >= f[0].rss_final && f[0].vsz_peak >= f[0].rss_peak,
          "peaks bound the finals");
}

static int64_t failing_client(void *arg, const nf_mem_api *mem)
{
    (void)arg;
    void *p = mem->malloc(mem->ctx, 100);
    memset(p, 1, 100);
    mem->free(mem->ctx, p);
    return -1;
}

/* A failing client and the system allocator are refused with a reason. */
static void refusals(void)
{
    nf_modelrun_config cfg = {.alloc = nf_allocator_find("bins")};
    const char *pre[] = {"zen4"};
    nf_modelrun_figures f;
    char err[512] = "";
    CHECK(nf_modelrun_presets(&cfg, pre, 1, failing_client, NULL, &f, err, sizeof err) == -1 &&
              strstr(err, "client failed"),
          "failing client: %s", err);
    cfg.alloc = nf_allocator_find("system");
    CHECK(nf_modelrun_refuse(cfg.alloc) != NULL, "system refused");
    CHECK(nf_modelrun_presets(&cfg, pre, 1, failing_client, NULL, &f, err, sizeof err) == -1 &&
              strstr(err, "page source"),
          "system: %s", err);
    cfg.alloc = nf_allocator_find("bins");
    const char *bad[] = {"pentium"};
    CHECK(nf_modelrun_presets(&cfg, bad, 1, failing_client, NULL, &f, err, sizeof err) == -1 && strstr(err, "pentium"),
          "unknown preset: %s", err);
}

int main(void)
{
    TEST(fidelity);
    TEST(equal_streams);
    TEST(refusals);
    return check_done();
}
