/* huge_rewrite.c: huge blocks replaced and rewritten, after a program
 * that keeps a few large buffers (std::make_unique<char[]>) and replaces
 * them at random. Each thread keeps up to SLOTS blocks (params.slots, or
 * 20 split between the threads, at least 2 each) of 5 to 25 MiB; an
 * operation pair picks a random slot, frees its block (when there is one)
 * and mallocs a new one of a random size, then writes every byte of it
 * (as value-initialisation does). The first SLOTS steps only malloc.
 *
 * What it measures: an allocator that unmaps or purges a freed huge block
 * and maps a fresh one pays a page fault per 4 KiB page (10-40 us on a VM)
 * where reuse costs a resident write (~0.1 us). */
#include <stdlib.h>

#include "wl.h"

enum { TOTAL_SLOTS = 20, MIN_SLOTS = 2, MIN_SIZE = 5 << 20, MAX_SIZE = 25 << 20 };

static bool huge_init(nf_wl_thread *t)
{
    unsigned share = TOTAL_SLOTS / t->params->threads;
    return nf_wl_slots_new(t, nf_wl_slots_count(t, share < MIN_SLOTS ? MIN_SLOTS : share)) != NULL;
}

/* nf_wl_alloc that writes every byte: the tag's byte everywhere, then
 * the tag (verify mode's fill already writes every byte). */
static void huge_alloc(nf_wl_thread *t, nf_wl_block *b, size_t n)
{
    if (!nf_wl_get(t, b, n))
        return;
    uint64_t tag = nf_wl_mix(b->id);
    if (!t->params->verify)
        memset(b->p, (unsigned char)tag, n);
    nf_wl_mark(t, b->p, n, tag);
}

static uint64_t huge_step(nf_wl_thread *t, uint64_t ops)
{
    nf_wl_slots *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        uint64_t x = nf_wl_rand(t);
        nf_wl_block *b = &s->slot[x % s->n];
        if (b->p) {
            nf_wl_release(t, b, true);
            done++;
        }
        size_t n = (MIN_SIZE + (size_t)((x >> 20) % (MAX_SIZE - MIN_SIZE + 1))) & ~(size_t)7;
        huge_alloc(t, b, n);
        done++;
    }
    return done;
}

const nf_workload nf_wl_huge_rewrite = {
    "huge-rewrite",
    "5-25 MiB blocks in 20 slots (split between threads) replaced at random, every byte written",
    200,
    huge_init,
    huge_step,
    NULL,
    nf_wl_slots_fini,
    false,
};
