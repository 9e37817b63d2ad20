/* kernels/tlb.c: the model's TLB hierarchy and page-walk caches.
 *
 * Data layout. Every store (a TLB array or a PWC) is `sets` x `ways`
 * slots of 64-bit tags (set = vpn mod sets, its slots contiguous). A
 * lookup never compares more than a few tags. Two kinds of store:
 *   narrow  at most 16 ways (set-associative arrays, small PWCs): per set,
 *           one 32-byte meta: a one-byte fingerprint of each way's tag,
 *           compared 8 at a time (SWAR), so only the candidates' tags are
 *           read; and for LRU the order of the ways as 16 nibbles of one
 *           word (rank 0 = most recent): touch and victim are a few shifts.
 *   wide    more ways (fully associative L1s, big PWCs): the tags hashed
 *           into buckets chained through the slots (at most 1/2 a slot per
 *           bucket), so a 72-entry fully associative L1 costs one probe;
 *           the chains doubly linked, so replacing a victim unlinks it in
 *           O(1) without rehashing its tag; LRU as one circular list per
 *           set (O(1) touch and victim).
 * PLRU keeps a tree of bits per set in both kinds. The victim of an
 * insert is always picked inside the tag's set.
 *
 * Tag: vpn << 18 | asid << 2 | page size. For a PWC, `vpn` is the address
 * bits above the level the entry maps and the size field holds the PWC
 * level. NF_TAG_NONE marks an empty slot (no real tag has size bits 3).
 *
 * Fast paths. A store remembers the tag it touched last (`mru`): hitting
 * it again changes no replacement state, so it costs one compare. Each
 * level keeps a mask of the page sizes it holds now (`present`), so
 * nf_tlb_lookup_va probes only those (one probe per level when only 4K
 * pages exist). A lookup that misses everywhere remembers the tag
 * (`absent`): the insert after the walk then fills without looking again.
 * Evictions, invalidations and flushes of the TLB levels (not the PWCs)
 * are reported to the hook, if one is set.
 */
#include <notfree/tlb.h>

#include <stdlib.h>
#include <string.h>

#define NF_TAG_NONE UINT64_MAX
#define HOT static inline __attribute__((always_inline))
#define NARROW_WAYS 16u  /* up to this many ways: fingerprints and nibble LRU */
#define BYTES_01 0x0101010101010101ull
#define BYTES_80 0x8080808080808080ull
#define NIBS_1 0x1111111111111111ull
#define NIBS_8 0x8888888888888888ull

struct nf_tlb;

/* The kinds of store the hot paths are specialised for, chosen once by
 * store_init from the geometry: narrow LRU (set-associative arrays, small
 * PWCs), wide LRU (fully associative L1s, big PWCs), and PLRU of either
 * width (the generic path). */
typedef enum store_kind { SK_NARROW_LRU = 0, SK_WIDE_LRU = 1, SK_PLRU = 2 } store_kind;

/* Per set of a narrow store. fp: byte w = fingerprint of way w's tag
 * (stale for empty ways and past `ways`: candidates are checked against
 * the tag). order (LRU): nibble r = the way of rank r, ranks 0..ways-1,
 * the nibbles above zero. */
typedef struct tlb_meta {
    uint64_t fp[2];
    uint64_t order;
    uint64_t pad;
} tlb_meta;

/* One set-associative store. Invariants: valid counts the slots whose tag
 * != NF_TAG_NONE and cnt[k] those whose tag & 3 == k; wide: the hash
 * chains hold exactly those slots, each in its tag's bucket; LRU: the
 * empty ways of a set rank after its filled ones; mru is NF_TAG_NONE or
 * the tag of a filled slot that is the most recent of its set. */
typedef struct tlb_store {
    uint64_t *tag;          /* [sets * ways] */
    tlb_meta *meta;         /* narrow: [sets] */
    uint32_t *chain;        /* wide: [sets * ways + hmask + 1] links: chain[slot] the next
                             * slot + 1 in its bucket, 0 = none; then the buckets */
    uint32_t *head;         /* wide: chain + sets * ways: the first slot + 1 of each bucket */
    uint32_t *hprev;        /* wide: [-1 .. sets * ways - 1] the index in chain of the link
                             * to slot (a slot, or sets * ways + its bucket); hprev[-1]
                             * absorbs the writes for "no slot" (link 0) */
    uint32_t *prev, *next;  /* wide LRU: [sets * ways + sets], the sentinel of
                             * set s at index sets * ways + s, most recent first */
    uint8_t *plru;          /* PLRU: [sets * pways] tree nodes 1..pways-1 */
    uint64_t mru;
    store_kind kind;        /* which specialised path serves it (set once) */
    bool narrow, lru, sets_pow2, hooked;
    uint32_t hmask;
    unsigned hshift;        /* 64 - log2(hmask + 1) */
    uint32_t sets, setmask, ways, pways; /* setmask: sets - 1 when sets is a power
                                         * of 2 (else set = vpn % sets); pways:
                                         * ways rounded up to a power of 2 */
    unsigned plevels;       /* log2(pways) */
    uint64_t div_magic;     /* ceil(2^40 / ways): slot / ways without a divide */
    uint32_t entries, valid;
    uint32_t cnt[4];        /* valid entries by page size (PWC: by level) */
    uint32_t sizes;         /* NF_PGBIT mask (TLB arrays) */
    nf_tlb_repl repl;
    int level;              /* TLB level, -1 for a PWC (never reported) */
    uint8_t *present;       /* the level's mask of sizes held; NULL for a PWC */
    struct nf_tlb *owner;
} tlb_store;

struct nf_tlb {
    /* hot: the per-level store for each page size, the sizes each level
     * holds now, the last full miss, and the counters */
    tlb_store *map[NF_TLB_MAX_LEVELS][NF_PG_NSIZES];
    uint8_t present[NF_TLB_MAX_LEVELS];
    int nlevels;
    bool asid_on;
    uint16_t cur_asid;
    uint64_t absent;        /* a tag held by no level (NF_TAG_NONE: none known) */
    /* The common geometry (set once by nf_tlb_create): two levels, 4K pages
     * in a fully associative LRU L1 (wide, one set) and a set-associative
     * LRU L2 (narrow) apart from it. Its 4K paths skip the dispatch. */
    bool fast;
    /* fastw: fast, and all three PWCs LRU: PML4E and PDPTE narrow, PDE wide
     * with one set (zen4's 16, 16, 64). Its 4K walk is one straight path. */
    bool fastw;
    tlb_store *fl1, *fl2;   /* fast: map[0][4K], map[1][4K] */
    nf_tlb_evict_fn evict_fn;
    void *evict_arg;
    nf_tlb_stats st;
    int nstores;
    tlb_store store[NF_TLB_MAX_LEVELS * NF_TLB_MAX_ARRAYS];
    int nstores_level[NF_TLB_MAX_LEVELS];
    int first_store_level[NF_TLB_MAX_LEVELS];
    tlb_store pwc[NF_PWC_N];
    bool pwc_on[NF_PWC_N];
    nf_tlb_geom geom;
};

/* ---------- the store ---------- */

HOT uint64_t make_tag(uint64_t vpn, uint16_t asid, unsigned sz)
{
    return vpn << 18 | (uint64_t)asid << 2 | sz;
}

HOT uint32_t hash_of(const tlb_store *s, uint64_t tag)
{
    return (uint32_t)((tag * 0x9E3779B97F4A7C15ull) >> s->hshift);
}

HOT uint8_t fp_of(uint64_t tag)
{
    return (uint8_t)((tag * 0x9E3779B97F4A7C15ull) >> 56);
}

HOT uint32_t tag_set(const tlb_store *s, uint64_t tag)
{
    uint64_t key = tag >> 18;
    return s->sets_pow2 ? (uint32_t)key & s->setmask : (uint32_t)(key % s->sets);
}

HOT uint32_t slot_set(const tlb_store *s, uint32_t slot)
{
    return (uint32_t)(((uint64_t)slot * s->div_magic) >> 40); /* slot / ways */
}

/* --- nibble LRU of a narrow set --- */

HOT uint64_t nib_low(unsigned n) /* the nibbles of ranks 0..n-1 */
{
    return n >= 16 ? ~0ull : (1ull << (4 * n)) - 1;
}

/* The rank of way w: the lowest nibble equal to w (SWAR zero-nibble test;
 * a false flag can only sit above a true one). */
HOT unsigned nib_rank(uint64_t order, unsigned w)
{
    uint64_t x = order ^ (w * NIBS_1);
    return (unsigned)__builtin_ctzll((x - NIBS_1) & ~x & NIBS_8) >> 2;
}

HOT uint64_t nib_to_front(uint64_t order, unsigned w)
{
    unsigned r = nib_rank(order, w);
    return (order & ~nib_low(r + 1)) | (order & nib_low(r)) << 4 | w;
}

static inline uint64_t nib_to_back(uint64_t order, unsigned w, unsigned ways)
{
    unsigned r = nib_rank(order, w);
    uint64_t above = order & nib_low(ways) & ~nib_low(r + 1);
    return (order & nib_low(r)) | above >> 4 | (uint64_t)w << (4 * (ways - 1));
}

/* --- wide LRU lists --- */

HOT void list_unlink(tlb_store *s, uint32_t slot)
{
    uint32_t p = s->prev[slot], n = s->next[slot];
    s->next[p] = n;
    s->prev[n] = p;
}

HOT uint32_t list_sentinel(const tlb_store *s, uint32_t slot)
{
    return s->sets == 1 ? s->ways : s->sets * s->ways + slot_set(s, slot);
}

/* Moves slot to the head of the list of sentinel S. */
HOT void list_to_head_at(tlb_store *s, uint32_t slot, uint32_t S)
{
    list_unlink(s, slot);
    uint32_t h = s->next[S];
    s->next[slot] = h;
    s->prev[slot] = S;
    s->prev[h] = slot;
    s->next[S] = slot;
}

HOT void list_to_head(tlb_store *s, uint32_t slot) { list_to_head_at(s, slot, list_sentinel(s, slot)); }

static inline void list_to_tail(tlb_store *s, uint32_t slot)
{
    uint32_t S = list_sentinel(s, slot);
    list_unlink(s, slot);
    uint32_t tl = s->prev[S];
    s->prev[slot] = tl;
    s->next[slot] = S;
    s->next[tl] = slot;
    s->prev[S] = slot;
}

/* --- PLRU --- */

__attribute__((noinline)) static void plru_touch(tlb_store *s, uint32_t slot)
{
    uint32_t set = slot_set(s, slot), way = slot - set * s->ways;
    uint8_t *t = s->plru + (size_t)set * s->pways;
    /* Node ids along the root-to-leaf path are the prefixes of (pways + way);
     * each node on it points away from the way just used. Branch-free. */
    uint32_t leaf = s->pways + way;
    for (unsigned d = s->plevels; d > 0; d--)
        t[leaf >> d] = (uint8_t)(((leaf >> (d - 1)) & 1) ^ 1);
}

static uint32_t plru_victim(const tlb_store *s, uint32_t set)
{
    const uint8_t *t = s->plru + (size_t)set * s->pways;
    uint32_t node = 1, lo = 0, span = s->pways;
    while (span > 1) {
        span >>= 1;
        bool right = t[node] != 0;
        /* Leaves past `ways` do not exist: never steer into them. */
        if (right && lo + span >= s->ways)
            right = false;
        if (right) {
            lo += span;
            node = 2 * node + 1;
        } else {
            node = 2 * node;
        }
    }
    return lo;
}

/* --- find, touch, fill, remove --- */

/* Slot holding tag in bucket h of a wide store, or -1. */
HOT int32_t find_wide_at(const tlb_store *s, uint64_t tag, uint32_t h)
{
    for (uint32_t e = s->head[h]; e; e = s->chain[e - 1])
        if (s->tag[e - 1] == tag)
            return (int32_t)(e - 1);
    return -1;
}

/* Slot holding tag in a wide store, or -1. */
HOT int32_t find_wide(const tlb_store *s, uint64_t tag) { return find_wide_at(s, tag, hash_of(s, tag)); }

/* Way of set holding tag in a narrow store, or -1. */
HOT int32_t find_narrow(const tlb_store *s, uint64_t tag, uint32_t set)
{
    uint32_t base = set * s->ways;
    const uint64_t *f = s->meta[set].fp;
    uint64_t pat = fp_of(tag) * BYTES_01;
    for (uint32_t i = 0; i < 2; i++) {
        uint64_t x = f[i] ^ pat;
        uint64_t z = (x - BYTES_01) & ~x & BYTES_80; /* bytes equal to the fingerprint */
        while (z) {
            uint32_t w = i * 8 + (uint32_t)__builtin_ctzll(z) / 8;
            if (w < s->ways && s->tag[base + w] == tag)
                return (int32_t)w;
            z &= z - 1;
        }
        if (s->ways <= 8)
            break;
    }
    return -1;
}

/* Slot holding tag, or -1. */
HOT int32_t store_find(const tlb_store *s, uint64_t tag)
{
    if (!s->narrow)
        return find_wide(s, tag);
    uint32_t set = tag_set(s, tag);
    int32_t w = find_narrow(s, tag, set);
    return w < 0 ? -1 : (int32_t)(set * s->ways) + w;
}

HOT void store_touch(tlb_store *s, uint32_t slot)
{
    s->mru = s->tag[slot];
    if (!s->lru) {
        plru_touch(s, slot);
    } else if (s->narrow) {
        uint32_t set = slot_set(s, slot);
        s->meta[set].order = nib_to_front(s->meta[set].order, slot - set * s->ways);
    } else {
        list_to_head(s, slot);
    }
}

HOT bool hit_narrow_lru(tlb_store *s, uint64_t tag)
{
    if (tag == s->mru)
        return true; /* the most recent of its set already */
    uint32_t set = tag_set(s, tag);
    int32_t w = find_narrow(s, tag, set);
    if (w < 0)
        return false;
    s->mru = tag;
    s->meta[set].order = nib_to_front(s->meta[set].order, (unsigned)w);
    return true;
}

/* fa: the store is known to have one set (a constant where inlined). */
HOT bool hit_wide_lru(tlb_store *s, uint64_t tag, bool fa)
{
    if (tag == s->mru)
        return true;
    int32_t slot = find_wide(s, tag);
    if (slot < 0)
        return false;
    s->mru = tag;
    list_to_head_at(s, (uint32_t)slot, fa ? s->ways : list_sentinel(s, (uint32_t)slot));
    return true;
}

__attribute__((noinline)) static bool hit_plru(tlb_store *s, uint64_t tag)
{
    if (tag == s->mru)
        return true;
    int32_t slot = store_find(s, tag);
    if (slot < 0)
        return false;
    store_touch(s, (uint32_t)slot);
    return true;
}

/* A hit: true if tag is held (its replacement state updated). */
HOT bool store_hit(tlb_store *s, uint64_t tag)
{
    switch (s->kind) {
    case SK_NARROW_LRU:
        return hit_narrow_lru(s, tag);
    case SK_WIDE_LRU:
        return hit_wide_lru(s, tag, false);
    default:
        return hit_plru(s, tag);
    }
}

/* Out of line: only live mode sets a hook. */
__attribute__((noinline)) static void report(const tlb_store *s, uint64_t tag)
{
    const struct nf_tlb *t = s->owner;
    t->evict_fn(t->evict_arg, s->level, (uint16_t)(tag >> 2), tag >> 18, (nf_page_size)(tag & 3));
}

HOT void count_add(tlb_store *s, unsigned k)
{
    s->valid++;
    if (s->cnt[k]++ == 0 && s->present)
        *s->present |= (uint8_t)(1u << k);
}

HOT void count_sub(tlb_store *s, unsigned k)
{
    s->valid--;
    if (--s->cnt[k] == 0 && s->present)
        *s->present &= (uint8_t)~(1u << k);
}

/* Chains are doubly linked: a delete neither rehashes nor walks. */
HOT void hash_del(tlb_store *s, uint32_t slot)
{
    uint32_t nx = s->chain[slot], pv = s->hprev[slot];
    s->chain[pv] = nx;
    s->hprev[(int32_t)nx - 1] = pv; /* nx == 0: the dummy hprev[-1] */
}

HOT void hash_add(tlb_store *s, uint32_t slot, uint32_t h)
{
    uint32_t first = s->head[h];
    s->chain[slot] = first;
    s->hprev[slot] = s->entries + h;
    s->hprev[(int32_t)first - 1] = slot;
    s->head[h] = slot + 1;
}

/* Takes the entry in slot out of the index (reported); the slot keeps
 * its place in the replacement order and its tag (the caller overwrites
 * it and fixes the counts). */
HOT void store_unindex(tlb_store *s, uint32_t slot, uint64_t tag)
{
    if (__builtin_expect(s->hooked, 0))
        report(s, tag);
    if (!s->narrow)
        hash_del(s, slot);
    if (tag == s->mru)
        s->mru = NF_TAG_NONE;
}

HOT void store_evict(tlb_store *s, uint32_t slot)
{
    uint64_t tag = s->tag[slot];
    store_unindex(s, slot, tag);
    s->tag[slot] = NF_TAG_NONE;
    count_sub(s, (unsigned)(tag & 3));
}

/* Invalidation: the slot becomes empty and the next victim of its set. */
static void store_remove(tlb_store *s, uint32_t slot)
{
    store_evict(s, slot);
    if (!s->lru)
        return;
    if (s->narrow) {
        uint32_t set = slot_set(s, slot);
        s->meta[set].order = nib_to_back(s->meta[set].order, slot - set * s->ways, s->ways);
    } else {
        list_to_tail(s, slot);
    }
}

/* The slot an insert into `set` takes: an empty one, else the policy's
 * victim (LRU: the last rank, where empty ways also go). */
HOT uint32_t store_victim(const tlb_store *s, uint32_t set)
{
    uint32_t base = set * s->ways;
    if (s->lru) {
        if (s->narrow)
            return base + (uint32_t)(s->meta[set].order >> (4 * (s->ways - 1))) % 16;
        return s->prev[s->sets * s->ways + set];
    }
    if (s->valid < s->entries)
        for (uint32_t w = 0; w < s->ways; w++)
            if (s->tag[base + w] == NF_TAG_NONE)
                return base + w;
    return base + plru_victim(s, set);
}

/* Puts tag in slot, whose old entry (if any) leaves the index (reported)
 * and the counts; the replacement state and mru are the caller's (every
 * caller makes tag the mru). `wide` is a constant where it is inlined. */
HOT void slot_replace(tlb_store *s, uint32_t slot, uint64_t tag, bool wide)
{
    uint64_t old = s->tag[slot];
    if (old == NF_TAG_NONE) {
        count_add(s, (unsigned)(tag & 3));
    } else {
        if (__builtin_expect(s->hooked, 0))
            report(s, old);
        if (wide)
            hash_del(s, slot);
        if ((old ^ tag) & 3) { /* a size for a size: the counts stay */
            count_sub(s, (unsigned)(old & 3));
            count_add(s, (unsigned)(tag & 3));
        }
    }
    s->tag[slot] = tag;
}

/* Narrow LRU: the victim is the way of the last rank; it moves to rank 0
 * (the nibbles shift up one rank, the top one falls off). */
HOT void fill_narrow_lru(tlb_store *s, uint64_t tag)
{
    uint32_t set = tag_set(s, tag);
    uint64_t order = s->meta[set].order;
    uint32_t way = (uint32_t)(order >> (4 * (s->ways - 1))) & 15;
    slot_replace(s, set * s->ways + way, tag, false);
    ((uint8_t *)s->meta[set].fp)[way] = fp_of(tag);
    s->meta[set].order = ((order << 4) & nib_low(s->ways)) | way;
    s->mru = tag;
}

/* Wide LRU: the victim is the tail of the list of sentinel S; it moves to
 * the head, and into bucket h (tag's). */
HOT void fill_wide_lru_at(tlb_store *s, uint64_t tag, uint32_t S, uint32_t h)
{
    uint32_t slot = s->prev[S];
    slot_replace(s, slot, tag, true);
    hash_add(s, slot, h);
    s->mru = tag;
    list_to_head_at(s, slot, S);
}

HOT void fill_wide_lru(tlb_store *s, uint64_t tag, bool fa)
{
    uint32_t S = fa || s->sets == 1 ? s->ways : s->sets * s->ways + tag_set(s, tag);
    fill_wide_lru_at(s, tag, S, hash_of(s, tag));
}

__attribute__((noinline)) static void fill_plru(tlb_store *s, uint64_t tag)
{
    uint32_t set = tag_set(s, tag);
    uint32_t slot = store_victim(s, set);
    slot_replace(s, slot, tag, !s->narrow);
    if (s->narrow) {
        ((uint8_t *)s->meta[set].fp)[slot - set * s->ways] = fp_of(tag);
    } else {
        hash_add(s, slot, hash_of(s, tag));
    }
    store_touch(s, slot);
}

/* Installs tag, known absent. */
HOT void store_fill(tlb_store *s, uint64_t tag)
{
    switch (s->kind) {
    case SK_NARROW_LRU:
        fill_narrow_lru(s, tag);
        break;
    case SK_WIDE_LRU:
        fill_wide_lru(s, tag, false);
        break;
    default:
        fill_plru(s, tag);
    }
}

HOT void store_insert(tlb_store *s, uint64_t tag)
{
    if (!store_hit(s, tag))
        store_fill(s, tag);
}

static bool store_drop(tlb_store *s, uint64_t tag)
{
    if (!s->cnt[tag & 3])
        return false;
    int32_t slot = store_find(s, tag);
    if (slot < 0)
        return false;
    store_remove(s, (uint32_t)slot);
    return true;
}

static void store_clear(tlb_store *s)
{
    size_t n = (size_t)s->sets * s->ways;
    if (s->valid && s->hooked)
        for (size_t i = 0; i < n; i++)
            if (s->tag[i] != NF_TAG_NONE)
                report(s, s->tag[i]);
    for (size_t i = 0; i < n; i++)
        s->tag[i] = NF_TAG_NONE;
    if (s->narrow) {
        uint64_t order = 0;
        for (uint32_t w = 0; w < s->ways; w++)
            order |= (uint64_t)w << (4 * w);
        for (uint32_t set = 0; set < s->sets; set++)
            s->meta[set] = (tlb_meta){{0, 0}, order, 0};
    } else {
        memset(s->head, 0, ((size_t)s->hmask + 1) * sizeof *s->head);
    }
    if (s->plru)
        memset(s->plru, 0, (size_t)s->sets * s->pways);
    if (s->prev)
        for (uint32_t set = 0; set < s->sets; set++) {
            uint32_t base = set * s->ways, S = (uint32_t)n + set;
            for (uint32_t w = 0; w < s->ways; w++) {
                s->next[base + w] = w + 1 < s->ways ? base + w + 1 : S;
                s->prev[base + w] = w > 0 ? base + w - 1 : S;
            }
            s->next[S] = base;
            s->prev[S] = base + s->ways - 1;
        }
    s->mru = NF_TAG_NONE;
    s->valid = 0;
    memset(s->cnt, 0, sizeof s->cnt);
    if (s->present)
        *s->present = 0;
}

static uint32_t pow2_at_least(uint32_t x)
{
    uint32_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

static int store_init(tlb_store *s, uint32_t entries, uint32_t ways, uint32_t sizes, nf_tlb_repl repl)
{
    memset(s, 0, sizeof *s);
    s->level = -1;
    s->entries = entries;
    s->ways = ways ? ways : entries;
    s->sets = entries / s->ways;
    s->sets_pow2 = (s->sets & (s->sets - 1)) == 0;
    s->setmask = s->sets_pow2 ? s->sets - 1 : 0;
    s->pways = pow2_at_least(s->ways);
    while ((1u << s->plevels) < s->pways)
        s->plevels++;
    s->div_magic = ((1ull << 40) + s->ways - 1) / s->ways;
    s->sizes = sizes;
    s->repl = repl;
    s->lru = repl == NF_REPL_LRU;
    s->narrow = s->ways <= NARROW_WAYS;
    s->kind = !s->lru ? SK_PLRU : s->narrow ? SK_NARROW_LRU : SK_WIDE_LRU;
    size_t n = (size_t)s->sets * s->ways;
    s->tag = malloc(n * sizeof *s->tag);
    if (!s->tag)
        return -1;
    if (s->narrow) {
        s->meta = malloc((size_t)s->sets * sizeof *s->meta);
        if (!s->meta)
            return -1;
    } else {
        uint32_t hsize = pow2_at_least(entries * 2u);
        unsigned bits = 0;
        while ((1u << bits) < hsize)
            bits++;
        s->hmask = hsize - 1;
        s->hshift = 64u - bits;
        s->chain = malloc((n + hsize) * sizeof *s->chain);
        uint32_t *hp = malloc((n + 1) * sizeof *hp);
        s->hprev = hp ? hp + 1 : NULL;
        if (!s->chain || !hp)
            return -1;
        s->head = s->chain + n;
        if (s->lru) {
            s->prev = malloc((n + s->sets) * sizeof *s->prev);
            s->next = malloc((n + s->sets) * sizeof *s->next);
            if (!s->prev || !s->next)
                return -1;
        }
    }
    if (!s->lru) {
        s->plru = malloc((size_t)s->sets * s->pways);
        if (!s->plru)
            return -1;
    }
    store_clear(s);
    return 0;
}

static void store_fini(tlb_store *s)
{
    free(s->tag);
    free(s->meta);
    free(s->chain);
    free(s->hprev ? s->hprev - 1 : NULL);
    free(s->prev);
    free(s->next);
    free(s->plru);
    memset(s, 0, sizeof *s);
}

/* ---------- geometry ---------- */

#define MAX_ENTRIES (1u << 20)
#define MAX_WAYS 4096u

static const char *const size_name[NF_PG_NSIZES] = {"4K", "2M", "1G"};

int nf_tlb_geom_check(const nf_tlb_geom *g, char *err, size_t cap)
{
#define FAIL(...) do { if (err && cap) snprintf(err, cap, __VA_ARGS__); return -1; } while (0)
    if (!g)
        FAIL("no geometry");
    if (g->nlevels < 1 || g->nlevels > NF_TLB_MAX_LEVELS)
        FAIL("%s: %d TLB levels; the model has 1 or 2", g->name, g->nlevels);
    for (int l = 0; l < g->nlevels; l++) {
        const nf_tlb_level_geom *lv = &g->level[l];
        if (lv->narrays < 1 || lv->narrays > NF_TLB_MAX_ARRAYS)
            FAIL("%s: L%d has %d arrays; 1 to %d allowed", g->name, l + 1, lv->narrays, NF_TLB_MAX_ARRAYS);
        uint32_t seen = 0;
        for (int a = 0; a < lv->narrays; a++) {
            const nf_tlb_array_geom *ar = &lv->array[a];
            if (ar->entries == 0 || ar->entries > MAX_ENTRIES)
                FAIL("%s: L%d array %d: %u entries; 1 to %u allowed", g->name, l + 1, a, ar->entries, MAX_ENTRIES);
            if (ar->ways > ar->entries)
                FAIL("%s: L%d array %d: %u ways but only %u entries", g->name, l + 1, a, ar->ways, ar->entries);
            if (ar->ways && ar->entries % ar->ways)
                FAIL("%s: L%d array %d: %u entries are not a whole number of %u-way sets", g->name, l + 1, a,
                     ar->entries, ar->ways);
            uint32_t ways = ar->ways ? ar->ways : ar->entries;
            if (ways > MAX_WAYS)
                FAIL("%s: L%d array %d: %u ways; at most %u (a fully associative array counts its entries)",
                     g->name, l + 1, a, ways, MAX_WAYS);
            if (!ar->sizes || (ar->sizes & ~NF_PGBIT_ALL))
                FAIL("%s: L%d array %d: page sizes mask 0x%x; a non-empty subset of 4K, 2M, 1G", g->name, l + 1,
                     a, ar->sizes);
            if (ar->sizes & seen)
                FAIL("%s: L%d: two arrays hold the same page size", g->name, l + 1);
            if (ar->repl != NF_REPL_LRU && ar->repl != NF_REPL_PLRU)
                FAIL("%s: L%d array %d: unknown replacement %d", g->name, l + 1, a, (int)ar->repl);
            seen |= ar->sizes;
        }
        if (l == 0 && !(seen & NF_PGBIT(NF_PG_4K)))
            FAIL("%s: L1 holds no 4K pages", g->name);
    }
    for (int p = 0; p < NF_PWC_N; p++)
        if (g->pwc_entries[p] > 4096)
            FAIL("%s: page-walk cache %d: %u entries; at most 4096", g->name, p, g->pwc_entries[p]);
    return 0;
#undef FAIL
}

uint32_t nf_tlb_geom_entries(const nf_tlb_geom *g, int level, nf_page_size sz)
{
    if (level < 0 || level >= g->nlevels || (unsigned)sz >= NF_PG_NSIZES)
        return 0;
    for (int a = 0; a < g->level[level].narrays; a++)
        if (g->level[level].array[a].sizes & NF_PGBIT(sz))
            return g->level[level].array[a].entries;
    return 0;
}

uint64_t nf_tlb_geom_reach(const nf_tlb_geom *g, int level, nf_page_size sz)
{
    return (uint64_t)nf_tlb_geom_entries(g, level, sz) << nf_page_shift(sz);
}

static void fmt_bytes(char *buf, size_t cap, uint64_t b)
{
    if (b >= (1ull << 30) && b % (1ull << 30) == 0)
        snprintf(buf, cap, "%llu GiB", (unsigned long long)(b >> 30));
    else if (b >= (1ull << 20) && b % (1ull << 20) == 0)
        snprintf(buf, cap, "%llu MiB", (unsigned long long)(b >> 20));
    else
        snprintf(buf, cap, "%llu KiB", (unsigned long long)(b >> 10));
}

void nf_tlb_geom_print(const nf_tlb_geom *g, FILE *f, int indent)
{
    for (int l = 0; l < g->nlevels; l++)
        for (int a = 0; a < g->level[l].narrays; a++) {
            const nf_tlb_array_geom *ar = &g->level[l].array[a];
            char sizes[16] = "", assoc[32], reach[64] = "";
            for (int s = 0; s < NF_PG_NSIZES; s++)
                if (ar->sizes & NF_PGBIT(s)) {
                    char r[24];
                    if (sizes[0])
                        strcat(sizes, "/");
                    strcat(sizes, size_name[s]);
                    fmt_bytes(r, sizeof r, (uint64_t)ar->entries << nf_page_shift((nf_page_size)s));
                    size_t n = strlen(reach);
                    snprintf(reach + n, sizeof reach - n, "%s%s %s", n ? ", " : "", size_name[s], r);
                }
            if (ar->ways == 0 || ar->ways == ar->entries)
                snprintf(assoc, sizeof assoc, "fully associative");
            else
                snprintf(assoc, sizeof assoc, "%u-way", ar->ways);
            fprintf(f, "%*sL%d%s %5u entries, %-17s %-8s %-4s reach %s\n", indent, "", l + 1,
                    l == 0 ? "d" : " ", ar->entries, assoc, sizes, ar->repl == NF_REPL_LRU ? "LRU" : "PLRU",
                    reach);
        }
    static const char *const pwc_name[NF_PWC_N] = {"PML4E", "PDPTE", "PDE"};
    fprintf(f, "%*spage-walk caches:", indent, "");
    bool any = false;
    for (int p = 0; p < NF_PWC_N; p++)
        if (g->pwc_entries[p]) {
            fprintf(f, " %s %u", pwc_name[p], g->pwc_entries[p]);
            any = true;
        }
    fprintf(f, "%s; ASID/PCID %s\n", any ? "" : " none", g->asid ? "on" : "off");
}

/* ---------- the hierarchy ---------- */

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
            if (store_init(s, ar->entries, ar->ways, ar->sizes, ar->repl) != 0)
                goto oom;
            s->level = l;
            s->present = &t->present[l];
            s->owner = t;
            for (int sz = 0; sz < NF_PG_NSIZES; sz++)
                if (ar->sizes & NF_PGBIT(sz))
                    t->map[l][sz] = s;
        }
        t->nstores_level[l] = g->level[l].narrays;
    }
    t->fl1 = t->map[0][NF_PG_4K];
    t->fl2 = t->nlevels == 2 ? t->map[1][NF_PG_4K] : NULL;
    t->fast = t->fl1 && t->fl2 && t->fl1->kind == SK_WIDE_LRU && t->fl1->sets == 1 &&
              t->fl2->kind == SK_NARROW_LRU;
    for (int p = 0; p < NF_PWC_N; p++)
        if (g->pwc_entries[p]) {
            if (store_init(&t->pwc[p], g->pwc_entries[p], 0, 0, NF_REPL_LRU) != 0)
                goto oom;
            t->pwc[p].owner = t;
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
        store_fini(&t->store[i]);
    for (int p = 0; p < NF_PWC_N; p++)
        store_fini(&t->pwc[p]);
    free(t);
}

const nf_tlb_geom *nf_tlb_geometry(const nf_tlb *t) { return &t->geom; }

void nf_tlb_set_evict_hook(nf_tlb *t, nf_tlb_evict_fn fn, void *arg)
{
    t->evict_fn = fn;
    t->evict_arg = fn ? arg : NULL;
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
    t->st.walks++;
    t->st.walk_refs += refs;
    if (hit >= 0) {
        t->st.pwc_hits++;
        t->st.pwc_level_hits[hit]++;
    }
    return refs;
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
    t->st.walks++;
    t->st.walk_refs += refs;
    if (hit >= 0) {
        t->st.pwc_hits++;
        t->st.pwc_level_hits[hit]++;
    }
    return refs;
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
    t->st.walks++;
    t->st.walk_refs += refs;
    if (hit >= 0) {
        t->st.pwc_hits++;
        t->st.pwc_level_hits[hit]++;
    }
    return refs;
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
                t->st.invalidations += store_drop(s, make_tag(vaddr >> nf_page_shift((nf_page_size)sz), a, (unsigned)sz));
    }
    for (int p = 0; p < NF_PWC_N; p++)
        if (t->pwc_on[p])
            t->st.invalidations += store_drop(&t->pwc[p], make_tag(vaddr >> pwc_shift[p], a, (unsigned)p));
}

/* Drops every entry of s for which drop() is true. */
static void store_filter(nf_tlb *t, tlb_store *s, bool (*drop)(uint64_t tag, const void *arg), const void *arg)
{
    size_t n = (size_t)s->sets * s->ways;
    for (size_t i = 0; i < n; i++)
        if (s->tag[i] != NF_TAG_NONE && drop(s->tag[i], arg)) {
            store_remove(s, (uint32_t)i);
            t->st.invalidations++;
        }
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
        store_filter(t, &t->store[i], drop_in_range, &r);
    r.pwc = true;
    for (int p = 0; p < NF_PWC_N; p++)
        if (t->pwc_on[p])
            store_filter(t, &t->pwc[p], drop_in_range, &r);
}

static bool drop_asid(uint64_t tag, const void *p)
{
    return ((tag >> 2) & 0xffff) == *(const uint16_t *)p;
}

void nf_tlb_invalidate_asid(nf_tlb *t, uint16_t asid)
{
    if (!t->asid_on) {
        nf_tlb_flush_all(t);
        return;
    }
    for (int i = 0; i < t->nstores; i++)
        store_filter(t, &t->store[i], drop_asid, &asid);
    for (int p = 0; p < NF_PWC_N; p++)
        if (t->pwc_on[p])
            store_filter(t, &t->pwc[p], drop_asid, &asid);
}

void nf_tlb_flush_all(nf_tlb *t)
{
    for (int i = 0; i < t->nstores; i++) {
        t->st.invalidations += t->store[i].valid;
        store_clear(&t->store[i]);
    }
    for (int p = 0; p < NF_PWC_N; p++)
        if (t->pwc_on[p]) {
            t->st.invalidations += t->pwc[p].valid;
            store_clear(&t->pwc[p]);
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
