/* free.c: the generic free path (a page with flags, another thread's page,
 * a huge block), the checks that catch misuse, and the abort that names the
 * allocator. The fast local free is in iface.c.
 *
 * What shard catches (default and secure builds alike; shard_config.h):
 *   - a pointer it never gave out: outside its segments, misaligned, in
 *     another heap, in a segment's header or a page's tail, or inside a
 *     block (not its start; in a page with memalign'd blocks a pointer p
 *     inside block b passes only if p - b is below p's lowest set bit, as
 *     every pointer memalign hands out is);
 *   - a double free, at the second free, when the block is still free: in
 *     the page's free or local_free list or in its thread_free list (freed
 *     by another thread), whichever threads did the two frees. The block's
 *     first word, its encoded link, is the marker: the owner confirms it by
 *     a scan of the page's lists (a false marker costs a scan, never an
 *     abort); another thread aborts on the marker alone (a live block's
 *     first word decodes as a link by a chance of about 2^-40);
 *   - a double free of a page's last block once the page went back to its
 *     segment, and of a huge block while its segment is mapped or cached;
 *   - a use-after-free write over a free block's link, when the block is
 *     popped (malloc) or its list walked (collect): the decoded link must
 *     lie in the page's blocks (and be a block start in secure mode).
 * What it misses:
 *   - a double free after the block was handed out again (that free frees
 *     the new owner's block; the new owner's free is then the one caught);
 *   - a double free after the block's first word was overwritten (a write
 *     after free that is not a link is not seen until it is popped);
 *   - two threads freeing one block at the same moment: both may pass the
 *     marker; collect catches the cycle or the count later;
 *   - a double free of a page's block after the page was reused.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "shard.h"
#include "../misuse.h"

/* Misuse: the report every allocator of ours gives (misuse.h). */
_Noreturn void shard_die(const char *what, const void *p) { nf_alloc_die("shard", what, p, NULL); }

#define NEVER_GAVE "free of a pointer it never gave out:"

/* Writes "0x<hex of v>" at out (19 bytes at most with the NUL). */
static char *put_hex(char *out, uintptr_t v)
{
    int digits = 1;
    while (digits < 16 && (v >> (4 * digits)))
        digits++;
    *out++ = '0';
    *out++ = 'x';
    for (int i = digits - 1; i >= 0; i--)
        *out++ = "0123456789abcdef"[(v >> (4 * i)) & 15];
    *out = 0;
    return out;
}

/* A free list's link that decodes outside its page's blocks: the block
 * that held it was written after it was freed. Names the page and the
 * link; never allocates. */
SHARD_NOINLINE _Noreturn void shard_bad_link(const shard_page *pg, const void *link)
{
    char why[64] = "bad link ";
    put_hex(why + 9, (uintptr_t)link);
    nf_alloc_die("shard", "corrupted free list (written after free?) in the page at", pg->area, why);
}

shard_block *shard_next_checked(const shard_page *pg, const shard_block *b)
{
    shard_block *nx = shard_next(pg, b);
    if (shard_checks && nx && !shard_link_ok(pg, nx))
        shard_bad_link(pg, nx);
    return nx;
}

/* The start of the block that holds p, or NULL when p is outside the blocks. */
uint8_t *shard_block_start(const shard_page *pg, const void *p)
{
    uintptr_t a = (uintptr_t)p, area = (uintptr_t)pg->area;
    /* reserved: fixed while the page is in use (capacity grows under the owner) */
    if (a < area || a >= area + (uintptr_t)pg->reserved * pg->bsize)
        return NULL;
    return pg->area + ((a - area) / pg->bsize) * pg->bsize;
}

/* The page of a pointer this heap gave out, or abort. Nothing is read at
 * an address the segment map does not name as ours. */
shard_page *shard_check_ptr(nf_heap *h, const void *p, shard_segment **segp)
{
    uintptr_t a = (uintptr_t)p;
    if (a % SHARD_ALIGN)
        shard_die(NEVER_GAVE, p);
    uint8_t m = shard_segmap_at(p);
    if (m == SHARD_SEGMAP_NONE)
        shard_die(NEVER_GAVE, p);
    uintptr_t i = a >> SHARD_SEGMENT_SHIFT;
    while (m == SHARD_SEGMAP_MORE && i > 0)
        m = __atomic_load_n(&shard_segmap[--i], __ATOMIC_RELAXED);
    if (m != SHARD_SEGMAP_START || __atomic_load_n(&shard_segmap[i], __ATOMIC_ACQUIRE) != SHARD_SEGMAP_START)
        shard_die(NEVER_GAVE, p);
    shard_segment *s = (shard_segment *)(i << SHARD_SEGMENT_SHIFT);
    if (s->heap != h)
        shard_die(NEVER_GAVE, p);
    shard_page *pg = shard_page_of(s, p);
    if ((size_t)(pg - s->pages) >= s->npages)
        shard_die(NEVER_GAVE, p);
    if (!pg->in_use)
        shard_die("double free of", p);
    uint8_t *b = s->kind == SHARD_HUGE ? pg->area : shard_block_start(pg, p);
    if (!b)
        shard_die(NEVER_GAVE, p);
    /* memalign hands out q = align_up(b, A) with q - b < A <= q's lowest set bit */
    uintptr_t inside = a - (uintptr_t)b;
    if (inside && (!(shard_page_flags(pg) & SHARD_PAGE_ALIGNED) || inside >= (a & -a)))
        nf_alloc_die("shard", NEVER_GAVE, p, "inside a block, not its start");
    *segp = s;
    return pg;
}

/* The owner's free of a block whose first word looks like a link (the
 * double-free marker): the other threads' frees join local_free, then the
 * block is looked for in the page's lists. Not there: a false marker (the
 * program's data), and the free goes on. */
static void check_double_free_local(shard_page *pg, const shard_block *b)
{
    shard_page_collect(pg, false);
    const shard_block *lists[2] = {pg->free, pg->local_free};
    for (int l = 0; l < 2; l++) {
        uint32_t n = 0;
        for (const shard_block *x = lists[l]; x && n <= pg->capacity; x = shard_next_checked(pg, x), n++)
            if (x == b)
                shard_die("double free of", b);
    }
}

/* A free by another thread: push onto thread_free with a CAS. If the page
 * is full (DELAYED) the same CAS makes it NOTIFIED and we raise the owner's
 * notice. The owner is read before the CAS: after it, the page may be gone. */
static void free_mt(shard_theap *th, shard_page *pg, shard_block *b)
{
    SHARD_INC(th->paths[SHARD_PATH_THREAD_FREE]);
    uintptr_t old = __atomic_load_n(&pg->thread_free, __ATOMIC_RELAXED), state;
    shard_theap *owner;
    do {
        state = old & SHARD_TF_MASK;
        owner = state == SHARD_TF_DELAYED ? shard_page_owner(pg) : NULL;
        shard_set_next(pg, b, (shard_block *)(old & ~(uintptr_t)SHARD_TF_MASK));
    } while (!__atomic_compare_exchange_n(&pg->thread_free, &old,
                                          (uintptr_t)b | (state == SHARD_TF_DELAYED ? SHARD_TF_NOTIFIED : state), 1,
                                          __ATOMIC_RELEASE, __ATOMIC_RELAXED));
    if (owner)
        __atomic_store_n(&owner->delayed_notice, 1, __ATOMIC_RELAXED);
}

static void free_generic(nf_heap *h, void *p);

SHARD_NOINLINE void shard_free_generic(nf_heap *h, void *p)
{
    int saved = errno;
    free_generic(h, p);
    errno = saved;
}

SHARD_NOINLINE void shard_page_retire_keep_errno(shard_theap *th, shard_page *pg)
{
    int saved = errno;
    shard_page_retire(th, pg);
    errno = saved;
}

static void free_generic(nf_heap *h, void *p)
{
    shard_segment *s;
    shard_page *pg = shard_check_ptr(h, p, &s);
    shard_theap *th = shard_theap_fast(h);
    if (!th)
        th = shard_theap_get(h);
    if (s->kind == SHARD_HUGE) {
        if (th) {
            SHARD_INC(th->frees);
            SHARD_ADD(th->live_local, -(int64_t)pg->bsize);
        } else {
            __atomic_fetch_sub(&h->live, (int64_t)pg->bsize, __ATOMIC_RELAXED);
        }
        shard_huge_free(h, th, s);
        return;
    }
    shard_block *b = (shard_block *)shard_block_start(pg, p);
    if (!th) /* out of memory for a theap: the owner will never see a local free from us */
        shard_die("free with no thread heap (out of memory) of", p);
    bool mine = shard_page_owner(pg) == th;
    if (!shard_checks) {
        if (mine && b == pg->local_free)
            shard_die("double free of", p);
    } else if (shard_looks_free(pg, b)) {
        if (!mine) /* other threads may not walk the owner's lists: the marker decides */
            nf_alloc_die("shard", "double free of", p, "its first word is a free-list link of its page");
        check_double_free_local(pg, b);
    }
    SHARD_INC(th->frees);
    SHARD_ADD(th->live_local, -(int64_t)pg->bsize);
    if (!mine) {
        shard_poison(b, pg->bsize);
        free_mt(th, pg, b);
        return;
    }
    shard_poison(b, pg->bsize);
    shard_set_next(pg, b, pg->local_free);
    pg->local_free = b;
    if (--pg->used == 0)
        shard_page_retire(th, pg);
    else if (pg->flags & SHARD_PAGE_IN_FULL)
        shard_page_unfull(th, pg);
}
