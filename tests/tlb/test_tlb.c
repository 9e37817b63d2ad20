/* tests/tlb/test_tlb.c: the TLB model against theory and against a
 * brute-force reference.
 *
 *   theory     zen4, random pages: walks per access ~ 0 below the L2 reach,
 *              1 - reach/pages above it (uniform independent references:
 *              any demand policy holding C of P pages hits C/P); chase (one
 *              cycle) with LRU: ~0 below the reach, ~1 above, at L1 and L2.
 *   reference  a plain array LRU, scanned, replays the same stream with
 *              invalidations: hit for hit equal to the hash-indexed store,
 *              fully associative (list LRU) and set-associative (stamps).
 *   PLRU       skylake: ~0 below reach, rising with the working set, random
 *              near theory.
 *   invalidation, ASIDs, PWC walk references, geometry errors, presets,
 *   the evict hook (victims, invalidations, flushes reported once each).
 */
#include "../common/check.h"

#include <notfree/patterns.h>
#include <notfree/tlb.h>

#include <stdint.h>
#include <stdlib.h>

#define BASE 0x100000000000ull
#define KIB 1024ull
#define MIB (1024ull * 1024)

static nf_tlb *make(const char *preset)
{
    nf_tlb_geom g;
    char err[512];
    if (nf_tlb_preset(preset, &g, err, sizeof err) != 0) {
        fprintf(stderr, "preset %s: %s\n", preset, err);
        abort();
    }
    nf_tlb *t = nf_tlb_create(&g, err, sizeof err);
    if (!t) {
        fprintf(stderr, "create %s: %s\n", preset, err);
        abort();
    }
    return t;
}

typedef struct rates {
    double l1_miss, walk;
} rates;

/* Replays `kind` over ws bytes of 4 KiB pages: warm-up rounds, then n
 * counted accesses. */
static rates run(nf_tlb *t, nf_pattern_kind kind, uint64_t ws, uint64_t n)
{
    nf_pattern p;
    if (nf_pattern_init(&p, kind, BASE, ws, 12, 0, 7) != 0)
        abort();
    nf_tlb_flush_all(t);
    uint64_t warm = 4 * (ws >> 12) + 10000;
    for (uint64_t i = 0; i < warm; i++)
        nf_tlb_access(t, 1, nf_pattern_next(&p), NF_PG_4K);
    nf_tlb_reset_stats(t);
    for (uint64_t i = 0; i < n; i++)
        nf_tlb_access(t, 1, nf_pattern_next(&p), NF_PG_4K);
    nf_pattern_fini(&p);
    const nf_tlb_stats *s = nf_tlb_get_stats(t);
    CHECK(s->lookups == n, "lookups %llu, want %llu", (unsigned long long)s->lookups, (unsigned long long)n);
    return (rates){(double)s->misses[0] / (double)n, (double)s->walks / (double)n};
}

static void zen4_random_theory(void)
{
    nf_tlb *t = make("zen4");
    const double reach = 3072;
    const uint64_t ws[] = {1 * MIB, 8 * MIB, 11 * MIB, 16 * MIB, 32 * MIB, 64 * MIB, 256 * MIB};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
        double pages = (double)(ws[i] >> 12);
        double want = pages <= reach ? 0.0 : 1.0 - reach / pages;
        rates r = run(t, NF_PAT_RANDOM, ws[i], 400000);
        printf("  zen4 random %4llu MiB: walks/access %.4f, theory %.4f\n", (unsigned long long)(ws[i] >> 20), r.walk,
               want);
        CHECK_NEAR(r.walk, want, 0.02);
        CHECK_NEAR(r.l1_miss, 1.0 - 72.0 / pages, 0.02);
    }
    nf_tlb_destroy(t);
}

static void zen4_chase_lru(void)
{
    nf_tlb *t = make("zen4");
    /* L1: 72 entries = 288 KiB. */
    rates r = run(t, NF_PAT_CHASE, 256 * KIB, 200000);
    CHECK_NEAR(r.l1_miss, 0.0, 0.001);
    r = run(t, NF_PAT_CHASE, 296 * KIB, 200000); /* 74 pages: LRU thrashes */
    CHECK_NEAR(r.l1_miss, 1.0, 0.001);
    CHECK_NEAR(r.walk, 0.0, 0.001);
    /* L2: 3072 entries = 12 MiB, 256 sets of 12: a cycle over 11 MiB fits
     * each set (11 of 12 ways), one over 16 MiB (16 per set) thrashes. */
    r = run(t, NF_PAT_CHASE, 11 * MIB, 400000);
    printf("  zen4 chase 11 MiB: walks/access %.4f\n", r.walk);
    CHECK_NEAR(r.walk, 0.0, 0.001);
    r = run(t, NF_PAT_CHASE, 16 * MIB, 400000);
    printf("  zen4 chase 16 MiB: walks/access %.4f\n", r.walk);
    CHECK_NEAR(r.walk, 1.0, 0.001);
    r = run(t, NF_PAT_CHASE, 64 * MIB, 400000);
    CHECK_NEAR(r.walk, 1.0, 0.001);
    nf_tlb_destroy(t);
}

static void skylake_plru_sane(void)
{
    nf_tlb *t = make("skylake");
    /* L1 4K: 64 entries, 4-way PLRU, 256 KiB; STLB 1536 entries = 6 MiB. */
    rates r = run(t, NF_PAT_CHASE, 256 * KIB, 200000);
    CHECK_NEAR(r.l1_miss, 0.0, 0.001);
    r = run(t, NF_PAT_CHASE, 4 * MIB, 200000);
    CHECK_NEAR(r.walk, 0.0, 0.001);
    double prev = -1;
    const uint64_t ws[] = {5 * MIB, 7 * MIB, 12 * MIB, 48 * MIB};
    for (size_t i = 0; i < 4; i++) {
        r = run(t, NF_PAT_CHASE, ws[i], 300000);
        printf("  skylake chase %2llu MiB (PLRU): walks/access %.4f\n", (unsigned long long)(ws[i] >> 20), r.walk);
        CHECK(r.walk >= 0 && r.walk <= 1, "rate %g", r.walk);
        CHECK(r.walk >= prev - 0.02, "walk rate fell from %g to %g as the working set grew", prev, r.walk);
        prev = r.walk;
    }
    CHECK(prev > 0.9, "48 MiB chase on a 6 MiB STLB: walk rate %g", prev);
    /* Random: still C/P. */
    r = run(t, NF_PAT_RANDOM, 24 * MIB, 400000);
    CHECK_NEAR(r.walk, 1.0 - 1536.0 / 6144.0, 0.02);
    nf_tlb_destroy(t);
}

/* ---- a brute-force reference: arrays scanned, true LRU ---- */

typedef struct ref_lru {
    uint32_t sets, ways;
    uint64_t *tag, *stamp, clock;
} ref_lru;

static int ref_access(ref_lru *r, uint64_t tag, uint64_t vpn)
{
    uint32_t set = (uint32_t)(vpn % r->sets);
    uint64_t *tg = r->tag + (size_t)set * r->ways, *st = r->stamp + (size_t)set * r->ways;
    for (uint32_t w = 0; w < r->ways; w++)
        if (st[w] && tg[w] == tag) {
            st[w] = ++r->clock;
            return 1;
        }
    uint32_t v = 0;
    for (uint32_t w = 1; w < r->ways; w++)
        if (st[w] < st[v])
            v = w;
    tg[v] = tag;
    st[v] = ++r->clock;
    return 0;
}

static void ref_drop(ref_lru *r, uint64_t tag, uint64_t vpn)
{
    uint32_t set = (uint32_t)(vpn % r->sets);
    for (uint32_t w = 0; w < r->ways; w++)
        if (r->stamp[set * r->ways + w] && r->tag[set * r->ways + w] == tag)
            r->stamp[set * r->ways + w] = 0;
}

static void against_reference(uint32_t entries, uint32_t ways)
{
    nf_tlb_geom g = {.name = "ref", .nlevels = 1, .asid = true};
    g.level[0].narrays = 1;
    g.level[0].array[0] = (nf_tlb_array_geom){entries, ways, NF_PGBIT(NF_PG_4K), NF_REPL_LRU};
    char err[256];
    nf_tlb *t = nf_tlb_create(&g, err, sizeof err);
    CHECK(t != NULL, "%s", err);
    if (!t)
        return;
    ref_lru r = {.ways = ways ? ways : entries};
    r.sets = entries / r.ways;
    r.tag = calloc(entries, sizeof *r.tag);
    r.stamp = calloc(entries, sizeof *r.stamp);
    uint64_t rng = 12345, mismatches = 0;
    for (int i = 0; i < 300000; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t vpn = 0x4000 + (rng >> 33) % (entries * 2u);
        uint16_t asid = (uint16_t)(1 + ((rng >> 20) & 1));
        uint64_t tag = vpn << 16 | asid;
        if (((rng >> 24) & 31) == 0) { /* an INVLPG now and then */
            nf_tlb_invalidate_page(t, asid, vpn << 12);
            ref_drop(&r, tag, vpn);
            continue;
        }
        int want = ref_access(&r, tag, vpn);
        int got = nf_tlb_access(t, asid, vpn << 12, NF_PG_4K) == NF_TLB_L1;
        mismatches += want != got;
    }
    CHECK(mismatches == 0, "%u entries %u-way: %llu accesses differ from the reference LRU", entries, ways,
          (unsigned long long)mismatches);
    CHECK(nf_tlb_occupancy(t, 0) <= entries, "occupancy %u", nf_tlb_occupancy(t, 0));
    free(r.tag);
    free(r.stamp);
    nf_tlb_destroy(t);
}

static void lru_matches_reference(void)
{
    against_reference(72, 0); /* fully associative: list LRU */
    against_reference(64, 4); /* 16 sets of 4: stamps */
    against_reference(3072, 12);
    against_reference(8, 0);   /* small fully associative: stamps */
    against_reference(24, 6);  /* 4 sets */
    against_reference(96, 32); /* 3 sets: not a power of two */
}

static void invalidation(void)
{
    nf_tlb *t = make("zen4");
    uint64_t va = BASE + 5 * 4096 + 100;
    CHECK(nf_tlb_access(t, 1, va, NF_PG_4K) == NF_TLB_MISS, "cold");
    CHECK(nf_tlb_lookup(t, 1, va >> 12, NF_PG_4K) == NF_TLB_L1, "after insert");
    CHECK(nf_tlb_lookup(t, 2, va >> 12, NF_PG_4K) == NF_TLB_MISS, "other ASID must miss");
    nf_tlb_invalidate_page(t, 1, va);
    CHECK(nf_tlb_lookup(t, 1, va >> 12, NF_PG_4K) == NF_TLB_MISS, "after invalidate_page");
    CHECK(nf_tlb_occupancy(t, 0) == 0 && nf_tlb_occupancy(t, 1) == 0, "levels %u %u", nf_tlb_occupancy(t, 0),
          nf_tlb_occupancy(t, 1));

    /* A 2M entry is dropped by INVLPG of any address inside it. */
    uint64_t huge = BASE + (64ull << 21);
    nf_tlb_access(t, 1, huge, NF_PG_2M);
    nf_page_size sz = NF_PG_4K;
    CHECK(nf_tlb_lookup_va(t, 1, huge + 12345, &sz) == NF_TLB_L1 && sz == NF_PG_2M, "2M hit by address");
    nf_tlb_invalidate_page(t, 1, huge + 7 * 4096);
    CHECK(nf_tlb_lookup_va(t, 1, huge, NULL) == NF_TLB_MISS, "2M entry gone");

    /* ASIDs: drop one address space, keep the other. */
    for (int i = 0; i < 32; i++) {
        nf_tlb_access(t, 1, BASE + (uint64_t)i * 4096, NF_PG_4K);
        nf_tlb_access(t, 2, BASE + (uint64_t)i * 4096, NF_PG_4K);
    }
    nf_tlb_invalidate_asid(t, 1);
    int hits1 = 0, hits2 = 0;
    for (int i = 0; i < 32; i++) {
        hits1 += nf_tlb_lookup(t, 1, (uint64_t)(BASE >> 12) + (uint64_t)i, NF_PG_4K) != NF_TLB_MISS;
        hits2 += nf_tlb_lookup(t, 2, (uint64_t)(BASE >> 12) + (uint64_t)i, NF_PG_4K) != NF_TLB_MISS;
    }
    CHECK(hits1 == 0 && hits2 == 32, "asid 1 hits %d (want 0), asid 2 hits %d (want 32)", hits1, hits2);

    /* A range: pages 8..15 of asid 2 go, the rest stay (both ways of doing it). */
    nf_tlb_invalidate_range(t, 2, BASE + 8 * 4096, 8 * 4096);
    int left = 0;
    for (int i = 0; i < 32; i++)
        left += nf_tlb_lookup(t, 2, (uint64_t)(BASE >> 12) + (uint64_t)i, NF_PG_4K) != NF_TLB_MISS;
    CHECK(left == 24, "after a small range: %d left, want 24", left);
    nf_tlb_invalidate_range(t, 2, BASE + 16 * 4096, 1ull << 30); /* the scan path */
    left = 0;
    for (int i = 0; i < 32; i++)
        left += nf_tlb_lookup(t, 2, (uint64_t)(BASE >> 12) + (uint64_t)i, NF_PG_4K) != NF_TLB_MISS;
    CHECK(left == 8, "after a large range: %d left, want 8", left);

    nf_tlb_flush_all(t);
    CHECK(nf_tlb_occupancy(t, 0) == 0 && nf_tlb_occupancy(t, 1) == 0, "flush_all leaves entries");
    nf_tlb_destroy(t);

    /* Without ASIDs a switch flushes; with them it does not. */
    nf_tlb_geom g;
    char err[256];
    nf_tlb_preset("zen4", &g, err, sizeof err);
    g.asid = false;
    t = nf_tlb_create(&g, err, sizeof err);
    nf_tlb_access(t, 1, BASE, NF_PG_4K);
    nf_tlb_switch(t, 2);
    CHECK(nf_tlb_occupancy(t, 0) == 0, "switch without ASIDs must flush");
    CHECK(nf_tlb_get_stats(t)->flushes == 1, "flushes %llu", (unsigned long long)nf_tlb_get_stats(t)->flushes);
    nf_tlb_destroy(t);
    t = make("zen4");
    nf_tlb_access(t, 1, BASE, NF_PG_4K);
    nf_tlb_switch(t, 2);
    CHECK(nf_tlb_occupancy(t, 0) == 1, "switch with ASIDs must keep entries");
    nf_tlb_destroy(t);
}

static void walk_refs(void)
{
    nf_tlb *t = make("zen4"); /* PWC: 16 PML4E, 16 PDPTE, 64 PDE */
    CHECK(nf_tlb_walk(t, 1, BASE, NF_PG_4K) == 4, "cold walk reads 4 levels");
    CHECK(nf_tlb_walk(t, 1, BASE + 4096, NF_PG_4K) == 1, "same 2 MiB: PDE cached, 1 read");
    CHECK(nf_tlb_walk(t, 1, BASE + (1ull << 21), NF_PG_4K) == 2, "same 1 GiB: PDPTE cached, 2 reads");
    CHECK(nf_tlb_walk(t, 1, BASE + (1ull << 30), NF_PG_4K) == 3, "same 512 GiB: PML4E cached, 3 reads");
    CHECK(nf_tlb_walk(t, 1, BASE + (4ull << 30), NF_PG_2M) == 2, "2M leaf under a cached PML4E: 2 reads");
    CHECK(nf_tlb_walk(t, 2, BASE, NF_PG_4K) == 4, "another ASID shares no PWC entry");
    const nf_tlb_stats *s = nf_tlb_get_stats(t);
    CHECK(s->walks == 6 && s->walk_refs == 16 && s->pwc_hits == 4, "walks %llu refs %llu pwc hits %llu",
          (unsigned long long)s->walks, (unsigned long long)s->walk_refs, (unsigned long long)s->pwc_hits);
    nf_tlb_invalidate_page(t, 1, BASE);
    CHECK(nf_tlb_walk(t, 1, BASE, NF_PG_4K) == 4, "INVLPG drops the PWC entries on the path");
    nf_tlb_destroy(t);
}

static void geometry_errors(void)
{
    char err[256];
    nf_tlb_geom g = {.name = "bad", .nlevels = 1};
    g.level[0].narrays = 1;
    g.level[0].array[0] = (nf_tlb_array_geom){64, 5, NF_PGBIT(NF_PG_4K), NF_REPL_LRU};
    CHECK(nf_tlb_create(&g, err, sizeof err) == NULL && strstr(err, "whole number"), "64 entries 5-way: %s", err);
    g.level[0].array[0] = (nf_tlb_array_geom){4, 8, NF_PGBIT(NF_PG_4K), NF_REPL_LRU};
    CHECK(nf_tlb_geom_check(&g, err, sizeof err) != 0 && strstr(err, "ways"), "8 ways of 4: %s", err);
    g.level[0].array[0] = (nf_tlb_array_geom){0, 0, NF_PGBIT(NF_PG_4K), NF_REPL_LRU};
    CHECK(nf_tlb_geom_check(&g, err, sizeof err) != 0, "0 entries accepted");
    g.level[0].array[0] = (nf_tlb_array_geom){64, 4, NF_PGBIT(NF_PG_2M), NF_REPL_LRU};
    CHECK(nf_tlb_geom_check(&g, err, sizeof err) != 0 && strstr(err, "4K"), "L1 without 4K: %s", err);
    g.level[0].narrays = 2;
    g.level[0].array[0] = (nf_tlb_array_geom){64, 4, NF_PGBIT(NF_PG_4K), NF_REPL_LRU};
    g.level[0].array[1] = (nf_tlb_array_geom){32, 4, NF_PGBIT(NF_PG_4K) | NF_PGBIT(NF_PG_2M), NF_REPL_LRU};
    CHECK(nf_tlb_geom_check(&g, err, sizeof err) != 0 && strstr(err, "same page size"), "overlap: %s", err);
    g.level[0].narrays = 1;
    g.nlevels = 3;
    CHECK(nf_tlb_geom_check(&g, err, sizeof err) != 0, "3 levels accepted");
    g.nlevels = 1;
    CHECK(nf_tlb_geom_check(&g, err, sizeof err) == 0, "a good geometry refused: %s", err);
}

static void presets(void)
{
    const char *const *names = nf_tlb_preset_names();
    int n = 0;
    for (; names[n]; n++) {
        nf_tlb_geom g;
        char err[512] = "";
        int rc = nf_tlb_preset(names[n], &g, err, sizeof err);
        if (!strcmp(names[n], "host")) {
            CHECK(rc == 0 || err[0], "host failed without a message");
            if (rc != 0)
                printf("  host preset unavailable here: %s\n", err);
            continue;
        }
        CHECK(rc == 0, "%s: %s", names[n], err);
        CHECK(nf_tlb_geom_check(&g, err, sizeof err) == 0, "%s: %s", names[n], err);
        CHECK(g.source[0] != 0, "%s has no source", names[n]);
    }
    CHECK(n == 5, "%d presets", n);
    nf_tlb_geom g;
    char err[256];
    nf_tlb_preset("zen4", &g, err, sizeof err);
    CHECK(nf_tlb_geom_reach(&g, 0, NF_PG_4K) == 288 * KIB, "zen4 L1 reach");
    CHECK(nf_tlb_geom_reach(&g, 1, NF_PG_4K) == 12 * MIB, "zen4 L2 reach");
    nf_tlb_preset("skylake", &g, err, sizeof err);
    CHECK(nf_tlb_geom_entries(&g, 0, NF_PG_2M) == 32 && nf_tlb_geom_entries(&g, 1, NF_PG_1G) == 16, "skylake");
    CHECK(nf_tlb_preset("pentium", &g, err, sizeof err) != 0 && strstr(err, "unknown preset"), "%s", err);
}

static void patterns(void)
{
    nf_pattern p;
    /* chase: every page once per round, lines inside their page. */
    CHECK(nf_pattern_init(&p, NF_PAT_CHASE, BASE, 1000 * 4096, 12, 0, 3) == 0, "init");
    char *seen = calloc(1000, 1);
    for (int i = 0; i < 1000; i++) {
        uint64_t a = nf_pattern_next(&p);
        CHECK(a >= BASE && a < BASE + 1000 * 4096 && (a & 63) == 0, "address %llx", (unsigned long long)a);
        seen[(a - BASE) >> 12]++;
    }
    int once = 0;
    for (int i = 0; i < 1000; i++)
        once += seen[i] == 1;
    CHECK(once == 1000, "chase visited %d of 1000 pages exactly once", once);
    nf_pattern_fini(&p);
    /* stride 16 over 40 pages: every page once per round too. */
    memset(seen, 0, 1000);
    nf_pattern_init(&p, NF_PAT_STRIDE, BASE, 40 * 4096, 12, 16, 3);
    for (int i = 0; i < 40; i++)
        seen[(nf_pattern_next(&p) - BASE) >> 12]++;
    once = 0;
    for (int i = 0; i < 40; i++)
        once += seen[i] == 1;
    CHECK(once == 40, "stride visited %d of 40 pages once", once);
    nf_pattern_fini(&p);
    /* Same seed, same stream. */
    nf_pattern q;
    nf_pattern_init(&p, NF_PAT_RANDOM, BASE, 64 * MIB, 12, 0, 9);
    nf_pattern_init(&q, NF_PAT_RANDOM, BASE, 64 * MIB, 12, 0, 9);
    int same = 1;
    for (int i = 0; i < 1000; i++)
        same &= nf_pattern_next(&p) == nf_pattern_next(&q);
    CHECK(same, "the same seed gave two streams");
    nf_pattern_kind k;
    CHECK(nf_pattern_parse("chase", &k) == 0 && k == NF_PAT_CHASE && nf_pattern_parse("zigzag", &k) != 0, "parse");
    free(seen);
}

/* The evict hook: every entry that leaves a level is reported once, with
 * its level, asid, vpn and size: LRU victims, invalidations, flushes. */
typedef struct evlog {
    int n[NF_TLB_MAX_LEVELS];
    uint64_t last_vpn[NF_TLB_MAX_LEVELS];
    uint16_t last_asid;
    nf_page_size last_sz;
} evlog;

static void on_evict(void *arg, int level, uint16_t asid, uint64_t vpn, nf_page_size sz)
{
    evlog *e = arg;
    e->n[level]++;
    e->last_vpn[level] = vpn;
    e->last_asid = asid;
    e->last_sz = sz;
}

static void evict_hook(void)
{
    nf_tlb *t = make("zen4"); /* L1 72 fully associative LRU, L2 3072 12-way LRU */
    evlog e = {{0}, {0}, 0, NF_PG_4K};
    nf_tlb_set_evict_hook(t, on_evict, &e);
    uint64_t base = BASE >> 12;
    for (uint64_t i = 0; i < 72; i++)
        nf_tlb_access(t, 3, (base + i) << 12, NF_PG_4K);
    CHECK(e.n[0] == 0 && e.n[1] == 0, "no eviction while L1 fills: %d %d", e.n[0], e.n[1]);
    nf_tlb_access(t, 3, base << 12, NF_PG_4K);        /* page 0 becomes most recent */
    nf_tlb_access(t, 3, (base + 72) << 12, NF_PG_4K); /* evicts the LRU: page 1 */
    CHECK(e.n[0] == 1 && e.last_vpn[0] == base + 1 && e.last_asid == 3 && e.last_sz == NF_PG_4K,
          "L1 victim reported: n %d vpn %llx", e.n[0], (unsigned long long)(e.last_vpn[0] - base));
    nf_tlb_invalidate_page(t, 3, (base + 5) << 12);
    CHECK(e.n[0] == 2 && e.last_vpn[0] == base + 5 && e.n[1] == 1 && e.last_vpn[1] == base + 5,
          "invalidation reported at both levels: %d %d", e.n[0], e.n[1]);
    uint32_t held0 = nf_tlb_occupancy(t, 0), held1 = nf_tlb_occupancy(t, 1);
    nf_tlb_flush_all(t);
    CHECK(e.n[0] == 2 + (int)held0 && e.n[1] == 1 + (int)held1, "flush reports every entry: %d/%u %d/%u", e.n[0], held0,
          e.n[1], held1);
    nf_tlb_set_evict_hook(t, NULL, NULL);
    for (uint64_t i = 0; i < 200; i++)
        nf_tlb_access(t, 3, (base + i) << 12, NF_PG_4K);
    CHECK(e.n[0] == 2 + (int)held0, "no reports without a hook");
    nf_tlb_destroy(t);
}

int main(void)
{
    TEST(presets);
    TEST(geometry_errors);
    TEST(patterns);
    TEST(invalidation);
    TEST(evict_hook);
    TEST(walk_refs);
    TEST(lru_matches_reference);
    TEST(zen4_random_theory);
    TEST(zen4_chase_lru);
    TEST(skylake_plru_sane);
    return check_done();
}
