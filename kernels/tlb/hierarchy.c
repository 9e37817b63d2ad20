/* kernels/tlb/hierarchy.c: the model's TLB hierarchy and page-walk
 * caches (notfree/tlb.h): levels of stores (store.h) by page size,
 * lookups, walks through the page-walk caches, fills, invalidations,
 * flushes, ASID switches and the counts. Geometries are checked and
 * printed in geom.c.
 *
 * Fast paths. Each level keeps a mask of the page sizes it holds now
 * (`present`), so nf_tlb_lookup_va probes only those (one probe per level
 * when only 4K pages exist). A lookup that misses everywhere remembers the
 * tag (`absent`): the insert after the walk then fills without looking
 * again. The common geometry (`fast`, `fastw`: a fully associative LRU L1
 * and a set-associative LRU L2, as zen3 and zen4) has 4K paths that call
 * the store's specialised operations directly, skipping the dispatch.
 * Evictions, invalidations and flushes of the TLB levels (not the PWCs)
 * are reported to the hook, if one is set.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

/* Invariants: map[l][sz] is the store of level l that holds size sz
 * (NULL: none), one per size and level; present[l] has bit sz set iff
 * level l holds an entry of size sz (its stores keep it); absent is
 * NF_TAG_NONE or a tag no level holds; fast, fastw, fl1 and fl2 are set
 * once by nf_tlb_create; only the stores of the TLB levels are hooked. */
struct nf_tlb {
    /* hot: the per-level store for each page size, the sizes each level
     * holds now, the last full miss, and the counters */
    tlb_store *map[NF_TLB_MAX_LEVELS][NF_PG_NSIZES];
    uint8_t present[NF_TLB_MAX_LEVELS];
    int nlevels;
    bool asid_on;
    uint16_t cur_asid;
    uint64_t absent; /* a tag held by no level (NF_TAG_NONE: none known) */
    /* The common geometry (set once by nf_tlb_create): two levels, 4K pages
     * in a fully associative LRU L1 (wide, one set) and a set-associative
     * LRU L2 (narrow) apart from it. Its 4K paths skip the dispatch. */
    bool fast;
    /* fastw: fast, and all three PWCs LRU: PML4E and PDPTE narrow, PDE wide
     * with one set (zen4's 16, 16, 64). Its 4K walk is one straight path. */
    bool fastw;
    tlb_store *fl1, *fl2; /* fast: map[0][4K], map[1][4K] */
    tlb_hook hook;        /* the stores of the TLB levels report to it */
    nf_tlb_stats st;
    int nstores;
    tlb_store store[NF_TLB_MAX_LEVELS * NF_TLB_MAX_ARRAYS];
    int nstores_level[NF_TLB_MAX_LEVELS];
    int first_store_level[NF_TLB_MAX_LEVELS];
    tlb_store pwc[NF_PWC_N];
    bool pwc_on[NF_PWC_N];
    nf_tlb_geom geom;
};

nf_tlb *nf_tlb_create(const nf_tlb_geom *g, char *err, size_t cap)
{
    if (nf_tlb_geom_check(g, err, cap) != 0)
        return NULL;
    nf_tlb *t = calloc(1, sizeof *t);
    if (!t) {
        if (err && cap)
            snprintf(err, cap, "out of memory");
        return NULL;
    }
    t->geom = *g;
    t->nlevels = g->nlevels;
    t->asid_on = g->asid;
    t->absent = NF_TAG_NONE;
    for (int l = 0; l < g->nlevels; l++) {
        t->first_store_level[l] = t->nstores;
        for (int a = 0; a < g->level[l].narrays; a++) {
            const nf_tlb_array_geom *ar = &g->level[l].array[a];
            tlb_store *s = &t->store[t->nstores++];
            if (tlb_store_init(s, ar->entries, ar->ways, ar->sizes, ar->repl) != 0)
                goto oom;
            s->level = l;
            s->present = &t->present[l];
            s->hook = &t->hook;
            for (int sz = 0; sz < NF_PG_NSIZES; sz++)
                if (ar->sizes & NF_PGBIT(sz))
                    t->map[l][sz] = s;
        }
        t->nstores_level[l] = g->level[l].narrays;
    }
    t->fl1 = t->map[0][NF_PG_4K];
    t->fl2 = t->nlevels == 2 ? t->map[1][NF_PG_4K] : NULL;
    t->fast = t->fl1 && t->fl2 && t->fl1->kind == SK_WIDE_LRU && t->fl1->sets == 1 && t->fl2->kind == SK_NARROW_LRU;
    for (int p = 0; p < NF_PWC_N; p++)
        if (g->pwc_entries[p]) {
            if (tlb_store_init(&t->pwc[p], g->pwc_entries[p], 0, 0, NF_REPL_LRU) != 0)
                goto oom;
            t->pwc[p].hook = &t->hook;
            t->pwc_on[p] = true;
        }
    t->fastw = t->fast && t->pwc_on[NF_PWC_PML4E] && t->pwc_on[NF_PWC_PDPTE] && t->pwc_on[NF_PWC_PDE] &&
               t->pwc[NF_PWC_PML4E].kind == SK_NARROW_LRU && t->pwc[NF_PWC_PDPTE].kind == SK_NARROW_LRU &&
               t->pwc[NF_PWC_PDE].kind == SK_WIDE_LRU && t->pwc[NF_PWC_PDE].sets == 1;
    return t;
oom:
    if (err && cap)
        snprintf(err, cap, "out of memory for the TLB arrays");
    nf_tlb_destroy(t);
    return NULL;
}

void nf_tlb_destroy(nf_tlb *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nstores; i++)
        tlb_store_fini(&t->store[i]);
    for (int p = 0; p < NF_PWC_N; p++)
        tlb_store_fini(&t->pwc[p]);
    free(t);
}

const nf_tlb_geom *nf_tlb_geometry(const nf_tlb *t) { return &t->geom; }

void nf_tlb_set_evict_hook(nf_tlb *t, nf_tlb_evict_fn fn, void *arg)
{
    t->hook.fn = fn;
    t->hook.arg = fn ? arg : NULL;
    for (int i = 0; i < t->nstores; i++)
        t->store[i].hooked = fn != NULL;
}

static inline uint16_t eff_asid(const nf_tlb *t, uint16_t asid) { return t->asid_on ? asid : 0; }

/* L1 missed: try L2, fill L1 on a hit. Out of line: the L1-hit path stays small. */
__attribute__((noinline)) static int lookup_l2_slow(nf_tlb *t, uint64_t tag, nf_page_size sz)
{
    if (t->nlevels < 2)
        goto miss;
    tlb_store *s = t->map[1][sz];
    if (!s || !store_hit(s, tag)) {
        t->st.misses[1]++;
        goto miss;
    }
    t->st.hits[1]++;
    if (t->map[0][sz])
        store_fill(t->map[0][sz], tag); /* it just missed there */
    return NF_TLB_L2;
miss:
    t->absent = tag;
    return NF_TLB_MISS;
}

/* nf_tlb_lookup past the fast L1 hit. Out of line, so that hit path needs
 * no stack frame. */
__attribute__((noinline)) static int lookup_generic(nf_tlb *t, uint64_t tag, nf_page_size sz)
{
    tlb_store *s = t->map[0][sz];
    if (!(t->fast && sz == NF_PG_4K) && s && store_hit(s, tag)) {
        t->st.hits[0]++;
        return NF_TLB_L1;
    }
    t->st.misses[0]++;
    return lookup_l2_slow(t, tag, sz);
}

int nf_tlb_lookup(nf_tlb *t, uint16_t asid, uint64_t vpn, nf_page_size sz)
{
    uint64_t tag = make_tag(vpn, eff_asid(t, asid), (unsigned)sz);
    if (t->fast && sz == NF_PG_4K && __builtin_expect(hit_wide_lru(t->fl1, tag, true), 1)) {
        t->st.hits[0]++;
        return NF_TLB_L1;
    }
    return lookup_generic(t, tag, sz);
}

/* One level of nf_tlb_lookup_va: probes only the sizes the level holds. */
static inline int lookup_va_level(nf_tlb *t, int l, uint16_t a, uint64_t vaddr, nf_page_size *sz_out)
{
    unsigned mask = t->present[l];
    while (mask) {
        unsigned sz = (unsigned)__builtin_ctz(mask);
        mask &= mask - 1;
        tlb_store *s = t->map[l][sz];
        uint64_t tag = make_tag(vaddr >> nf_page_shift((nf_page_size)sz), a, sz);
        if (!(l == 0 ? store_hit(s, tag) : store_hit(s, tag)))
            continue;
        t->st.hits[l]++;
        if (l == 1 && t->map[0][sz])
            store_fill(t->map[0][sz], tag); /* L1 holds no size of vaddr */
        if (sz_out)
            *sz_out = (nf_page_size)sz;
        return l;
    }
    t->st.misses[l]++;
    return NF_TLB_MISS;
}

/* The L1 miss of the fast lookup_va: L2, then a full miss. */
__attribute__((noinline)) static int lookup_va_l2_fast(nf_tlb *t, uint64_t tag, nf_page_size *sz_out)
{
    t->st.misses[0]++;
    if (hit_narrow_lru(t->fl2, tag)) {
        t->st.hits[1]++;
        fill_wide_lru(t->fl1, tag, true);
        if (sz_out)
            *sz_out = NF_PG_4K;
        return NF_TLB_L2;
    }
    t->st.misses[1]++;
    t->absent = tag;
    return NF_TLB_MISS;
}

/* nf_tlb_lookup_va when the fast path does not apply. */
__attribute__((noinline)) static int lookup_va_generic(nf_tlb *t, uint16_t a, uint64_t vaddr, nf_page_size *sz_out)
{
    if (t->present[0] <= 1 && t->present[1] <= 1) {
        /* Only 4K entries anywhere (the usual case): one probe per level. */
        uint64_t tag = make_tag(vaddr >> 12, a, NF_PG_4K);
        if (t->present[0] && store_hit(t->map[0][NF_PG_4K], tag)) {
            t->st.hits[0]++;
            if (sz_out)
                *sz_out = NF_PG_4K;
            return NF_TLB_L1;
        }
        t->st.misses[0]++;
        if (t->nlevels > 1) {
            if (t->present[1] && store_hit(t->map[1][NF_PG_4K], tag)) {
                t->st.hits[1]++;
                store_fill(t->map[0][NF_PG_4K], tag);
                if (sz_out)
                    *sz_out = NF_PG_4K;
                return NF_TLB_L2;
            }
            t->st.misses[1]++;
        }
        t->absent = tag;
        return NF_TLB_MISS;
    }
    for (int l = 0; l < t->nlevels; l++)
        if (lookup_va_level(t, l, a, vaddr, sz_out) == l)
            return l;
    t->absent = make_tag(vaddr >> 12, a, NF_PG_4K);
    return NF_TLB_MISS;
}

int nf_tlb_lookup_va(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size *sz_out)
{
    uint16_t a = eff_asid(t, asid);
    if (t->fast && t->present[0] <= 1 && t->present[1] <= 1) {
        /* The common geometry, only 4K entries: L1 and L2 probed directly
         * (an empty store misses without a special case). */
        uint64_t tag = make_tag(vaddr >> 12, a, NF_PG_4K);
        if (__builtin_expect(hit_wide_lru(t->fl1, tag, true), 1)) {
            t->st.hits[0]++;
            if (sz_out)
                *sz_out = NF_PG_4K;
            return NF_TLB_L1;
        }
        return lookup_va_l2_fast(t, tag, sz_out);
    }
    return lookup_va_generic(t, a, vaddr, sz_out);
}

HOT void insert_impl(nf_tlb *t, uint16_t asid, uint64_t vpn, nf_page_size sz)
{
    uint64_t tag = make_tag(vpn, eff_asid(t, asid), (unsigned)sz);
    bool absent = tag == t->absent;
    t->absent = NF_TAG_NONE;
    t->st.inserts++;
    for (int l = 0; l < t->nlevels; l++) {
        tlb_store *s = t->map[l][sz];
        if (!s)
            continue;
        if (absent)
            store_fill(s, tag);
        else
            store_insert(s, tag);
    }
}

/* Counts one walk of refs memory references that hit the PWC of level
 * hit (-1: none); returns refs. */
static inline unsigned walk_counted(nf_tlb *t, int hit, unsigned refs)
{
    t->st.walks++;
    t->st.walk_refs += refs;
    if (hit >= 0) {
        t->st.pwc_hits++;
        t->st.pwc_level_hits[hit]++;
    }
    return refs;
}

/* PWC level p keeps entries that map address bits above pwc_shift[p]:
 * a PML4E covers 512 GiB (bit 39), a PDPTE 1 GiB (30), a PDE 2 MiB (21). */
static const unsigned pwc_shift[NF_PWC_N] = {39, 30, 21};

HOT unsigned walk_impl(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size sz)
{
    /* Levels read for a leaf of size sz: PML4, PDP, PD, PT for 4K. */
    unsigned nlev = 4u - (unsigned)sz;
    /* Non-leaf entries on the path: PML4E..(the entry above the leaf). */
    int deepest_nonleaf = (int)nlev - 2; /* 2 for 4K (PDE), 1 for 2M, 0 for 1G */
    uint16_t a = eff_asid(t, asid);
    int hit = -1;
    for (int p = deepest_nonleaf; p >= 0; p--) {
        if (!t->pwc_on[p])
            continue;
        if (store_hit(&t->pwc[p], make_tag(vaddr >> pwc_shift[p], a, (unsigned)p))) {
            hit = p;
            break;
        }
    }
    /* A hit at PWC level p skips reading levels 0..p; the deeper ones
     * missed above, so their entries go in without another look. */
    unsigned refs = nlev - (unsigned)(hit + 1);
    for (int p = hit + 1; p <= deepest_nonleaf; p++)
        if (t->pwc_on[p])
            store_fill(&t->pwc[p], make_tag(vaddr >> pwc_shift[p], a, (unsigned)p));
    return walk_counted(t, hit, refs);
}

/* walk_impl for a 4K leaf, unrolled: the three PWC tags made once. */
HOT unsigned walk_4k(nf_tlb *t, uint16_t a, uint64_t vaddr)
{
    uint64_t at = (uint64_t)a << 2;
    uint64_t tg[NF_PWC_N] = {(vaddr >> 39) << 18 | at | NF_PWC_PML4E, (vaddr >> 30) << 18 | at | NF_PWC_PDPTE,
                             (vaddr >> 21) << 18 | at | NF_PWC_PDE};
    int hit = -1;
    if (t->pwc_on[NF_PWC_PDE] && store_hit(&t->pwc[NF_PWC_PDE], tg[NF_PWC_PDE]))
        hit = NF_PWC_PDE;
    else if (t->pwc_on[NF_PWC_PDPTE] && store_hit(&t->pwc[NF_PWC_PDPTE], tg[NF_PWC_PDPTE]))
        hit = NF_PWC_PDPTE;
    else if (t->pwc_on[NF_PWC_PML4E] && store_hit(&t->pwc[NF_PWC_PML4E], tg[NF_PWC_PML4E]))
        hit = NF_PWC_PML4E;
    for (int p = hit + 1; p < NF_PWC_N; p++)
        if (t->pwc_on[p])
            store_fill(&t->pwc[p], tg[p]);
    unsigned refs = 4u - (unsigned)(hit + 1);
    return walk_counted(t, hit, refs);
}

/* walk_4k for fastw: the PDE PWC probed first (its bucket kept for the fill
 * after a miss), the upper PWCs only when it misses. Same order of hits,
 * fills and counts as walk_impl. */
HOT unsigned walk_4k_fastw(nf_tlb *t, uint64_t at, uint64_t vaddr)
{
    tlb_store *pd = &t->pwc[NF_PWC_PDE];
    uint64_t tde = (vaddr >> 21) << 18 | at | NF_PWC_PDE;
    unsigned refs = 1;
    int hit = NF_PWC_PDE;
    if (tde != pd->mru) {
        uint32_t h = hash_of(pd, tde);
        int32_t slot = find_wide_at(pd, tde, h);
        if (slot >= 0) {
            pd->mru = tde;
            list_to_head_at(pd, (uint32_t)slot, pd->ways);
        } else {
            tlb_store *pdp = &t->pwc[NF_PWC_PDPTE];
            uint64_t tdp = (vaddr >> 30) << 18 | at | NF_PWC_PDPTE;
            refs = 2;
            hit = NF_PWC_PDPTE;
            if (!hit_narrow_lru(pdp, tdp)) {
                tlb_store *pm = &t->pwc[NF_PWC_PML4E];
                uint64_t tpm = (vaddr >> 39) << 18 | at | NF_PWC_PML4E;
                refs = 3;
                hit = NF_PWC_PML4E;
                if (!hit_narrow_lru(pm, tpm)) {
                    refs = 4;
                    hit = -1;
                    fill_narrow_lru(pm, tpm);
                }
                fill_narrow_lru(pdp, tdp);
            }
            fill_wide_lru_at(pd, tde, pd->ways, h);
        }
    }
    return walk_counted(t, hit, refs);
}

void nf_tlb_insert(nf_tlb *t, uint16_t asid, uint64_t vpn, nf_page_size sz) { insert_impl(t, asid, vpn, sz); }

unsigned nf_tlb_walk(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size sz)
{
    return walk_impl(t, asid, vaddr, sz);
}

unsigned nf_tlb_walk_fill(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size sz)
{
    if (t->fast && sz == NF_PG_4K) {
        /* walk_impl and insert_impl for a 4K leaf, the tag made once; a
         * tag the lookup found absent fills both levels without a look. */
        uint16_t a = eff_asid(t, asid);
        unsigned refs = t->fastw ? walk_4k_fastw(t, (uint64_t)a << 2, vaddr) : walk_4k(t, a, vaddr);
        uint64_t tag = make_tag(vaddr >> 12, a, NF_PG_4K);
        bool absent = tag == t->absent;
        t->absent = NF_TAG_NONE;
        t->st.inserts++;
        if (absent) {
            fill_wide_lru(t->fl1, tag, true);
            fill_narrow_lru(t->fl2, tag);
        } else {
            if (!hit_wide_lru(t->fl1, tag, true))
                fill_wide_lru(t->fl1, tag, true);
            if (!hit_narrow_lru(t->fl2, tag))
                fill_narrow_lru(t->fl2, tag);
        }
        return refs;
    }
    unsigned refs = walk_impl(t, asid, vaddr, sz);
    insert_impl(t, asid, vaddr >> nf_page_shift(sz), sz);
    return refs;
}

int nf_tlb_access(nf_tlb *t, uint16_t asid, uint64_t vaddr, nf_page_size sz)
{
    uint64_t vpn = vaddr >> nf_page_shift(sz);
    int r = nf_tlb_lookup(t, asid, vpn, sz);
    if (r == NF_TLB_MISS) {
        nf_tlb_walk(t, asid, vaddr, sz);
        nf_tlb_insert(t, asid, vpn, sz);
    }
    return r;
}

void nf_tlb_prefetch(const nf_tlb *t, uint16_t asid, uint64_t vaddr)
{
    uint64_t tag = make_tag(vaddr >> 12, eff_asid(t, asid), NF_PG_4K);
    if (t->fast) { /* the L1 is small enough to stay in the cache */
        const tlb_store *s = t->fl2;
        uint32_t set = tag_set(s, tag);
        __builtin_prefetch(&s->meta[set]);
        __builtin_prefetch(&s->tag[(size_t)set * s->ways]);
        __builtin_prefetch(&s->tag[(size_t)set * s->ways + s->ways - 1]);
        return;
    }
    for (int l = 0; l < t->nlevels; l++) {
        const tlb_store *s = t->map[l][NF_PG_4K];
        if (!s)
            continue;
        if (!s->narrow) {
            __builtin_prefetch(&s->head[hash_of(s, tag)]);
        } else {
            uint32_t set = tag_set(s, tag);
            __builtin_prefetch(&s->meta[set]);
            __builtin_prefetch(&s->tag[(size_t)set * s->ways]);
            __builtin_prefetch(&s->tag[(size_t)set * s->ways + s->ways - 1]);
        }
    }
}

void nf_tlb_invalidate_page(nf_tlb *t, uint16_t asid, uint64_t vaddr)
{
    uint16_t a = eff_asid(t, asid);
    for (int i = 0; i < t->nstores; i++) {
        tlb_store *s = &t->store[i];
        for (int sz = 0; sz < NF_PG_NSIZES; sz++)
            if (s->sizes & NF_PGBIT(sz))
                t->st.invalidations +=
                    store_drop(s, make_tag(vaddr >> nf_page_shift((nf_page_size)sz), a, (unsigned)sz));
    }
    for (int p = 0; p < NF_PWC_N; p++)
        if (t->pwc_on[p])
            t->st.invalidations += store_drop(&t->pwc[p], make_tag(vaddr >> pwc_shift[p], a, (unsigned)p));
}

/* Drops every entry of s for which drop() is true, counted. Out of line
 * (cold): the compiler then makes one copy per drop(), drop() inlined. */
__attribute__((noinline)) static void drop_where(nf_tlb *t, tlb_store *s, bool (*drop)(uint64_t tag, const void *arg),
                                                 const void *arg)
{
    t->st.invalidations += store_filter(s, drop, arg);
}

typedef struct range_arg {
    uint16_t asid;
    uint64_t lo, hi; /* [lo, hi) */
    bool pwc;
} range_arg;

static bool drop_in_range(uint64_t tag, const void *p)
{
    const range_arg *r = p;
    if (((tag >> 2) & 0xffff) != r->asid)
        return false;
    unsigned shift = r->pwc ? pwc_shift[tag & 3] : nf_page_shift((nf_page_size)(tag & 3));
    uint64_t start = (tag >> 18) << shift, end = start + (1ull << shift);
    return start < r->hi && r->lo < end;
}

void nf_tlb_invalidate_range(nf_tlb *t, uint16_t asid, uint64_t vaddr, uint64_t len)
{
    if (len == 0)
        return;
    uint64_t first = vaddr >> 12, last = (vaddr + len - 1) >> 12;
    uint64_t pages = last - first + 1;
    uint64_t total = 0;
    for (int i = 0; i < t->nstores; i++)
        total += t->store[i].entries;
    if (pages <= 64 && pages * 4 <= total) {
        for (uint64_t p = first; p <= last; p++)
            nf_tlb_invalidate_page(t, asid, p << 12);
        return;
    }
    range_arg r = {eff_asid(t, asid), vaddr, vaddr + len, false};
    for (int i = 0; i < t->nstores; i++)
        drop_where(t, &t->store[i], drop_in_range, &r);
    r.pwc = true;
    for (int p = 0; p < NF_PWC_N; p++)
        if (t->pwc_on[p])
            drop_where(t, &t->pwc[p], drop_in_range, &r);
}

static bool drop_asid(uint64_t tag, const void *p) { return ((tag >> 2) & 0xffff) == *(const uint16_t *)p; }

void nf_tlb_invalidate_asid(nf_tlb *t, uint16_t asid)
{
    if (!t->asid_on) {
        nf_tlb_flush_all(t);
        return;
    }
    for (int i = 0; i < t->nstores; i++)
        drop_where(t, &t->store[i], drop_asid, &asid);
    for (int p = 0; p < NF_PWC_N; p++)
        if (t->pwc_on[p])
            drop_where(t, &t->pwc[p], drop_asid, &asid);
}

void nf_tlb_flush_all(nf_tlb *t)
{
    for (int i = 0; i < t->nstores; i++) {
        t->st.invalidations += t->store[i].valid;
        tlb_store_clear(&t->store[i]);
    }
    for (int p = 0; p < NF_PWC_N; p++)
        if (t->pwc_on[p]) {
            t->st.invalidations += t->pwc[p].valid;
            tlb_store_clear(&t->pwc[p]);
        }
    t->st.flushes++;
}

void nf_tlb_switch(nf_tlb *t, uint16_t new_asid)
{
    if (!t->asid_on && new_asid != t->cur_asid)
        nf_tlb_flush_all(t);
    t->cur_asid = new_asid;
}

const nf_tlb_stats *nf_tlb_get_stats(const nf_tlb *t)
{
    /* lookups is derived, not counted on the fast path. Every nf_tlb is
     * heap-allocated and writable, so updating it here is sound. */
    nf_tlb *w = (nf_tlb *)(uintptr_t)t;
    w->st.lookups = w->st.hits[0] + w->st.misses[0];
    return &t->st;
}

void nf_tlb_reset_stats(nf_tlb *t) { memset(&t->st, 0, sizeof t->st); }

uint32_t nf_tlb_occupancy(const nf_tlb *t, int level)
{
    if (level < 0 || level >= t->nlevels)
        return 0;
    uint32_t n = 0;
    for (int i = 0; i < t->nstores_level[level]; i++)
        n += t->store[t->first_store_level[level] + i].valid;
    return n;
}
