/* larson_like.c: a server simulation after Larson and Krishnan: each
 * thread owns an array of slots, filled at setup (not counted); an
 * operation pair frees a random slot's block and mallocs a new one of a
 * random size from 8 to 1000 B. After every round the arrays move one
 * thread on (thread i takes thread i-1's), so most frees release blocks
 * another thread allocated. */
#include <stdlib.h>

#include "wl.h"

enum { DEFAULT_SLOTS = 1000, MIN_SIZE = 8, MAX_SIZE = 1000 };

static size_t larson_size(nf_wl_thread *t) { return MIN_SIZE + (size_t)(nf_wl_rand(t) % (MAX_SIZE - MIN_SIZE + 1)); }

/* State: nf_wl_slots, whose array moves between threads. */
static bool larson_init(nf_wl_thread *t)
{
    if (!nf_wl_slots_new(t, nf_wl_slots_count(t, DEFAULT_SLOTS)))
        return false;
    nf_wl_slots_fill(t, 1, larson_size);
    return true;
}

static uint64_t larson_step(nf_wl_thread *t, uint64_t ops)
{
    nf_wl_slots *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        nf_wl_block *b = &s->slot[nf_wl_rand(t) % s->n];
        nf_wl_replace(t, b, larson_size(t));
        done += 2;
    }
    return done;
}

const nf_workload nf_wl_larson_like = {
    "larson-like",    "threads replace random 8-1000 B blocks in slots handed to the next thread each round",
    2000000,          larson_init,
    larson_step,      nf_wl_slots_rotate,
    nf_wl_slots_fini, false,
};
