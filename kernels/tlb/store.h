/* kernels/tlb/store.h: one store of the TLB model (a TLB array or a
 * page-walk cache): its tags, fingerprints, nibble LRU, wide hash chains
 * and PLRU trees. Private to kernels/tlb/. The hot operations (find, hit,
 * fill) are here, always inlined, so that the hierarchy's hot paths
 * (hierarchy.c) compile to straight code; the cold ones (init, clear,
 * invalidation, and the PLRU path, out of line) are in store.c.
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
 * A store remembers the tag it touched last (`mru`): hitting it again
 * changes no replacement state, so it costs one compare. A hooked store
 * (a TLB level's, never a PWC's) reports every entry that leaves it,
 * evicted, invalidated or cleared, to the hook.
 */
#ifndef NF_TLB_STORE_H
#define NF_TLB_STORE_H

#include <notfree/tlb.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NF_TAG_NONE UINT64_MAX
#define HOT static inline __attribute__((always_inline))
#define NARROW_WAYS 16u /* up to this many ways: fingerprints and nibble LRU */
#define BYTES_01 0x0101010101010101ull
#define BYTES_80 0x8080808080808080ull
#define NIBS_1 0x1111111111111111ull
#define NIBS_8 0x8888888888888888ull

/* The kinds of store the hot paths are specialised for, chosen once by
 * tlb_store_init from the geometry: narrow LRU (set-associative arrays,
 * small PWCs), wide LRU (fully associative L1s, big PWCs), and PLRU of
 * either width (the generic path). */
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

/* Where a hooked store reports the entries that leave it (the hierarchy's
 * hook: the same for every store of one nf_tlb). */
typedef struct tlb_hook {
    nf_tlb_evict_fn fn;
    void *arg;
} tlb_hook;

/* One set-associative store. Invariants: valid counts the slots whose tag
 * != NF_TAG_NONE and cnt[k] those whose tag & 3 == k; wide: the hash
 * chains hold exactly those slots, each in its tag's bucket; LRU: the
 * empty ways of a set rank after its filled ones; mru is NF_TAG_NONE or
 * the tag of a filled slot that is the most recent of its set. */
typedef struct tlb_store {
    uint64_t *tag;         /* [sets * ways] */
    tlb_meta *meta;        /* narrow: [sets] */
    uint32_t *chain;       /* wide: [sets * ways + hmask + 1] links: chain[slot] the next
                             * slot + 1 in its bucket, 0 = none; then the buckets */
    uint32_t *head;        /* wide: chain + sets * ways: the first slot + 1 of each bucket */
    uint32_t *hprev;       /* wide: [-1 .. sets * ways - 1] the index in chain of the link
                             * to slot (a slot, or sets * ways + its bucket); hprev[-1]
                             * absorbs the writes for "no slot" (link 0) */
    uint32_t *prev, *next; /* wide LRU: [sets * ways + sets], the sentinel of
                             * set s at index sets * ways + s, most recent first */
    uint8_t *plru;         /* PLRU: [sets * pways] tree nodes 1..pways-1 */
    uint64_t mru;
    store_kind kind; /* which specialised path serves it (set once) */
    bool narrow, lru, sets_pow2, hooked;
    uint32_t hmask;
    unsigned hshift;                     /* 64 - log2(hmask + 1) */
    uint32_t sets, setmask, ways, pways; /* setmask: sets - 1 when sets is a power
                                         * of 2 (else set = vpn % sets); pways:
                                         * ways rounded up to a power of 2 */
    unsigned plevels;                    /* log2(pways) */
    uint64_t div_magic;                  /* ceil(2^40 / ways): slot / ways without a divide */
    uint32_t entries, valid;
    uint32_t cnt[4]; /* valid entries by page size (PWC: by level) */
    uint32_t sizes;  /* NF_PGBIT mask (TLB arrays) */
    nf_tlb_repl repl;
    int level;            /* TLB level, -1 for a PWC (never reported) */
    uint8_t *present;     /* the level's mask of sizes held; NULL for a PWC */
    const tlb_hook *hook; /* read only when hooked */
} tlb_store;

/* ---------- cold and out-of-line operations (store.c) ---------- */

/* A store of `entries` slots in sets of `ways` (0: fully associative),
 * empty; its level is -1 (a PWC) and it has no hook until the caller sets
 * them. 0, or -1 when out of memory (tlb_store_fini frees what was made). */
int tlb_store_init(tlb_store *s, uint32_t entries, uint32_t ways, uint32_t sizes, nf_tlb_repl repl);
void tlb_store_fini(tlb_store *s);
/* Empties the store (each entry reported if hooked). */
void tlb_store_clear(tlb_store *s);
/* Invalidates the entry in slot: it becomes empty and the next victim of
 * its set. */
void tlb_store_remove(tlb_store *s, uint32_t slot);
/* store_drop past its first test. */
bool tlb_store_drop_slow(tlb_store *s, uint64_t tag);
/* The PLRU paths of store_hit and store_fill (the generic path). */
bool tlb_store_hit_plru(tlb_store *s, uint64_t tag);
void tlb_store_fill_plru(tlb_store *s, uint64_t tag);
/* Reports tag, leaving a hooked store, to the hook. Out of line: only
 * live mode sets a hook. */
void tlb_store_report(const tlb_store *s, uint64_t tag);

/* ---------- tags and sets ---------- */

HOT uint64_t make_tag(uint64_t vpn, uint16_t asid, unsigned sz) { return vpn << 18 | (uint64_t)asid << 2 | sz; }

HOT uint32_t hash_of(const tlb_store *s, uint64_t tag)
{
    return (uint32_t)((tag * 0x9E3779B97F4A7C15ull) >> s->hshift);
}

HOT uint8_t fp_of(uint64_t tag) { return (uint8_t)((tag * 0x9E3779B97F4A7C15ull) >> 56); }

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

HOT uint64_t nib_low(unsigned n) /* the nibbles of ranks 0..n-1 */ { return n >= 16 ? ~0ull : (1ull << (4 * n)) - 1; }

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

/* --- find, hit --- */

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

/* A hit: true if tag is held (its replacement state updated). */
HOT bool store_hit(tlb_store *s, uint64_t tag)
{
    switch (s->kind) {
    case SK_NARROW_LRU:
        return hit_narrow_lru(s, tag);
    case SK_WIDE_LRU:
        return hit_wide_lru(s, tag, false);
    default:
        return tlb_store_hit_plru(s, tag);
    }
}

/* --- counts, hash chains, fill --- */

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
        *s->present &= (uint8_t) ~(1u << k);
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
            tlb_store_report(s, old);
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
        tlb_store_fill_plru(s, tag);
    }
}

HOT void store_insert(tlb_store *s, uint64_t tag)
{
    if (!store_hit(s, tag))
        store_fill(s, tag);
}

/* --- invalidation --- */

/* Invalidates tag: true if it was held. Inline: a store that holds no
 * entry of tag's size costs no call. */
HOT bool store_drop(tlb_store *s, uint64_t tag)
{
    if (!s->cnt[tag & 3])
        return false;
    return tlb_store_drop_slow(s, tag);
}

/* Invalidates every entry for which drop() is true; the number dropped.
 * Inline, so that each caller's copy calls its drop() directly. */
static inline uint32_t store_filter(tlb_store *s, bool (*drop)(uint64_t tag, const void *arg), const void *arg)
{
    uint32_t dropped = 0;
    size_t n = (size_t)s->sets * s->ways;
    for (size_t i = 0; i < n; i++)
        if (s->tag[i] != NF_TAG_NONE && drop(s->tag[i], arg)) {
            tlb_store_remove(s, (uint32_t)i);
            dropped++;
        }
    return dropped;
}

#endif
