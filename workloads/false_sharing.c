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

typedef struct fs_state {
    nf_wl_block *slot;   /* moves between threads */
    unsigned next;
} fs_state;

static bool fs_init(nf_wl_thread *t)
{
    fs_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->slot = calloc(SLOTS, sizeof *s->slot);
    if (!s->slot) {
        free(s);
        return false;
    }
    t->state = s;
    for (unsigned i = 0; i < SLOTS; i++)
        nf_wl_alloc(t, &s->slot[i], SIZE);
    t->ops = 0;   /* setup is not counted */
    return true;
}

static void fs_write(nf_wl_block *b)
{
    if (!b->p)
        return;
    volatile uint64_t *w = (volatile uint64_t *)((char *)b->p + 8);   /* between the tags */
    uint64_t keep = *w;   /* verify mode fills this word too: put it back */
    for (int i = 0; i < WRITES; i++)
        *w += (uint64_t)i;
    *w = keep;
}

static uint64_t fs_step(nf_wl_thread *t, uint64_t ops)
{
    fs_state *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        nf_wl_block *b = &s->slot[s->next++ % SLOTS];
        nf_wl_release(t, b, true);
        nf_wl_alloc(t, b, SIZE);
        fs_write(b);
        done += 2;
    }
    return done;
}

static void fs_between(nf_wl_thread *threads, unsigned n)
{
    if (n < 2)
        return;
    nf_wl_block *last = ((fs_state *)threads[n - 1].state)->slot;
    for (unsigned i = n - 1; i > 0; i--)
        ((fs_state *)threads[i].state)->slot = ((fs_state *)threads[i - 1].state)->slot;
    ((fs_state *)threads[0].state)->slot = last;
}

static void fs_fini(nf_wl_thread *t)
{
    fs_state *s = t->state;
    for (unsigned i = 0; i < SLOTS; i++)
        nf_wl_release(t, &s->slot[i], false);
    free(s->slot);
    free(s);
}

const nf_workload nf_wl_false_sharing = {
    "false-sharing", "24 B blocks freed by another thread, then written 64 times by the thread that got them",
    2000000,
    fs_init, fs_step, fs_between, fs_fini,
};
