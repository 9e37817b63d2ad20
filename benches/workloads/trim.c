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
 * The trim: on a heap of an nf_allocator, its trim; through the
 * process's malloc, the allocator's own purge when one is loaded
 * (jemalloc: mallctl "arena.<all>.purge"; mimalloc: mi_collect(true);
 * tcmalloc: MallocExtension_ReleaseFreeMemory), else malloc_trim(0)
 * (glibc, and notfree's drop-ins). */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
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

/* The process allocator's purge, looked up once. */
static void trim_process(void)
{
    static int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
    static void (*mi_collect_fn)(bool);
    static void (*tc_release_fn)(void);
    static int looked;
    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
        *(void **)&mallctl_fn = dlsym(RTLD_DEFAULT, "mallctl");
        *(void **)&mi_collect_fn = dlsym(RTLD_DEFAULT, "mi_collect");
        *(void **)&tc_release_fn = dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory");
        __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    }
    if (mallctl_fn)
        mallctl_fn("arena.4096.purge", NULL, NULL, NULL, 0);   /* 4096: MALLCTL_ARENAS_ALL */
    else if (mi_collect_fn)
        mi_collect_fn(true);
    else if (tc_release_fn)
        tc_release_fn();
    else
        malloc_trim(0);
}

static void trim_now(nf_wl_thread *t)
{
    const nf_mem_heap_ctx *c = t->mem->ctx;   /* NULL for nf_mem_libc */
    if (c && t->mem->malloc != nf_mem_libc.malloc)
        c->a->trim(c->h, 0);
    else
        trim_process();
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
            trim_now(t);
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
    trim_init, trim_step, NULL, trim_fini,
};
