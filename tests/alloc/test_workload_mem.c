/* test_workload_mem.c: the workloads reach memory only through nf_mem_api.
 *   trim      the trim workload calls the interface's trim once per cycle
 *             (2 x the non-survivor slots), on a heap and through the
 *             process's malloc
 *   defaults  every workload has a default operation count, and the two
 *             cyclic ones a whole number of cycles
 *   system    the system adapter's trim gives glibc's free memory back
 *             (malloc_trim's 1), where glibc serves malloc */
#include "../common/check.h"

#include "notfree/workload.h"

#include <string.h>

typedef struct counting {
    const nf_mem_api *inner;
    unsigned trims;
} counting;

static void *c_malloc(void *ctx, size_t n)
{
    counting *c = ctx;
    return c->inner->malloc(c->inner->ctx, n);
}

static void c_free(void *ctx, void *p)
{
    counting *c = ctx;
    c->inner->free(c->inner->ctx, p);
}

static void *c_realloc(void *ctx, void *p, size_t n)
{
    counting *c = ctx;
    return c->inner->realloc(c->inner->ctx, p, n);
}

static void c_trim(void *ctx)
{
    counting *c = ctx;
    __atomic_add_fetch(&c->trims, 1, __ATOMIC_RELAXED);
    c->inner->trim(c->inner->ctx);
}

/* 100 slots, 10 survivors: a cycle is 2 x 90 operations. */
static unsigned trims_of(const nf_mem_api *inner, unsigned threads, uint64_t cycles)
{
    counting c = {inner, 0};
    nf_mem_api m = {.malloc = c_malloc,
                    .free = c_free,
                    .trim = c_trim,
                    .ctx = &c,
                    .realloc = c_realloc}; /* the trim workload calls no other */
    nf_workload_params p = {.threads = threads, .seed = 7, .slots = 100};
    nf_workload_result r;
    REQUIRE(nf_workload_run_ops(nf_workload_find("trim"), &p, &m, cycles * 180, 180, &r) == 0);
    REQUIREF(r.ops == cycles * 180 * threads, "ops %llu", (unsigned long long)r.ops);
    return c.trims;
}

static void test_trim(void)
{
    REQUIREF(trims_of(&nf_mem_libc, 1, 3) == 3, "libc: %u trims", trims_of(&nf_mem_libc, 1, 3));
    REQUIRE(trims_of(&nf_mem_libc, 2, 4) == 8); /* each thread trims at the end of its cycle */
    const nf_allocator *a = nf_allocator_find("bins");
    nf_heap *h = a->create(NULL);
    REQUIRE(h);
    nf_mem_heap_ctx ctx;
    nf_mem_api heap = nf_mem_heap(&ctx, a, h);
    REQUIRE(heap.trim != NULL);
    REQUIRE(trims_of(&heap, 1, 2) == 2);
    a->destroy(h);
}

static void test_defaults(void)
{
    REQUIRE(nf_workload_count() >= 8);
    for (size_t i = 0; i < nf_workload_count(); i++) {
        const nf_workload *w = nf_workload_at(i);
        REQUIREF(nf_workload_default_ops(w) > 0, "%s", nf_workload_name(w));
    }
    REQUIRE(nf_workload_default_ops(nf_workload_find("fragmentation")) % (3 * 32768) == 0);
    REQUIRE(nf_workload_default_ops(nf_workload_find("trim")) % (2 * 7372) == 0);
    REQUIRE(nf_workload_default_ops(nf_workload_find("small-churn")) == 4000000);
}

static void test_system(void)
{
    const nf_allocator *a = &nf_allocator_system;
    nf_heap *h = a->create(NULL);
    char id[128];
    a->identify(h, id, sizeof id);
    if (strncmp(id, "glibc", 5) != 0) {
        printf("system: %s serves malloc, not glibc: skipped\n", id);
        return;
    }
    /* 64 blocks of 64 KiB (below the mmap threshold: on the heap), a
     * small block after them keeps the top from shrinking on its own. */
    void *b[64];
    for (int i = 0; i < 64; i++) {
        b[i] = a->malloc(h, 64 << 10);
        REQUIRE(b[i]);
        memset(b[i], 1, 64 << 10);
    }
    void *pin = a->malloc(h, 32);
    for (int i = 0; i < 64; i++)
        a->free(h, b[i]);
    REQUIRE(a->trim(h, 0) == 1);
    a->free(h, pin);
}

int main(int argc, char **argv)
{
    const char *t = argc > 1 ? argv[1] : "";
    if (!strcmp(t, "trim"))
        test_trim();
    else if (!strcmp(t, "defaults"))
        test_defaults();
    else if (!strcmp(t, "system"))
        test_system();
    else {
        fprintf(stderr, "usage: test_workload_mem trim|defaults|system\n");
        return 2;
    }
    return 0;
}
