/* mem.c: the two memory interfaces a workload runs on (nf_mem_api):
 *   nf_mem_libc   the process's own malloc and free (a preloaded allocator
 *                 when there is one); trim through the system adapter,
 *                 which detects that allocator and calls its own purge
 *   nf_mem_heap   one heap of an nf_allocator; trim is the heap's
 */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"

static void *libc_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}
static void libc_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}
static void *libc_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return realloc(p, n);
}
static void *libc_calloc(void *ctx, size_t n, size_t size)
{
    (void)ctx;
    return calloc(n, size);
}

static void *libc_memalign(void *ctx, size_t align, size_t n)
{
    (void)ctx;
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *); /* posix_memalign's floor; still a power of two */
    return posix_memalign(&p, align, n) == 0 ? p : NULL;
}

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

const nf_mem_api nf_mem_libc = {
    .malloc = libc_malloc,
    .free = libc_free,
    .trim = libc_trim,
    .ctx = NULL,
    .realloc = libc_realloc,
    .calloc = libc_calloc,
    .memalign = libc_memalign,
};

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

static void *heap_realloc(void *ctx, void *p, size_t n)
{
    nf_mem_heap_ctx *c = ctx;
    return c->a->realloc(c->h, p, n);
}

static void *heap_calloc(void *ctx, size_t n, size_t size)
{
    nf_mem_heap_ctx *c = ctx;
    return c->a->calloc(c->h, n, size);
}

static void *heap_memalign(void *ctx, size_t align, size_t n)
{
    nf_mem_heap_ctx *c = ctx;
    return c->a->memalign(c->h, align, n);
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
    return (nf_mem_api){
        .malloc = heap_malloc,
        .free = heap_free,
        .trim = heap_trim,
        .ctx = storage,
        .realloc = heap_realloc,
        .calloc = heap_calloc,
        .memalign = heap_memalign,
    };
}
