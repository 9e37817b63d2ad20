/* passive_false_sharing.c: Hoard's cache-scratch pattern. Before every
 * round the runner's own thread mallocs one small block (SIZE) per worker,
 * one after the other, so that neighbouring workers' blocks may share a
 * cache line, and hands each worker its block. A worker's round starts by
 * freeing the block it was handed (a free of a block another thread
 * allocated), then loops: malloc SIZE, write a word of it WRITES times,
 * free it. An allocator that gives the freed block back to the freeing
 * thread's own cache hands it out again to that thread's next malloc: the
 * workers then write blocks that sit side by side in one line (passive
 * false sharing). One that returns a remote free to the block's owner
 * serves the worker from its own memory instead. The writes are not
 * operations; they are what false sharing slows. */
#include <stdlib.h>

#include "wl.h"

enum { SIZE = 16, WRITES = 256 };

typedef struct pfs_state {
    nf_wl_block handed; /* malloc'd by the runner's thread, freed here */
    nf_wl_block b;
} pfs_state;

static bool pfs_init(nf_wl_thread *t) { return nf_wl_state_new(t, sizeof(pfs_state)); }

static uint64_t pfs_step(nf_wl_thread *t, uint64_t ops)
{
    pfs_state *s = t->state;
    uint64_t done = 0;
    if (s->handed.p) {
        nf_wl_release(t, &s->handed, true);
        done++;
    }
    while (done < ops) {
        nf_wl_alloc(t, &s->b, SIZE);
        if (s->b.p) {
            volatile uint64_t *w = (volatile uint64_t *)((char *)s->b.p + 8); /* the last tag's word */
            uint64_t keep = *w;
            for (int i = 0; i < WRITES; i++)
                *w += (uint64_t)i + 1;
            *w = keep;
        }
        nf_wl_release(t, &s->b, true);
        done += 2;
    }
    return done;
}

/* The runner's thread, every worker stopped: a block for each, in a row. */
static void pfs_between(nf_wl_thread *threads, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        pfs_state *s = threads[i].state;
        if (!s->handed.p)
            nf_wl_alloc(&threads[i], &s->handed, SIZE);
    }
}

static void pfs_fini(nf_wl_thread *t)
{
    nf_wl_release_all(t, &((pfs_state *)t->state)->handed, 1);
    nf_wl_state_free(t);
}

const nf_workload nf_wl_passive_false_sharing = {
    "passive-false-sharing",
    "free a 16 B block another thread allocated, then malloc, write 256 times, free, in a loop",
    6000000,
    pfs_init,
    pfs_step,
    pfs_between,
    pfs_fini,
    false,
};
