/* direct.c: requests at or above the mmap threshold get a mapping of
 * their own (a direct map), and the process-wide table of live direct
 * maps, so that free can tell one of ours from a foreign pointer. */
#include <stdbool.h>
#include <string.h>

#include "bins.h"

/* ---- the table of live direct maps ----
 * Free must tell a direct map of ours from a foreign pointer without
 * reading memory that may not be mapped, so every live direct map's chunk
 * address is in this process-wide table (open addressing, linear probing,
 * deletion by backward shift), under a spin lock: direct maps cost a system
 * call each anyway. 2 MiB of zero pages until used. */
#define DIRECT_SLOTS ((size_t)1 << BINS_DIRECT_SLOTS_LOG2)
_Static_assert(DIRECT_SLOTS >= 2 * BINS_MMAP_MAX, "direct-map table holds every direct map");
static struct direct_slot {
    uintptr_t chunk;
    uint64_t uid;
} direct_table[DIRECT_SLOTS];
static int direct_lock;

void bins_direct_table_lock(void)
{
    while (__atomic_exchange_n(&direct_lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&direct_lock, __ATOMIC_RELAXED))
            ;
}

void bins_direct_table_unlock(void) { __atomic_store_n(&direct_lock, 0, __ATOMIC_RELEASE); }

static size_t direct_hash(uintptr_t c)
{
    return (size_t)(((uint64_t)c >> 4) * 0x9e3779b97f4a7c15ull >> (64 - BINS_DIRECT_SLOTS_LOG2));
}

/* the slot holding c, or the empty slot where it would go; under the lock */
static size_t direct_find_locked(uintptr_t c)
{
    size_t i = direct_hash(c);
    while (direct_table[i].chunk && direct_table[i].chunk != c)
        i = (i + 1) & (DIRECT_SLOTS - 1);
    return i;
}

static void direct_insert_locked(bins_heap *h, uintptr_t c)
{
    size_t i = direct_find_locked(c);
    direct_table[i].chunk = c;
    direct_table[i].uid = h->uid;
}

static void direct_remove_locked(uintptr_t c)
{
    size_t i = direct_find_locked(c);
    if (!direct_table[i].chunk)
        return;
    direct_table[i].chunk = 0;
    /* backward shift: move later entries of the run into the hole */
    for (size_t j = (i + 1) & (DIRECT_SLOTS - 1); direct_table[j].chunk; j = (j + 1) & (DIRECT_SLOTS - 1)) {
        size_t home = direct_hash(direct_table[j].chunk);
        bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            direct_table[i] = direct_table[j];
            direct_table[j].chunk = 0;
            i = j;
        }
    }
}

bool bins_direct_owned(bins_heap *h, bins_chunk *c)
{
    bins_direct_table_lock();
    size_t i = direct_find_locked((uintptr_t)c);
    bool ours = direct_table[i].chunk == (uintptr_t)c && direct_table[i].uid == h->uid;
    bins_direct_table_unlock();
    return ours;
}

void bins_direct_moved(bins_heap *h, bins_chunk *from, bins_chunk *to)
{
    bins_direct_table_lock();
    direct_remove_locked((uintptr_t)from);
    direct_insert_locked(h, (uintptr_t)to);
    bins_direct_table_unlock();
}

/* ---- direct maps ----
 * Layout: [check word][pad][chunk: prev_size = offset from the mapping
 * start, size = to the mapping end | IS_MMAPPED][user ...]. The check word
 * (secret ^ chunk address) sits right before the chunk. */
void *bins_direct_map(bins_heap *h, size_t nb)
{
    if (__atomic_load_n(&h->n_mmaps, __ATOMIC_RELAXED) >= h->mmap_max)
        return NULL;
    if (nb > SIZE_MAX / 2)
        return NULL;
    size_t len = bins_page_up(h, nb + BINS_MMAP_PREFIX + BINS_HDR);
    char *m = nf_pages_map(h->ps, len, 0);
    if (!m)
        return NULL;
    bins_chunk *c = (bins_chunk *)(m + BINS_MMAP_PREFIX);
    *(uint64_t *)m = h->secret ^ (uintptr_t)c;
    c->prev_size = BINS_MMAP_PREFIX;
    set_head(c, (len - BINS_MMAP_PREFIX) | IS_MMAPPED);
    bins_poison(m, len);
    bins_direct_table_lock();
    direct_insert_locked(h, (uintptr_t)c);
    bins_direct_table_unlock();
    __atomic_fetch_add(&h->n_mmaps, 1, __ATOMIC_RELAXED);
    bins_mapped_add(h, (int64_t)len);
    return chunk2mem(c);
}

void bins_direct_unmap(bins_heap *h, bins_chunk *c, bool raise)
{
    uintptr_t m = (uintptr_t)c - c->prev_size;
    size_t len = c->prev_size + csize(c);
    if ((m | len) & (h->page - 1))
        bins_die("munmap_chunk(): invalid pointer", chunk2mem(c));
    /* glibc's dynamic threshold: a freed direct map says requests of this
     * size are not rare; serve them from the heap from now on. Only free
     * says so: realloc's move (glibc's munmap_chunk) does not. */
    size_t sz = csize(c);
    if (raise && !__atomic_load_n(&h->threshold_fixed, __ATOMIC_RELAXED) &&
        sz > __atomic_load_n(&h->mmap_threshold, __ATOMIC_RELAXED) && sz <= BINS_MMAP_THRESHOLD_MAX) {
        __atomic_store_n(&h->mmap_threshold, sz, __ATOMIC_RELAXED);
        __atomic_store_n(&h->trim_threshold, 2 * sz, __ATOMIC_RELAXED);
    }
    bins_direct_table_lock();
    direct_remove_locked((uintptr_t)c);
    bins_direct_table_unlock();
    bins_unpoison((void *)m, len);
    nf_pages_unmap(h->ps, (void *)m, len);
    __atomic_fetch_sub(&h->n_mmaps, 1, __ATOMIC_RELAXED);
    bins_mapped_add(h, -(int64_t)len);
}

/* realloc of direct map c to chunk size nb without copying (glibc's
 * mremap_chunk): a shrink unmaps the tail pages; a growth moves the pages
 * into a fresh reservation of the new length (the page source's remap
 * needs a mapped target), so no byte is copied or faulted again and the
 * grown part is fresh zero pages. The caller owns c. Returns the user
 * pointer, or NULL (nothing changed: the caller copies) when the page
 * source cannot remap or a call fails. */
void *bins_direct_resize(bins_heap *h, bins_chunk *c, size_t nb)
{
    nf_pages *ps = h->ps;
    if (!nf_pages_can_remap(ps) || nb > SIZE_MAX / 2)
        return NULL;
    size_t off = c->prev_size, oldlen = off + csize(c);
    char *m = (char *)c - off;
    size_t len = bins_page_up(h, off + nb + BINS_HDR);
    if (((uintptr_t)m | oldlen) & (h->page - 1))
        bins_die("mremap_chunk(): invalid pointer", chunk2mem(c));
    if (len == oldlen)
        return chunk2mem(c);
    if (len < oldlen) {
        bins_unpoison(m + len, oldlen - len); /* user bytes (ASan), before another thread may map the range */
        if (nf_pages_unmap(ps, m + len, oldlen - len) != 0)
            return NULL;
        set_head(c, (len - off) | IS_MMAPPED);
        bins_mapped_add(h, -(int64_t)(oldlen - len));
        return chunk2mem(c);
    }
    char *t = nf_pages_map(ps, len, NF_MAP_NOACCESS);
    if (!t)
        return NULL;
    /* out of the table, and (ASan) unpoisoned, before the old range goes
     * back to the kernel: another thread's new direct map may get it at
     * once, and its entry and poison must not be the ones undone */
    bins_direct_table_lock();
    direct_remove_locked((uintptr_t)c);
    bins_direct_table_unlock();
    bins_unpoison(m, off + BINS_HDR);
    bins_chunk *nc = (bins_chunk *)(t + off);
    bool moved = nf_pages_remap(ps, m, oldlen, len, t) != NULL;
    if (!moved)
        nf_pages_unmap(ps, t, len);
    bins_poison(moved ? t : m, off + BINS_HDR); /* the caller unpoisons the user bytes */
    bins_direct_table_lock();
    direct_insert_locked(h, (uintptr_t)(moved ? nc : c));
    bins_direct_table_unlock();
    if (!moved)
        return NULL;
    *(uint64_t *)(t + off - BINS_MMAP_PREFIX) = h->secret ^ (uintptr_t)nc;
    set_head(nc, (len - off) | IS_MMAPPED);
    bins_mapped_add(h, (int64_t)(len - oldlen));
    return chunk2mem(nc);
}
