/* benches/tlb.c: TLB reach by timing, and the TLB model's own speed.
 *
 * tlb/chase/<KiB>, tlb/chase_thp/<KiB>
 *   setup    (untimed, once per working set) mmap the working set
 *            (MADV_NOHUGEPAGE, or 2 MiB-aligned with MADV_HUGEPAGE for
 *            chase_thp), write one pointer per 4 KiB page at a random
 *            cache line of the page, the pages linked in one random cycle
 *            (Sattolo), then follow the whole cycle once (faults, warm-up).
 *   timed    one iteration = one dependent load p = *p; real time per
 *            iteration is ns per access, also given as `ns_per_access`.
 *   model    `model_tlb_miss_rate`: walks per access (L2/STLB misses) that
 *            the kernel model predicts for the same chase with the `host`
 *            preset (CPUID geometry), `model_l1_miss_rate` its L1 dTLB
 *            misses, and `model_l1_reach_kib`/`model_l2_reach_kib` the
 *            preset's reach for the page size.
 *   hardware where the box has a PMU, the timed loop is also counted:
 *            hw_<event>_per_access for cycles, instructions, dTLB load and
 *            store misses and iTLB load misses, and
 *            `hw_dtlb_load_misses_vs_model` = hw_dtlb_load_misses_per_access
 *            / model_tlb_miss_rate (left out where the model predicts no
 *            miss). dTLB-load-misses is the kernel's generic event: a
 *            page walk on Intel, an L1 dTLB miss on AMD (compare it with
 *            model_l1_miss_rate there). Without a PMU (this box) the hw_*
 *            figures are left out, the label says "no PMU" and the context
 *            lists each counter under `unavailable`. chase_thp adds
 *            `thp_confirmed` (AnonHugePages growth / region, from /proc).
 *   sizes    16 KiB to 256 MiB, 4 KiB pages in steps of x1.5 / x1.33 (16,
 *            24, 32, 48, ...), THP in powers of two; --full goes on to
 *            1 GiB. The default run of this file takes about a minute.
 *
 * model/replay/l1_hit
 *   nf_tlb_lookup of random pages among 64 (zen4 preset: 72-entry fully
 *   associative L1, LRU), all hits after warm-up: the cost of one full L1
 *   lookup with its replacement update. `accesses_per_s` (a rate).
 */
#include "registry.h"

#include "notfree/clock.h"
#include <notfree/bench.h>
#include <notfree/context.h>
#include <notfree/counters_tally.h>
#include <notfree/patterns.h>
#include <notfree/procfs.h>
#include <notfree/tlb.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096u
#define LINE 64u
#define HUGE (2u << 20)

/* ---- the chase ---- */

typedef struct chase_buf {
    void *map; /* what mmap returned */
    size_t map_len;
    char *base; /* the working set (2 MiB-aligned for THP) */
    size_t ws;
    int thp;
    void **start;
    /* the model's prediction for this working set */
    double miss_rate, l1_miss_rate, l1_reach_kib, l2_reach_kib;
    double thp_confirmed; /* THP: share of the region in huge pages (AnonHugePages); -1 unknown */
    char label[160];
} chase_buf;

static chase_buf cur; /* one working set at a time, reused across the runs of a size */

static void chase_free(void)
{
    if (cur.map)
        munmap(cur.map, cur.map_len);
    memset(&cur, 0, sizeof cur);
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* The model's walks per access for a chase over `pages` 4 KiB pages held
 * in TLB pages of size sz: two rounds to warm, then count at least one
 * round (and at least 300 000 accesses). */
static void chase_predict(chase_buf *c, const uint32_t *next, size_t pages)
{
    nf_tlb_geom g;
    char err[512];
    const char *preset = "host";
    if (nf_tlb_preset("host", &g, err, sizeof err) != 0) {
        preset = "zen4";
        nf_tlb_preset("zen4", &g, err, sizeof err);
    }
    nf_page_size sz = c->thp ? NF_PG_2M : NF_PG_4K;
    c->l1_reach_kib = (double)(nf_tlb_geom_reach(&g, 0, sz) >> 10);
    c->l2_reach_kib = (double)(nf_tlb_geom_reach(&g, 1, sz) >> 10);
    snprintf(c->label, sizeof c->label, "tlb_miss_rate: model (%s preset%s)%s", preset,
             strcmp(preset, "host") ? ", host TLBs unreadable" : "",
             nf_counters_probed_mask() & NF_CTR_BIT(NF_CTR_PERF_DTLB_LOAD_MISSES) ? "; hw_*: hardware counters"
                                                                                  : "; no PMU");
    nf_tlb *t = nf_tlb_create(&g, err, sizeof err);
    if (!t) {
        c->miss_rate = c->l1_miss_rate = -1;
        return;
    }
    uint64_t base = 0x100000000000ull;
    size_t warm = 2 * pages, count = pages < 300000 ? 300000 : pages;
    uint32_t pg = 0;
    for (size_t i = 0; i < warm + count; i++) {
        if (i == warm)
            nf_tlb_reset_stats(t);
        nf_tlb_access(t, 1, base + (uint64_t)pg * PAGE, sz);
        pg = next[pg];
    }
    const nf_tlb_stats *s = nf_tlb_get_stats(t);
    c->miss_rate = (double)s->walks / (double)count;
    c->l1_miss_rate = (double)s->misses[0] / (double)count;
    nf_tlb_destroy(t);
}

/* AnonHugePages of the whole process, KiB; -1 if unreadable. */
static long long anon_huge_kib(void) { return nf_proc_kib("/proc/self/smaps_rollup", "AnonHugePages"); }

static int chase_setup(size_t ws, int thp)
{
    if (cur.map && cur.ws == ws && cur.thp == thp)
        return 0;
    chase_free();
    long long huge_before = thp ? anon_huge_kib() : -1;
    size_t len = thp ? ((ws + HUGE - 1) / HUGE) * HUGE + HUGE : ws;
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return -1;
    cur.map = map;
    cur.map_len = len;
    cur.ws = ws;
    cur.thp = thp;
    cur.base = thp ? (char *)(((uintptr_t)map + HUGE - 1) & ~(uintptr_t)(HUGE - 1)) : map;
    madvise(cur.base, thp ? len - HUGE : len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    size_t pages = ws / PAGE;
    uint32_t *order = malloc(pages * sizeof *order), *next = malloc(pages * sizeof *next);
    uint32_t *line = malloc(pages * sizeof *line);
    if (!order || !next || !line) {
        free(order), free(next), free(line);
        chase_free();
        return -1;
    }
    uint64_t rng = 0x9E3779B97F4A7C15ull ^ ws;
    for (size_t i = 0; i < pages; i++) {
        order[i] = (uint32_t)i;
        line[i] = (uint32_t)(rnd(&rng) % (PAGE / LINE));
    }
    for (size_t i = pages - 1; i > 0; i--) { /* Sattolo: one cycle */
        size_t j = rnd(&rng) % i;
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (size_t i = 0; i < pages; i++)
        next[order[i]] = order[(i + 1) % pages];
    for (size_t pg = 0; pg < pages; pg++) {
        void **at = (void **)(cur.base + pg * PAGE + line[pg] * LINE);
        *at = cur.base + (size_t)next[pg] * PAGE + line[next[pg]] * LINE;
    }
    cur.start = (void **)(cur.base + line[0] * LINE);
    void **p = cur.start;
    for (size_t i = 0; i < pages; i++)
        p = *p;
    nf_do_not_optimize(p);
    long long huge_after = thp ? anon_huge_kib() : -1;
    cur.thp_confirmed = -1;
    if (huge_before >= 0 && huge_after >= 0) {
        double want_kib = (double)(((ws + HUGE - 1) / HUGE) * HUGE >> 10);
        double got = (double)(huge_after - huge_before) / want_kib;
        cur.thp_confirmed = got < 0 ? 0 : got > 1 ? 1 : got;
    }
    chase_predict(&cur, next, pages);
    free(order), free(next), free(line);
    return 0;
}

static void chase_run(nf_state *st, void *user)
{
    int thp = user != NULL;
    size_t ws = (size_t)nf_state_range(st, 0) << 10;
    if (chase_setup(ws, thp) != 0) {
        nf_state_skip_with_error(st, "mmap or malloc of the working set failed");
        return;
    }
    void **p = cur.start;
    nf_ctr_tally hw;
    nf_ctr_tally_open(&hw, NF_CTR_SET_BENCH_HW);
    nf_ctr_tally_start(&hw);
    double t0 = nf_now_s();
    NF_BENCH_LOOP(st) { p = *p; }
    double t1 = nf_now_s();
    nf_ctr_tally_stop(&hw);
    nf_ctr_tally_close(&hw);
    nf_do_not_optimize(p);
    int64_t n = nf_state_iterations(st);
    if (n > 0) {
        nf_state_counter(st, "ns_per_access", (t1 - t0) * 1e9 / (double)n, NF_COUNTER_DEFAULT);
        nf_ctr_tally_report_hw(st, &hw, (double)n, "access");
        /* The measured walks against the predicted ones, where both exist. */
        double hw_miss = nf_ctr_tally_per(&hw, NF_CTR_PERF_DTLB_LOAD_MISSES, (double)n);
        if (!isnan(hw_miss) && cur.miss_rate > 0)
            nf_state_counter(st, "hw_dtlb_load_misses_vs_model", hw_miss / cur.miss_rate, NF_COUNTER_DEFAULT);
    }
    if (cur.miss_rate >= 0) {
        nf_state_counter(st, "model_tlb_miss_rate", cur.miss_rate, NF_COUNTER_DEFAULT);
        nf_state_counter(st, "model_l1_miss_rate", cur.l1_miss_rate, NF_COUNTER_DEFAULT);
    }
    nf_state_counter(st, "model_l1_reach_kib", cur.l1_reach_kib, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "model_l2_reach_kib", cur.l2_reach_kib, NF_COUNTER_DEFAULT);
    if (thp && cur.thp_confirmed >= 0)
        nf_state_counter(st, "thp_confirmed", cur.thp_confirmed, NF_COUNTER_DEFAULT);
    if (thp && cur.thp_confirmed >= 0 && cur.thp_confirmed < 0.99) {
        char l[224];
        snprintf(l, sizeof l, "%s; only %.0f%% in huge pages (/proc)", cur.label, 100 * cur.thp_confirmed);
        nf_state_label(st, l);
    } else
        nf_state_label(st, cur.label);
}

/* ---- the model's speed ---- */

#define L1HIT_PAGES 64
#define L1HIT_STREAM 65536

static void l1_hit_run(nf_state *st, void *user)
{
    (void)user;
    nf_tlb_geom g;
    char err[256];
    nf_tlb_preset("zen4", &g, err, sizeof err);
    nf_tlb *t = nf_tlb_create(&g, err, sizeof err);
    uint64_t *vpn = malloc(L1HIT_STREAM * sizeof *vpn);
    if (!t || !vpn) {
        free(vpn);
        nf_tlb_destroy(t);
        nf_state_skip_with_error(st, "cannot create the TLB");
        return;
    }
    uint64_t rng = 42;
    for (size_t i = 0; i < L1HIT_STREAM; i++)
        vpn[i] = 0x100000 + rnd(&rng) % L1HIT_PAGES;
    for (uint64_t i = 0; i < L1HIT_PAGES; i++)
        nf_tlb_access(t, 1, (0x100000 + i) * PAGE, NF_PG_4K);
    nf_tlb_reset_stats(t);
    size_t i = 0;
    int hits = 0;
    NF_BENCH_LOOP(st)
    {
        hits += nf_tlb_lookup(t, 1, vpn[i], NF_PG_4K) == NF_TLB_L1;
        i = (i + 1) & (L1HIT_STREAM - 1);
    }
    nf_do_not_optimize(hits);
    const nf_tlb_stats *s = nf_tlb_get_stats(t);
    if (s->misses[0])
        nf_state_skip_with_error(st, "an L1 lookup missed: the bench measures no longer what it says");
    nf_state_counter(st, "accesses_per_s", (double)nf_state_iterations(st), NF_COUNTER_RATE);
    nf_state_label(st, "model: zen4 L1 (72 entries, fully associative, LRU), 64 pages");
    nf_tlb_destroy(t);
    free(vpn);
}

void nf_register_tlb_benches(void)
{
    nf_bench *b = nf_bench_register("model/replay/l1_hit", l1_hit_run, NULL);

    const long long max_kib = nf_benches_full() ? 1ll << 20 : 256ll << 10;
    const char *mode = nf_thp_mode();
    const char *no_thp = !mode                    ? "cannot read /sys/kernel/mm/transparent_hugepage/enabled"
                         : !strcmp(mode, "never") ? "THP is 'never' in /sys/kernel/mm/transparent_hugepage/enabled"
                                                  : NULL;
    for (int thp = 0; thp < 2; thp++) {
        const char *name = thp ? "tlb/chase_thp" : "tlb/chase";
        if (thp && no_thp) {
            nf_context_unavailable(name, no_thp);
            continue;
        }
        b = nf_bench_register(name, chase_run, thp ? (void *)1 : NULL);
        /* 16, 24, 32, 48, 64, ... KiB: x1.5 then x4/3, so a knee falls
         * between two neighbours a third apart (THP: powers of two). */
        for (long long k = 16; k <= max_kib; k *= 2) {
            nf_bench_arg(b, k);
            if (!thp && k * 2 <= max_kib)
                nf_bench_arg(b, k * 3 / 2);
        }
    }
}
