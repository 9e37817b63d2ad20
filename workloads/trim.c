/* trim.c: reach a peak, free 90%, give memory back. Each thread keeps N
 * slots (default 8192) of random 256 B-4 KiB blocks; every tenth slot
 * holds a survivor, allocated at setup (not counted) and kept for the
 * run. A cycle
 *   peak   mallocs the other nine slots in ten   (0.9 N ops)
 *   free   frees them again                     (0.9 N ops)
 *   trim   asks the allocator to give back what it can (not an op)
 * so after whole cycles a thread holds the survivors (about 1/10 of the
 * peak, spread over the whole heap) and the allocator has just trimmed:
 * compare final RSS with peak RSS.
 *
 * The trim is the memory interface's (nf_mem_api.trim): a heap's trim, or
 * for the process's malloc the allocator's own purge (allocators/system.c). */
#include <stdlib.h>

#include "wl.h"

enum { DEFAULT_SLOTS = 8192, MIN_SIZE = 256, MAX_SIZE = 4096, SURVIVOR = 10 };

static size_t trim_size(nf_wl_thread *t) { return MIN_SIZE + (size_t)(nf_wl_rand(t) % (MAX_SIZE - MIN_SIZE)); }

/* State: nf_wl_slots, pos the position in the cycle (0..2n). */
static bool trim_init(nf_wl_thread *t)
{
    if (!nf_wl_slots_new(t, nf_wl_slots_count(t, DEFAULT_SLOTS)))
        return false;
    nf_wl_slots_fill(t, SURVIVOR, trim_size);
    return true;
}

static uint64_t trim_step(nf_wl_thread *t, uint64_t ops)
{
    nf_wl_slots *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        unsigned i = s->pos < s->n ? s->pos : s->pos - s->n;
        if (i % SURVIVOR != 0) {
            if (s->pos < s->n)
                nf_wl_alloc(t, &s->slot[i], trim_size(t));
            else
                nf_wl_release(t, &s->slot[i], true);
            done++;
        }
        if (++s->pos == 2 * s->n) {
            t->mem->trim(t->mem->ctx);
            s->pos = 0;
        }
    }
    return done;
}

const nf_workload nf_wl_trim = {
    "trim",    "8192 slots of 256 B-4 KiB: fill nine in ten, free them, trim (survivors pin 1/10)",
    14744 * 5, /* whole cycles: a cycle is 2 x 7372 ops (0.9 x 8192 slots, twice) */
    trim_init, trim_step,
    NULL,      nf_wl_slots_fini,
    false,
};
