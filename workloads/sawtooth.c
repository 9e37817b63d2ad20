/* sawtooth.c: grow to a known peak, free everything, again: the rhythm the
 * RSS timeline of `notfree compare` is tested on, and a workload where an
 * allocator that keeps its freed memory shows it at every trough. Each
 * thread keeps N slots (params.slots, default 8192) of random 1-3 KiB
 * blocks (2 KiB on average: 16 MiB live per thread at the peak). A cycle
 *   grow   mallocs slot 0 to N-1     (N ops; every page of every block written)
 *   drop   frees slot 0 to N-1       (N ops; nothing live)
 * with no trim: the allocator gives memory back at the trough only when it
 * does so on its own. */
#include <stdlib.h>

#include "wl.h"

enum { DEFAULT_SLOTS = 8192, MIN_SIZE = 1024, MAX_SIZE = 3072 };

/* State: nf_wl_slots, pos the position in the cycle (0..2n). */
static bool saw_init(nf_wl_thread *t) { return nf_wl_slots_new(t, nf_wl_slots_count(t, DEFAULT_SLOTS)) != NULL; }

static uint64_t saw_step(nf_wl_thread *t, uint64_t ops)
{
    nf_wl_slots *s = t->state;
    uint64_t done = 0;
    for (; done < ops; done++, s->pos = (s->pos + 1) % (2 * s->n)) {
        if (s->pos < s->n)
            nf_wl_alloc(t, &s->slot[s->pos], MIN_SIZE + (size_t)(nf_wl_rand(t) % (MAX_SIZE - MIN_SIZE + 1)));
        else
            nf_wl_release(t, &s->slot[s->pos - s->n], true);
    }
    return done;
}

const nf_workload nf_wl_sawtooth = {
    "sawtooth",
    "grow to 16 MiB of 1-3 KiB blocks, free them all, again (no trim)",
    16 * 2 * DEFAULT_SLOTS,
    saw_init,
    saw_step,
    NULL,
    nf_wl_slots_fini,
    false,
};
