/* benches/model.c: the speed of the kernel model itself.
 *
 * model/replay/walk: random reads over 1 GiB of pages (262144 4 KiB
 *   pages, far beyond zen4's 3072-entry L2 TLB), each a TLB lookup that
 *   misses, a 4-level walk of the model's table (real memory: the table's
 *   frames in the pool), the PWC and walk counts, and the TLB fill. The
 *   pages are mapped read-only to the zero page first (so the bench needs
 *   page tables, about 2 MiB, not 1 GiB of frames). The accesses go
 *   through nf_model_replay, as a stream would. Counter accesses_per_s
 *   (goal >= 20 M/s), walk_fraction (should be ~1).
 * model/live/first_touch: live mode, one store to a new page per
 *   iteration: the real SIGSEGV, the model's demand-zero fault (a frame
 *   zeroed) and the mmap that maps the frame. Counter us_per_trap.
 * model/live/refill: live mode, loads cycling over 4096 present pages with
 *   64 accessible: every load traps, the model finds the page present (a
 *   TLB refill in live terms), maps it and drops the oldest. us_per_trap.
 * Source of every figure: timing of the model (model, timing).
 */
#include "registry.h"

#include "notfree/bench.h"
#include "notfree/model.h"
#include "notfree/tlb.h"

#include <stdlib.h>
#include <time.h>

#define PG 4096u
#define NF_NO_ASAN __attribute__((no_sanitize_address, noinline))

enum { WALK_STREAM = 1 << 20 };
static const uint64_t WALK_BYTES = (uint64_t)1 << 30;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static void walk_run(nf_state *st, void *user)
{
    (void)user;
    nf_tlb_geom g;
    char err[256];
    nf_tlb *t = nf_tlb_preset("zen4", &g, err, sizeof err) == 0 ? nf_tlb_create(&g, err, sizeof err) : NULL;
    uint64_t pages = WALK_BYTES / PG;
    nf_model_config cfg = {.frames = pages / 512 + 64, .overcommit = 1, .tlb = t};
    nf_model *m = t ? nf_model_create(&cfg) : NULL;
    uint64_t *refs = malloc(WALK_STREAM * sizeof *refs);
    nf_model_proc *p = m ? nf_model_proc_create(m, "walk") : NULL;
    uint64_t a = p ? nf_model_mmap(p, 0, WALK_BYTES, NF_MODEL_PROT_READ, NF_MODEL_MAP_POPULATE) : NF_MODEL_FAILED;
    if (!refs || a == NF_MODEL_FAILED) {
        nf_state_skip_with_error(st, "cannot build the model (1 GiB of zero-page mappings)");
        goto out;
    }
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < WALK_STREAM; i++)
        refs[i] = a + (rnd(&s) % pages) * PG + (rnd(&s) % 64) * 64;
    nf_model_counters c0;
    nf_model_counters_get(m, &c0);
    /* One iteration = one access, replayed in runs of the stream (the
     * replay loads the TLB sets and PTEs a few accesses ahead). */
    size_t i = 0;
    for (uint64_t n; (n = nf_state_batch(st)) != 0;)
        while (n) {
            size_t k = WALK_STREAM - i < n ? WALK_STREAM - i : (size_t)n;
            nf_model_replay(p, refs + i, k, NULL);
            i = (i + k) & (WALK_STREAM - 1);
            n -= k;
        }
    nf_model_counters c1;
    nf_model_counters_get(m, &c1);
    double n = (double)(c1.accesses - c0.accesses);
    nf_state_counter(st, "accesses_per_s", (double)nf_state_iterations(st), NF_COUNTER_RATE);
    nf_state_counter(st, "walk_fraction", n ? (double)(c1.walks - c0.walks) / n : 0, 0);
    nf_state_counter(st, "walk_refs_per_access", n ? (double)(c1.walk_refs - c0.walk_refs) / n : 0, 0);
    nf_state_label(st, "model: zen4 TLB, 1 GiB of 4 KiB pages, random reads");
out:
    free(refs);
    nf_model_destroy(m);
    nf_tlb_destroy(t);
}

NF_NO_ASAN static void store(uint64_t va) { *(volatile char *)(uintptr_t)va = 1; }
NF_NO_ASAN static char load(uint64_t va) { return *(volatile char *)(uintptr_t)va; }

enum { LIVE_PAGES = 4096, LIVE_RESIDENT = 64 };

static void live_run(nf_state *st, void *user)
{
    int refill = user != NULL;
    nf_model_config cfg = {.frames = 2 * LIVE_PAGES, .overcommit = 1, .live = 1};
    nf_model *m = nf_model_create(&cfg);
    nf_model_proc *p = m ? nf_model_proc_create(m, "live") : NULL;
    uint64_t a = p ? nf_model_mmap(p, 0, (uint64_t)LIVE_PAGES * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE,
                                   refill ? NF_MODEL_MAP_POPULATE : 0)
                   : NF_MODEL_FAILED;
    if (a == NF_MODEL_FAILED || nf_model_live_start(m, p, LIVE_RESIDENT) != 0) {
        nf_state_skip_with_error(st, "cannot start live mode");
        nf_model_destroy(m);
        return;
    }
    nf_model_counters c0, c1;
    nf_model_counters_get(m, &c0);
    size_t i = 0;
    char sink = 0;
    NF_BENCH_LOOP(st)
    {
        if (i == LIVE_PAGES) {
            i = 0;
            if (!refill) {
                nf_state_pause(st);
                nf_model_madvise(p, a, (uint64_t)LIVE_PAGES * PG, NF_MODEL_MADV_DONTNEED);
                nf_state_resume(st);
            }
        }
        if (refill)
            sink += load(a + i * PG);
        else
            store(a + i * PG);
        i++;
    }
    nf_do_not_optimize(sink);
    nf_model_counters_get(m, &c1);
    double traps = (double)(c1.live_traps - c0.live_traps);
    nf_state_counter(st, "traps_per_iteration", traps / (double)nf_state_iterations(st), 0);
    nf_state_counter(st, "us_per_trap", (double)nf_state_iterations(st) * 1e-6, NF_COUNTER_RATE | NF_COUNTER_INVERT);
    nf_state_label(st, refill ? "model live mode: SIGSEGV + model access (page present) + mmap of the frame"
                              : "model live mode: SIGSEGV + demand-zero fault + mmap of the frame");
    nf_model_live_stop(m);
    nf_model_destroy(m);
}

void nf_register_model_benches(void)
{
    nf_bench *b = nf_bench_register("model/replay/walk", walk_run, NULL);
    nf_bench_min_time(b, 0.5);
    b = nf_bench_register("model/live/first_touch", live_run, NULL);
    nf_bench_min_time(b, 0.2);
    nf_bench_unit(b, NF_UNIT_US);
    b = nf_bench_register("model/live/refill", live_run, (void *)1);
    nf_bench_min_time(b, 0.2);
    nf_bench_unit(b, NF_UNIT_US);
}
