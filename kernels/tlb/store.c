/* kernels/tlb/store.c: the cold and out-of-line operations of a TLB
 * store (store.h): the PLRU path, invalidation, clear, init and fini. The
 * words and the layout are those of store.h.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

/* --- LRU order: to the head (touch), to the back (invalidation) --- */

static inline uint64_t nib_to_back(uint64_t order, unsigned w, unsigned ways)
{
    unsigned r = nib_rank(order, w);
    uint64_t above = order & nib_low(ways) & ~nib_low(r + 1);
    return (order & nib_low(r)) | above >> 4 | (uint64_t)w << (4 * (ways - 1));
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

/* --- the hook --- */

__attribute__((noinline)) void tlb_store_report(const tlb_store *s, uint64_t tag)
{
    s->hook->fn(s->hook->arg, s->level, (uint16_t)(tag >> 2), tag >> 18, (nf_page_size)(tag & 3));
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

/* --- find, touch, hit and fill (the PLRU path) --- */

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

bool tlb_store_hit_plru(tlb_store *s, uint64_t tag)
{
    if (tag == s->mru)
        return true;
    int32_t slot = store_find(s, tag);
    if (slot < 0)
        return false;
    store_touch(s, (uint32_t)slot);
    return true;
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

void tlb_store_fill_plru(tlb_store *s, uint64_t tag)
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

/* --- invalidation --- */

/* Takes the entry in slot out of the index (reported); the slot keeps
 * its place in the replacement order and its tag (the caller overwrites
 * it and fixes the counts). */
HOT void store_unindex(tlb_store *s, uint32_t slot, uint64_t tag)
{
    if (__builtin_expect(s->hooked, 0))
        tlb_store_report(s, tag);
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

void tlb_store_remove(tlb_store *s, uint32_t slot)
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

bool tlb_store_drop_slow(tlb_store *s, uint64_t tag)
{
    int32_t slot = store_find(s, tag);
    if (slot < 0)
        return false;
    tlb_store_remove(s, (uint32_t)slot);
    return true;
}

/* --- clear, init, fini --- */

void tlb_store_clear(tlb_store *s)
{
    size_t n = (size_t)s->sets * s->ways;
    if (s->valid && s->hooked)
        for (size_t i = 0; i < n; i++)
            if (s->tag[i] != NF_TAG_NONE)
                tlb_store_report(s, s->tag[i]);
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

int tlb_store_init(tlb_store *s, uint32_t entries, uint32_t ways, uint32_t sizes, nf_tlb_repl repl)
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
    tlb_store_clear(s);
    return 0;
}

void tlb_store_fini(tlb_store *s)
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
