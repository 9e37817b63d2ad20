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

typedef struct trim_state {
    unsigned n;
    nf_wl_block *slot;
    unsigned i;       /* position in the cycle: 0..2n */
} trim_state;

static size_t trim_size(nf_wl_thread *t)
{
    return MIN_SIZE + (size_t)(nf_wl_rand(t) % (MAX_SIZE - MIN_SIZE));
}

static bool trim_init(nf_wl_thread *t)
{
    trim_state *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->n = t->params->slots ? t->params->slots : DEFAULT_SLOTS;
    s->slot = calloc(s->n, sizeof *s->slot);
    if (!s->slot) {
        free(s);
        return false;
    }
    t->state = s;
    for (unsigned i = 0; i < s->n; i += SURVIVOR)
        nf_wl_alloc(t, &s->slot[i], trim_size(t));
    t->ops = 0;   /* setup is not counted */
    return true;
}

static uint64_t trim_step(nf_wl_thread *t, uint64_t ops)
{
    trim_state *s = t->state;
    uint64_t done = 0;
    while (done < ops) {
        unsigned i = s->i < s->n ? s->i : s->i - s->n;
        if (i % SURVIVOR != 0) {
            if (s->i < s->n)
                nf_wl_alloc(t, &s->slot[i], trim_size(t));
            else
                nf_wl_release(t, &s->slot[i], true);
            done++;
        }
        if (++s->i == 2 * s->n) {
            t->mem->trim(t->mem->ctx);
            s->i = 0;
        }
    }
    return done;
}

static void trim_fini(nf_wl_thread *t)
{
    trim_state *s = t->state;
    for (unsigned i = 0; i < s->n; i++)
        nf_wl_release(t, &s->slot[i], false);
    free(s->slot);
    free(s);
}

const nf_workload nf_wl_trim = {
    "trim", "8192 slots of 256 B-4 KiB: fill nine in ten, free them, trim (survivors pin 1/10)",
    14744 * 5,   /* whole cycles: a cycle is 2 x 7372 ops (0.9 x 8192 slots, twice) */
    trim_init, trim_step, NULL, trim_fini,
};
