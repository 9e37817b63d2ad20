/* large.c: sizes around and above the mmap threshold, 64 KiB to 16 MiB,
 * with realloc growth. Each thread keeps SLOTS blocks; an operation picks
 * a random slot and
 *   - when empty: mallocs 64 KiB << k, where k is the least of two uniform
 *     draws in [0, 6] (most blocks 64-256 KiB, one in ~25 is 4 MiB or more);
 *   - when full: reallocs it to twice its size (one time in two, while
 *     under 16 MiB), else frees it.
 * One operation is one malloc, realloc or free call. Every block is
 * tagged on each of its pages, so what is allocated is also touched (and
 * faulted in): the cost of a fresh mapping is part of the figure. A
 * realloc keeps the tag's first word (checked) and then tags the new
 * size. realloc goes through the memory interface, like malloc. */
#include <stdlib.h>

#include "wl.h"

enum { SLOTS = 8, MIN_SIZE = 64 << 10, MAX_SIZE = 16 << 20 };

typedef struct large_state {
    nf_wl_block slot[SLOTS];
} large_state;

static bool large_init(nf_wl_thread *t)
{
    t->state = calloc(1, sizeof(large_state));
    return t->state != NULL;
}

static void large_grow(nf_wl_thread *t, nf_wl_block *b)
{
    uint64_t tag = nf_wl_mix(b->id);
    size_t n = (size_t)b->size * 2;
    void *q = t->mem->realloc(t->mem->ctx, b->p, n);
    t->ops++;
    if (!q) {
        t->failed++;
        return; /* b is still valid */
    }
    /* realloc keeps the old bytes: the head (every byte in verify mode) */
    if (!nf_wl_check(t, q, t->params->verify ? b->size : 8, n, tag)) {
        t->corrupt++;
        b->id = ++t->next_id; /* retag as a new block */
        tag = nf_wl_mix(b->id);
    }
    b->p = q;
    b->size = (uint32_t)n;
    nf_wl_mark(t, q, n, tag);
}

static uint64_t large_step(nf_wl_thread *t, uint64_t ops)
{
    large_state *s = t->state;
    for (uint64_t i = 0; i < ops; i++) {
        uint64_t x = nf_wl_rand(t);
        nf_wl_block *b = &s->slot[x % SLOTS];
        if (!b->p) {
            unsigned k1 = (unsigned)((x >> 8) % 7), k2 = (unsigned)((x >> 16) % 7);
            nf_wl_alloc(t, b, (size_t)MIN_SIZE << (k1 < k2 ? k1 : k2));
        } else if ((x >> 24) & 1 && (size_t)b->size * 2 <= MAX_SIZE) {
            large_grow(t, b);
        } else {
            nf_wl_release(t, b, true);
        }
    }
    return ops;
}

static void large_fini(nf_wl_thread *t)
{
    large_state *s = t->state;
    for (unsigned i = 0; i < SLOTS; i++)
        nf_wl_release(t, &s->slot[i], false);
    free(s);
}

const nf_workload nf_wl_large = {
    "large",    "64 KiB-16 MiB blocks in 8 slots a thread, realloc growth to twice the size",
    2000,       large_init,
    large_step, NULL,
    large_fini, false,
};
