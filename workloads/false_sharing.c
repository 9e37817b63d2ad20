/* false_sharing.c: small objects allocated by one thread and written by
 * another, after the cache-scratch and cache-thrash patterns of Hoard's
 * suite. Each thread keeps SLOTS small blocks (24 B). An operation pair
 * frees one slot's block and mallocs a new one, which the thread then
 * writes WRITES times (a word between the tags). After every round the
 * slot arrays move one thread on, as in larson-like: each thread frees
 * blocks another allocated (scratch) and writes blocks it just got, so an
 * allocator that hands two threads pieces of one cache line makes their
 * writes fight over it (false sharing, thrash). The writes are not
 * operations; they are what false sharing slows. */
#include <stdlib.h>

#include "wl.h"

enum { SLOTS = 256, SIZE = 24, WRITES = 64 };

static size_t fs_size(nf_wl_thread *t)
{
    (void)t;
    return SIZE;
}

/* State: nf_wl_slots (always SLOTS), whose array moves between threads;
 * pos, the next slot to replace, stays with the thread. */
static bool fs_init(nf_wl_thread *t)
{
    if (!nf_wl_slots_new(t, SLOTS))
        return false;
    nf_wl_slots_fill(t, 1, fs_size);
    return true;
}

/* The writes land on the word between the tags, which is put back as it
 * was afterwards: in verify mode every byte of the block carries the
 * pattern, and the writes are the load, not a change of contents. */
static void fs_write(nf_wl_block *b)
{
    if (!b->p)
        return;
    volatile uint64_t *w = (volatile uint64_t *)((char *)b->p + 8); /* between the tags */
    uint64_t was = *w;
    for (int i = 0; i < WRITES; i++)
        *w += (uint64_t)i;
    *w = was;
}

static uint64_t fs_step(nf_wl_thread *t, uint64_t ops)
{
    nf_wl_slots *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        nf_wl_block *b = &s->slot[s->pos++ % SLOTS];
        nf_wl_replace(t, b, SIZE);
        fs_write(b);
        done += 2;
    }
    return done;
}

const nf_workload nf_wl_false_sharing = {
    "false-sharing",  "24 B blocks freed by another thread, then written 64 times by the thread that got them",
    2000000,          fs_init,
    fs_step,          nf_wl_slots_rotate,
    nf_wl_slots_fini, false,
};
