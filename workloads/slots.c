/* slots.c: the state shapes several workloads share (wl.h): an array of
 * block slots per thread, handed on between rounds, freed at the end; and
 * a plain zeroed state. One place, so that a workload file holds only what
 * makes it differ. */
#include <stdlib.h>

#include "wl.h"

unsigned nf_wl_slots_count(const nf_wl_thread *t, unsigned def) { return t->params->slots ? t->params->slots : def; }

nf_wl_slots *nf_wl_slots_new(nf_wl_thread *t, unsigned n)
{
    nf_wl_slots *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n = n;
    s->slot = calloc(n, sizeof *s->slot);
    if (!s->slot) {
        free(s);
        return NULL;
    }
    t->state = s;
    return s;
}

void nf_wl_slots_fill(nf_wl_thread *t, unsigned stride, size_t (*size)(nf_wl_thread *t))
{
    nf_wl_slots *s = t->state;
    for (unsigned i = 0; i < s->n; i += stride)
        nf_wl_alloc(t, &s->slot[i], size(t));
    t->ops = 0; /* setup is not counted */
}

void nf_wl_slots_rotate(nf_wl_thread *threads, unsigned n)
{
    if (n < 2)
        return;
    nf_wl_block *last = ((nf_wl_slots *)threads[n - 1].state)->slot;
    for (unsigned i = n - 1; i > 0; i--)
        ((nf_wl_slots *)threads[i].state)->slot = ((nf_wl_slots *)threads[i - 1].state)->slot;
    ((nf_wl_slots *)threads[0].state)->slot = last;
}

void nf_wl_release_all(nf_wl_thread *t, nf_wl_block *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nf_wl_release(t, &b[i], false);
}

void nf_wl_slots_fini(nf_wl_thread *t)
{
    nf_wl_slots *s = t->state;
    nf_wl_release_all(t, s->slot, s->n);
    free(s->slot);
    free(s);
}

bool nf_wl_state_new(nf_wl_thread *t, size_t size)
{
    t->state = calloc(1, size);
    return t->state != NULL;
}

void nf_wl_state_free(nf_wl_thread *t) { free(t->state); }
