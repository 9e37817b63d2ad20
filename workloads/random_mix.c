/* random_mix.c: random sizes from 8 B to 64 KiB with a heavy tail and
 * random lifetimes: each operation picks a random slot and fills it when
 * empty or frees it when full (about half the slots stay live).
 *
 * Size: the exponent e is the least of three uniform draws in [0, 12], so
 * P(e >= k) = ((13 - k) / 13)^3; the size is uniform in [8 << e, 16 << e),
 * capped at 64 KiB: most blocks are under 256 B, one in ~2200 is 32-64 KiB. */
#include <stdlib.h>

#include "wl.h"

enum { DEFAULT_SLOTS = 4096, MAX_SIZE = 64 << 10 };

static size_t mix_size(nf_wl_thread *t)
{
    uint64_t x = nf_wl_rand(t);
    unsigned e1 = (unsigned)(x % 13), e2 = (unsigned)((x >> 8) % 13), e3 = (unsigned)((x >> 16) % 13);
    unsigned e = e1 < e2 ? e1 : e2;
    e = e < e3 ? e : e3;
    size_t base = (size_t)8 << e;
    size_t n = base + (size_t)((x >> 24) % base);
    return n > MAX_SIZE ? MAX_SIZE : n;
}

static bool mix_init(nf_wl_thread *t) { return nf_wl_slots_new(t, nf_wl_slots_count(t, DEFAULT_SLOTS)) != NULL; }

static uint64_t mix_step(nf_wl_thread *t, uint64_t ops)
{
    nf_wl_slots *s = t->state;
    for (uint64_t i = 0; i < ops; i++) {
        nf_wl_block *b = &s->slot[nf_wl_rand(t) % s->n];
        if (b->p)
            nf_wl_release(t, b, true);
        else
            nf_wl_alloc(t, b, mix_size(t));
    }
    return ops;
}

const nf_workload nf_wl_random_mix = {
    "random-mix",     "random sizes 8 B-64 KiB (heavy tail), random lifetimes in 4096 slots a thread",
    2000000,          mix_init,
    mix_step,         NULL,
    nf_wl_slots_fini, false,
};
