/* test_live.c: live mode. Unmodified code runs inside the model:
 *   a loop over an array: the model's fault and TLB counts equal those of
 *   the same work replayed explicitly (one access per page touched, the
 *   accessible set smaller than the loop, so every page visit traps);
 *   revisits: the accessible set is the L1 TLB's content: passes over a
 *   working set between the L1 and the L2 reach trap at every visit and
 *   match the replay exactly (L2 hits included); below the L1 reach, the
 *   later passes take no trap at all;
 *   bins on the model page source: malloc and free through it, with the
 *   model's RSS, VSZ and faults matching what the allocator asked for.
 * Needs ASAN_OPTIONS=allow_user_segv_handler=1 under AddressSanitizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notfree/alloc.h"
#include "notfree/model.h"
#include "notfree/pages.h"
#include "notfree/tlb.h"
#include "../common/check.h"

#define PG 4096u
enum { N = 1024, RESIDENT = 64 };

static nf_model_proc_counters pc(const nf_model_proc *p)
{
    nf_model_proc_counters c;
    nf_model_proc_counters_get(p, &c);
    return c;
}
static nf_model_counters mc(const nf_model *m)
{
    nf_model_counters c;
    nf_model_counters_get(m, &c);
    return c;
}

static nf_tlb *zen4(void)
{
    nf_tlb_geom g;
    char err[200];
    if (nf_tlb_preset("zen4", &g, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    nf_tlb *t = nf_tlb_create(&g, err, sizeof err);
    if (!t) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    return t;
}

__attribute__((noinline)) static long loop(volatile int *a, size_t n, int write)
{
    long s = 0;
    for (size_t i = 0; i < n; i++) {
        if (write)
            a[i] = (int)i;
        else
            s += a[i];
    }
    return s;
}

static void array_loop(void)
{
    nf_tlb *t1 = zen4(), *t2 = zen4();
    nf_model_config cfg = {.frames = 4 * N, .overcommit = 1, .live = 1, .tlb = t1};
    nf_model *m = nf_model_create(&cfg);
    CHECK(m != NULL, "live model");
    if (!m)
        return;
    nf_model_proc *p = nf_model_proc_create(m, "live");
    uint64_t a = nf_model_mmap(p, 0, N * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    CHECK(nf_model_live_start(m, p, RESIDENT) == 0, "live start");
    size_t ints = N * PG / sizeof(int);
    loop((int *)(uintptr_t)a, ints, 1);
    long sum = loop((int *)(uintptr_t)a, ints, 0);
    CHECK(sum == (long)ints * (long)(ints - 1) / 2, "the data is really there: %ld", sum);
    CHECK(nf_model_live_mapped(m) <= nf_tlb_geom_entries(nf_tlb_geometry(t1), 0, NF_PG_4K),
          "accessible set bounded by L1: %llu", (unsigned long long)nf_model_live_mapped(m));
    nf_model_live_stop(m);
    nf_model_counters live = mc(m);
    nf_model_proc_counters lp = pc(p);
    nf_tlb_stats ls = *nf_tlb_get_stats(t1);

    /* the same work, explicitly: one access per page visited */
    cfg.live = 0;
    cfg.tlb = t2;
    nf_model *e = nf_model_create(&cfg);
    nf_model_proc *q = nf_model_proc_create(e, "explicit");
    uint64_t b = nf_model_mmap(q, 0, N * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    nf_model_switch(q);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < N; i++)
            nf_model_access(q, b + i * PG, pass == 0);
    nf_model_counters ex = mc(e);
    nf_model_proc_counters ep = pc(q);
    const nf_tlb_stats *es = nf_tlb_get_stats(t2);

    printf("live: traps %llu, L1 hits %llu misses %llu, L2 hits %llu, walks %llu refs %llu\n",
           (unsigned long long)live.live_traps, (unsigned long long)ls.hits[0], (unsigned long long)ls.misses[0],
           (unsigned long long)ls.hits[1], (unsigned long long)live.walks, (unsigned long long)live.walk_refs);
    CHECK(live.live_traps == 2 * N, "traps %llu", (unsigned long long)live.live_traps);
    CHECK(lp.minor_faults == N && lp.minor_faults == ep.minor_faults, "minor: live %llu, explicit %llu",
          (unsigned long long)lp.minor_faults, (unsigned long long)ep.minor_faults);
    CHECK(lp.rss_pages == ep.rss_pages && lp.rss_pages == N, "rss");
    CHECK(live.walks == ex.walks && live.walk_refs == ex.walk_refs, "walks: live %llu/%llu, explicit %llu/%llu",
          (unsigned long long)live.walks, (unsigned long long)live.walk_refs, (unsigned long long)ex.walks,
          (unsigned long long)ex.walk_refs);
    CHECK(ls.lookups == es->lookups && ls.hits[0] == es->hits[0] && ls.misses[0] == es->misses[0] &&
              ls.hits[1] == es->hits[1] && ls.misses[1] == es->misses[1],
          "TLB: live L1 %llu/%llu L2 %llu/%llu, explicit L1 %llu/%llu L2 %llu/%llu", (unsigned long long)ls.hits[0],
          (unsigned long long)ls.misses[0], (unsigned long long)ls.hits[1], (unsigned long long)ls.misses[1],
          (unsigned long long)es->hits[0], (unsigned long long)es->misses[0], (unsigned long long)es->hits[1],
          (unsigned long long)es->misses[1]);
    nf_model_destroy(e);
    nf_model_destroy(m);
    nf_tlb_destroy(t1);
    nf_tlb_destroy(t2);
}

static void touch_pages(volatile int *a, size_t pages, int write, long *sum)
{
    for (size_t i = 0; i < pages * (PG / sizeof(int)); i++) {
        if (write)
            a[i] = (int)i;
        else
            *sum += a[i];
    }
}

/* `passes` passes over w pages (write, read, write, ...) live and
 * replayed; the live TLB's stats and model counters out. */
static void revisit_run(size_t w, int passes, nf_tlb_stats *ls, nf_tlb_stats *es, nf_model_counters *lc,
                        nf_model_counters *ec, uint64_t *mapped, uint32_t *l1_held)
{
    nf_tlb *t1 = zen4(), *t2 = zen4();
    nf_model_config cfg = {.frames = 4 * w + 64, .overcommit = 1, .live = 1, .tlb = t1};
    nf_model *m = nf_model_create(&cfg);
    CHECK(m != NULL, "live model");
    if (!m)
        exit(1);
    nf_model_proc *p = nf_model_proc_create(m, "live");
    uint64_t a = nf_model_mmap(p, 0, w * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    CHECK(nf_model_live_start(m, p, 0) == 0, "live start");
    long sum = 0;
    for (int pass = 0; pass < passes; pass++)
        touch_pages((int *)(uintptr_t)a, w, pass % 2 == 0, &sum);
    *mapped = nf_model_live_mapped(m);
    *l1_held = nf_tlb_occupancy(t1, 0);
    nf_model_live_stop(m);
    *lc = mc(m);
    *ls = *nf_tlb_get_stats(t1);
    CHECK(passes < 2 || sum == (long)(w * PG / sizeof(int)) * (long)(w * PG / sizeof(int) - 1) / 2, "data");

    cfg.live = 0;
    cfg.tlb = t2;
    nf_model *e = nf_model_create(&cfg);
    nf_model_proc *q = nf_model_proc_create(e, "explicit");
    uint64_t b = nf_model_mmap(q, 0, w * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    nf_model_switch(q);
    for (int pass = 0; pass < passes; pass++)
        for (size_t i = 0; i < w; i++)
            nf_model_access(q, b + i * PG, pass % 2 == 0);
    *ec = mc(e);
    *es = *nf_tlb_get_stats(t2);
    nf_model_destroy(e);
    nf_model_destroy(m);
    nf_tlb_destroy(t1);
    nf_tlb_destroy(t2);
}

static void live_revisits(void)
{
    /* zen4: L1 72 entries, L2 3072: 256 pages lie between the reaches */
    enum { W = 256, PASSES = 3 };
    nf_tlb_stats ls, es;
    nf_model_counters lc, ec;
    uint64_t mapped;
    uint32_t held;
    revisit_run(W, PASSES, &ls, &es, &lc, &ec, &mapped, &held);
    printf("revisits %d pages x %d: live traps %llu, L1 %llu/%llu, L2 %llu/%llu, walks %llu; "
           "explicit L1 %llu/%llu, L2 %llu/%llu, walks %llu\n",
           W, PASSES, (unsigned long long)lc.live_traps, (unsigned long long)ls.hits[0],
           (unsigned long long)ls.misses[0], (unsigned long long)ls.hits[1], (unsigned long long)ls.misses[1],
           (unsigned long long)lc.walks, (unsigned long long)es.hits[0], (unsigned long long)es.misses[0],
           (unsigned long long)es.hits[1], (unsigned long long)es.misses[1], (unsigned long long)ec.walks);
    CHECK(lc.live_traps == (uint64_t)W * PASSES, "every visit traps: %llu", (unsigned long long)lc.live_traps);
    CHECK(ls.hits[0] == es.hits[0] && ls.misses[0] == es.misses[0] && ls.hits[1] == es.hits[1] &&
              ls.misses[1] == es.misses[1],
          "TLB: live L1 %llu/%llu L2 %llu/%llu, explicit L1 %llu/%llu L2 %llu/%llu", (unsigned long long)ls.hits[0],
          (unsigned long long)ls.misses[0], (unsigned long long)ls.hits[1], (unsigned long long)ls.misses[1],
          (unsigned long long)es.hits[0], (unsigned long long)es.misses[0], (unsigned long long)es.hits[1],
          (unsigned long long)es.misses[1]);
    CHECK(es.hits[1] == (uint64_t)W * (PASSES - 1), "the later passes hit L2: %llu", (unsigned long long)es.hits[1]);
    CHECK(lc.walks == ec.walks && lc.walk_refs == ec.walk_refs && lc.minor_faults == ec.minor_faults,
          "walks %llu/%llu refs %llu/%llu minor %llu/%llu", (unsigned long long)lc.walks, (unsigned long long)ec.walks,
          (unsigned long long)lc.walk_refs, (unsigned long long)ec.walk_refs, (unsigned long long)lc.minor_faults,
          (unsigned long long)ec.minor_faults);
    CHECK(mapped == held && held == 72, "accessible pages %llu = L1 entries %u = 72", (unsigned long long)mapped, held);

    /* below the L1 reach: the pages stay accessible, later passes do not trap */
    enum { S = 32 };
    revisit_run(S, PASSES, &ls, &es, &lc, &ec, &mapped, &held);
    CHECK(lc.live_traps == S, "only the first pass traps: %llu", (unsigned long long)lc.live_traps);
    CHECK(ls.misses[0] == S && ls.hits[0] == 0 && es.hits[0] == (uint64_t)S * (PASSES - 1),
          "L1: live sees the misses only (%llu/%llu), the replay hits %llu", (unsigned long long)ls.hits[0],
          (unsigned long long)ls.misses[0], (unsigned long long)es.hits[0]);
    CHECK(mapped == S && held == S, "accessible %llu, L1 %u", (unsigned long long)mapped, held);
}

/* fork in live mode: the child's real stores are COW faults of the
 * model; switching back (the CR3 load) shows the parent its own data. */
static void live_fork_switch(void)
{
    enum { P = 64 };
    nf_model_config cfg = {.frames = 1024, .overcommit = 1, .live = 1};
    nf_model *m = nf_model_create(&cfg);
    nf_model_proc *p = nf_model_proc_create(m, "parent");
    uint64_t a = nf_model_mmap(p, 0, P * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    nf_model_live_start(m, p, 0);
    volatile int *x = (int *)(uintptr_t)a;
    for (int i = 0; i < P; i++)
        x[(size_t)i * (PG / sizeof(int))] = i;
    nf_model_proc *c = nf_model_fork(p);
    nf_model_switch(c);
    for (int i = 0; i < P / 2; i++)
        x[(size_t)i * (PG / sizeof(int))] = 1000 + i;
    CHECK(pc(c).cow_faults == P / 2, "child COW faults %llu", (unsigned long long)pc(c).cow_faults);
    int ok = 1;
    for (int i = 0; i < P; i++)
        ok &= x[(size_t)i * (PG / sizeof(int))] == (i < P / 2 ? 1000 + i : i);
    nf_model_switch(p);
    for (int i = 0; i < P; i++)
        ok &= x[(size_t)i * (PG / sizeof(int))] == i;
    CHECK(ok, "each proc sees its own pages at the same real addresses");
    CHECK(mc(m).switches >= 2, "switches");
    nf_model_live_stop(m);
    nf_model_destroy(m);
}

/* Every allocator of ours (all but "system") on the model page source. */
static void allocator_on_model(const nf_allocator *A)
{
    printf("allocator %s on the model\n", A->name);
    nf_model_config cfg = {.frames = 16384, .overcommit = 1, .live = 1};
    nf_model *m = nf_model_create(&cfg);
    nf_model_proc *p = nf_model_proc_create(m, "bins");
    nf_model_live_start(m, p, 4096);
    nf_pages ps;
    nf_model_pages_init(&ps, p);
    nf_heap *h = A->create(&ps);
    CHECK(h != NULL, "heap on the model");
    if (!h)
        return;
    enum { K = 200 };
    void *blk[K];
    size_t sizes[K], wrote = 0;
    for (int i = 0; i < K; i++) {
        sizes[i] = i % 4 == 0 ? 200000 : 64 + 37 * (size_t)i; /* some above the mmap threshold */
        blk[i] = A->malloc(h, sizes[i]);
        if (blk[i]) {
            memset(blk[i], i & 0xff, sizes[i]);
            wrote += sizes[i];
        }
    }
    int ok = 1;
    for (int i = 0; i < K; i++) {
        const unsigned char *c = blk[i];
        ok &= c && c[0] == (i & 0xff) && c[sizes[i] - 1] == (i & 0xff);
        uint64_t va = (uintptr_t)blk[i];
        ok &= va >= nf_model_va_base(m) && va < nf_model_va_base(m) + nf_model_va_size(m);
    }
    CHECK(ok, "blocks live in the model and keep their data");
    nf_alloc_stats st;
    A->stats(h, &st);
    nf_model_proc_counters c = pc(p);
    uint64_t mapped_pages = (st.mapped_bytes + PG - 1) / PG;
    CHECK(c.vsz_pages >= mapped_pages && c.vsz_pages <= mapped_pages + 1, "model VSZ %llu pages, allocator mapped %llu",
          (unsigned long long)c.vsz_pages, (unsigned long long)mapped_pages);
    CHECK(c.rss_pages <= c.vsz_pages && c.rss_pages * PG >= wrote, "RSS %llu pages for %zu bytes written",
          (unsigned long long)c.rss_pages, wrote);
    CHECK(c.minor_faults == c.rss_pages + c.zero_page_maps, "one fault per page first touched: %llu vs %llu + %llu",
          (unsigned long long)c.minor_faults, (unsigned long long)c.rss_pages, (unsigned long long)c.zero_page_maps);
    CHECK(ps.calls[NF_PAGE_MAP] > 0, "page source used");
    printf("%s: wrote %zu bytes, model RSS %llu pages, VSZ %llu, minor %llu\n", A->name, wrote,
           (unsigned long long)c.rss_pages, (unsigned long long)c.vsz_pages, (unsigned long long)c.minor_faults);
    uint64_t rss_full = c.rss_pages;
    for (int i = 0; i < K; i++)
        A->free(h, blk[i]);
    A->trim(h, 0);
    c = pc(p);
    CHECK(c.rss_pages < rss_full / 4, "RSS falls after free and trim: %llu -> %llu", (unsigned long long)rss_full,
          (unsigned long long)c.rss_pages);
    A->destroy(h);
    nf_model_live_stop(m);
    nf_model_destroy(m);
}

static void allocators_on_model(void)
{
    CHECK(nf_allocator_find("bins") != NULL, "bins registered");
    for (size_t i = 0; i < nf_allocator_count(); i++) {
        const nf_allocator *A = nf_allocator_at(i);
        if (strcmp(A->name, "system") != 0)
            allocator_on_model(A);
    }
}

int main(void)
{
    TEST(array_loop);
    TEST(live_revisits);
    TEST(live_fork_switch);
    TEST(allocators_on_model);
    return check_done();
}
