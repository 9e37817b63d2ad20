/* binlists.c: the doubly-linked bins (unsorted, small, large) and fastbin
 * consolidation. Everything here runs under the arena's lock. */
#include "bins.h"

/* glibc's bin_index for 64-bit with 16-byte alignment: small bins one size
 * apart below 1024; large bins 64, 512, 4096, 32768, 262144 bytes wide. */
size_t bins_index(size_t sz)
{
    if (sz < BINS_MIN_LARGE_SIZE)
        return sz >> 4;
    if ((sz >> 6) <= 48)
        return 48 + (sz >> 6);
    if ((sz >> 9) <= 20)
        return 91 + (sz >> 9);
    if ((sz >> 12) <= 10)
        return 110 + (sz >> 12);
    if ((sz >> 15) <= 4)
        return 119 + (sz >> 15);
    if ((sz >> 18) <= 2)
        return 124 + (sz >> 18);
    return 126;
}

void bins_unlink_locked(bins_arena *ar, bins_chunk *c)
{
    (void)ar;
    bins_chunk *fd = c->fd, *bk = c->bk;
    if (fd->bk != c || bk->fd != c)
        bins_die("corrupted double-linked list at", chunk2mem(c));
    if (csize(c) != next_chunk(c)->prev_size)
        bins_die("corrupted size vs. prev_size at", chunk2mem(c));
    fd->bk = bk;
    bk->fd = fd;
}

static void insert_after(bins_chunk *pos, bins_chunk *c)
{
    c->bk = pos;
    c->fd = pos->fd;
    pos->fd->bk = c;
    pos->fd = c;
}

void bins_to_unsorted_locked(bins_arena *ar, bins_chunk *c) { insert_after(&ar->bins[1], c); }

/* Small bins are FIFO (insert at fd, take at bk). Large bins stay sorted,
 * largest at fd; equal sizes go after the first of their size. A linear
 * walk: glibc's skip list (fd_nextsize) is left out, bins are narrow. */
void bins_place_locked(bins_arena *ar, bins_chunk *c)
{
    size_t sz = csize(c), i = bins_index(sz);
    bins_chunk *head = &ar->bins[i];
    binmap_mark(ar, i);
    if (sz < BINS_MIN_LARGE_SIZE || head->fd == head) {
        insert_after(head, c);
        return;
    }
    bins_chunk *pos = head;
    while (pos->fd != head && csize(pos->fd) > sz)
        pos = pos->fd;
    if (pos->fd != head && csize(pos->fd) == sz) /* glibc: the second of its size, the first stays */
        pos = pos->fd;
    insert_after(pos, c);
}

/* Free every fastbin chunk for real: coalesce with its neighbours and put
 * the result in the unsorted bin (or the top). */
void bins_consolidate_locked(bins_arena *ar)
{
    ar->have_fastchunks = false;
    for (size_t i = 0; i < BINS_NFASTBINS; i++) {
        bins_chunk *c = ar->fastbins[i];
        ar->fastbins[i] = NULL;
        while (c) {
            if ((uintptr_t)c % BINS_ALIGN)
                bins_die("unaligned fastbin chunk detected at", c);
            bins_chunk *next = REVEAL_PTR(c->fd);
            bins_free_chunk_locked(ar, c);
            c = next;
        }
    }
}
