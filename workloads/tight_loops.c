/* tight_loops.c: each thread mallocs a few small blocks and frees them
 * again, in a tight loop, nothing shared: an iteration mallocs 1 to 4
 * blocks of 8 to 128 B (random, 8-byte multiples), tags them, and frees
 * them in reverse order. Unlike small-churn (batches of 64 of one size),
 * the live set is a handful of blocks of mixed sizes: the fast path of
 * malloc and free, with a cache that holds one or two blocks per size. */
#include <stdlib.h>

#include "wl.h"

enum { MAX_BLOCKS = 4, MAX_SIZE = 128 };

typedef struct tight_state {
    nf_wl_block b[MAX_BLOCKS];
} tight_state;

static bool tight_init(nf_wl_thread *t) { return nf_wl_state_new(t, sizeof(tight_state)); }

static uint64_t tight_step(nf_wl_thread *t, uint64_t ops)
{
    tight_state *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        uint64_t x = nf_wl_rand(t);
        unsigned k = 1 + (unsigned)(x % MAX_BLOCKS);
        for (unsigned i = 0; i < k; i++)
            nf_wl_alloc(t, &s->b[i], 8 * (1 + (size_t)((x >> (8 + 4 * i)) % (MAX_SIZE / 8))));
        for (unsigned i = k; i-- > 0;)
            nf_wl_release(t, &s->b[i], true);
        done += 2 * k;
    }
    return done;
}

const nf_workload nf_wl_tight_loops = {
    "tight-loops",    "malloc 1-4 blocks of 8-128 B and free them again, in a loop (nothing shared)",
    60000000,         tight_init,
    tight_step,       NULL,
    nf_wl_state_free, false,
};
