/* allocators/once.h: the process-wide heap of a drop-in allocator, made
 * once. Internal to allocators/.
 *
 * Not pthread_once: this runs inside the first malloc of the process, and
 * a plain atomic state word needs nothing from libc but sched_yield. The
 * state goes 0 (none) -> 1 (one thread is making it) -> 2 (made); threads
 * that arrive during 1 wait for 2. */
#ifndef NOTFREE_ALLOCATORS_ONCE_H
#define NOTFREE_ALLOCATORS_ONCE_H

#include "notfree/alloc.h"

#include <sched.h>

typedef struct nf_heap_once {
    nf_heap *heap; /* valid once state is 2 */
    int state;
} nf_heap_once;

static inline nf_heap *nf_heap_once_get(nf_heap_once *o, nf_heap *(*make)(void))
{
    if (__atomic_load_n(&o->state, __ATOMIC_ACQUIRE) == 2)
        return o->heap;
    int expect = 0;
    if (__atomic_compare_exchange_n(&o->state, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        o->heap = make();
        __atomic_store_n(&o->state, 2, __ATOMIC_RELEASE);
        return o->heap;
    }
    while (__atomic_load_n(&o->state, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
    return o->heap;
}

#endif
