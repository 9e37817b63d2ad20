/* mem.c: the two memory interfaces a workload runs on (nf_mem_api):
 *   nf_mem_libc   the process's own malloc and free (a preloaded allocator
 *                 when there is one); trim through the system adapter,
 *                 which detects that allocator and calls its own purge
 *   nf_mem_heap   one heap of an nf_allocator; trim is the heap's
 */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"

static void *libc_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void libc_free(void *ctx, void *p) { (void)ctx; free(p); }

/* The system adapter's heap, made once: its detection (dlsym, dladdr)
 * must not race between worker threads that trim at the same time. */
static pthread_once_t system_once = PTHREAD_ONCE_INIT;
static nf_heap *system_heap;
static void system_heap_init(void) { system_heap = nf_allocator_system.create(NULL); }

static void libc_trim(void *ctx)
{
    (void)ctx;
    pthread_once(&system_once, system_heap_init);
    if (system_heap)
        nf_allocator_system.trim(system_heap, 0);
}

const nf_mem_api nf_mem_libc = {libc_malloc, libc_free, libc_trim, NULL};

static void *heap_malloc(void *ctx, size_t n)
{
    nf_mem_heap_ctx *c = ctx;
    return c->a->malloc(c->h, n);
}

static void heap_free(void *ctx, void *p)
{
    nf_mem_heap_ctx *c = ctx;
    c->a->free(c->h, p);
}

static void heap_trim(void *ctx)
{
    nf_mem_heap_ctx *c = ctx;
    c->a->trim(c->h, 0);
}

nf_mem_api nf_mem_heap(nf_mem_heap_ctx *storage, const nf_allocator *a, nf_heap *h)
{
    storage->a = a;
    storage->h = h;
    return (nf_mem_api){heap_malloc, heap_free, heap_trim, storage};
}
