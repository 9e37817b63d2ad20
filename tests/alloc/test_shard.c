/* test_shard.c: what only shard promises (linked, through nf_allocator):
 *   paths     a workload made for each path, then every path counter > 0
 *   xthread   blocks freed by another thread go to thread_free and come
 *             back to their owner through collect (the same addresses)
 *   delayed   a full page freed into by another thread is brought back
 *             after the delayed-free notice
 *   abandon   a thread exits holding blocks: its theap is kept warm for
 *             a next thread; none comes within the purge delay, so its
 *             segments are abandoned and another thread reclaims them and
 *             can free the blocks
 *   warm      a thread that starts after another exited takes its theap
 *             whole: no new segment is mapped for the same work
 *   purge     free pages are given back with madvise after the delay
 *             (advise count rises without any trim); the first trim gives
 *             everything back, one right after it only what waited the
 *             delay (trimming in a loop does not refault the heap)
 *   misuse    double free and pointers it never gave out abort with
 *             "notfree-shard: ..." (in a child: SIGABRT and the message)
 *   uaf       a use-after-free write of a chosen pointer into a freed
 *             block's link aborts at the malloc that would hand it out
 *   dfree     double frees after other frees, of a block in the page's
 *             free list, and across threads abort
 *   interior  a free of a 16-byte aligned pointer inside a live block
 *             aborts (64 B, 5000 B, 200 KB, 1 MiB blocks)
 *   align0    aligned allocation of 0 bytes at alignments 2^22..2^33 gives
 *             a usable, freeable block; beyond, NULL and ENOMEM or a block
 *   overflow  (alignment, size) pairs near the overflow boundaries give
 *             NULL and ENOMEM, never a crash
 * Usage: test_shard paths|xthread|delayed|abandon|warm|purge|misuse|uaf|dfree|
 *                   interior|align0|overflow */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/check.h"
#include "heapstat.h"
#include "child.h"
#include "notfree/alloc.h"

static const nf_allocator *A;

static int64_t path(nf_heap *h, const char *name) { return heap_path(A, h, name); }

static uint64_t advises(nf_heap *h)
{
    nf_alloc_stats s;
    REQUIRE(A->stats(h, &s) == 0);
    return s.page_calls[NF_PAGE_ADVISE];
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- another thread that frees (or allocates) for us ---- */
typedef struct job {
    nf_heap *h;
    void **p;
    size_t n, size;
    int alloc; /* 1: allocate n blocks of size into p and keep them; 0: free p[0..n) */
} job;

static void *run_job(void *v)
{
    job *j = v;
    for (size_t i = 0; i < j->n; i++) {
        if (j->alloc) {
            j->p[i] = A->malloc(j->h, j->size);
            REQUIRE(j->p[i]);
            memset(j->p[i], 0x11, j->size);
        } else {
            A->free(j->h, j->p[i]);
        }
    }
    return NULL;
}

static void in_thread(nf_heap *h, void **p, size_t n, size_t size, int alloc)
{
    job j = {h, p, n, size, alloc};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, run_job, &j) == 0);
    REQUIRE(pthread_join(t, NULL) == 0);
}

/* ---- xthread ---- */
static void test_xthread(nf_heap *h)
{
    enum { N = 200 };
    static void *p[N], *q[N];
    for (int i = 0; i < N; i++)
        REQUIRE((p[i] = A->malloc(h, 48)) != NULL);
    int64_t tf0 = path(h, "thread_free"), col0 = path(h, "collect");
    in_thread(h, p, N, 0, 0);
    REQUIREF(path(h, "thread_free") - tf0 == N, "thread_free rose by %lld", (long long)(path(h, "thread_free") - tf0));
    /* allocate until the owner has collected them back */
    int again = 0;
    for (int k = 0; k < 4096 && again < N; k++) {
        void *x = A->malloc(h, 48);
        for (int i = 0; i < N; i++)
            if (x == p[i]) {
                q[again++] = x;
                break;
            }
    }
    REQUIREF(again == N, "only %d of %d blocks came back", again, N);
    REQUIRE(path(h, "collect") > col0);
    printf("  %d blocks freed by another thread came back through collect (collect %lld)\n", again,
           (long long)path(h, "collect"));
    for (int i = 0; i < N; i++)
        A->free(h, q[i]);
}

/* ---- delayed ---- */
static void test_delayed(nf_heap *h)
{
    enum { N = 64 * 4 }; /* 1 KiB blocks: four full 64 KiB pages */
    static void *p[N];
    for (int i = 0; i < N; i++)
        REQUIRE((p[i] = A->malloc(h, 1000)) != NULL);
    void *more = A->malloc(h, 1000); /* makes the earlier pages go to the full queue */
    REQUIRE(path(h, "full") > 0);
    in_thread(h, p, N / 2, 0, 0);
    int64_t d0 = path(h, "delayed");
    void *extra[N];
    for (int i = 0; i < N; i++)
        REQUIRE((extra[i] = A->malloc(h, 1000)) != NULL);
    REQUIREF(path(h, "delayed") > d0, "no full page came back after the notice");
    printf("  delayed %lld, full %lld\n", (long long)path(h, "delayed"), (long long)path(h, "full"));
    for (int i = 0; i < N; i++)
        A->free(h, extra[i]);
    for (int i = N / 2; i < N; i++)
        A->free(h, p[i]);
    A->free(h, more);
}

/* ---- abandon ---- */
static void test_abandon(nf_heap *h)
{
    enum { N = 3000 };
    static void *p[N];
    void *mine = A->malloc(h, 64); /* this thread has its own theap (or it would take the warm one) */
    REQUIRE(mine);
    int64_t a0 = path(h, "abandon");
    in_thread(h, p, N, 200, 1); /* the thread exits holding them */
    /* its theap is kept warm (pages and all) for a next thread (not in the
     * secure build: abandoned at once); none came within the purge delay:
     * the next slow path abandons it, and reclaims */
    int64_t r0 = path(h, "reclaim");
    sleep_ms(1100);
    void *x = A->malloc(h, 200); /* this thread has no page yet: reclaims */
    REQUIRE(x);
    REQUIRE(path(h, "abandon") > a0);
    REQUIRE(path(h, "reclaim") > r0);
    for (int i = 0; i < N; i++) {
        unsigned char *b = p[i];
        REQUIRE(b[0] == 0x11 && b[199] == 0x11);
        A->free(h, p[i]);
    }
    A->free(h, x);
    A->free(h, mine);
    printf("  abandon %lld, reclaim %lld\n", (long long)path(h, "abandon"), (long long)path(h, "reclaim"));
}

/* ---- warm: the next thread takes the exited one's theap ---- */
static void test_warm(nf_heap *h)
{
    enum { N = 2000 };
    static void *p[N], *q[N];
    in_thread(h, p, N, 100, 1); /* exits holding them */
    int64_t maps = path(h, "segment_map");
    in_thread(h, q, N, 100, 1); /* takes the warm theap: its pages have room */
    CHECK(path(h, "segment_map") == maps, "%lld segments mapped for the next thread",
          (long long)(path(h, "segment_map") - maps));
    for (int i = 0; i < N; i++) {
        REQUIRE(((unsigned char *)p[i])[0] == 0x11);
        A->free(h, p[i]);
        A->free(h, q[i]);
    }
}

/* ---- purge ---- */
static void test_purge(nf_heap *h)
{
    enum { N = 4000 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        REQUIRE((p[i] = A->malloc(h, 3000)) != NULL);
    for (int i = 0; i < N; i++)
        A->free(h, p[i]);
    uint64_t a0 = advises(h);
    int64_t pu0 = path(h, "purge");
    sleep_ms(1100); /* past SHARD_PURGE_DELAY_NS */
    /* generic calls (a new size class each) run the heartbeat */
    void *q[64];
    for (int i = 0; i < 64; i++)
        REQUIRE((q[i] = A->malloc(h, 1200 + 512 * (size_t)i)) != NULL);
    REQUIREF(advises(h) > a0, "no madvise after the purge delay");
    REQUIRE(path(h, "purge") > pu0);
    printf("  purge %lld pages, advise calls %llu -> %llu\n", (long long)path(h, "purge"), (unsigned long long)a0,
           (unsigned long long)advises(h));
    for (int i = 0; i < 64; i++)
        A->free(h, q[i]);

    /* trim: the first gives back now; another within the purge delay
     * leaves just-freed memory alone (unless this box stalled a second) */
    struct timespec t0, t1;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++)
            REQUIRE((p[i] = A->malloc(h, 3000)) != NULL);
        for (int i = 0; i < N; i++)
            A->free(h, p[i]);
        if (round == 0)
            clock_gettime(CLOCK_MONOTONIC, &t0); /* before the full trim: a lower bound on its stamp */
        int r = A->trim(h, 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double since = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (round == 0)
            REQUIREF(r == 1, "the first trim gave nothing back");
        else if (since < 0.9)
            REQUIREF(r == 0, "a trim %.3f s after a full one gave freshly freed memory back", since);
    }
}

/* ---- paths ---- */
static void test_paths(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    for (int i = 0; i < 1000; i++) /* fast, generic, fresh_page, extend, segment_map */
        A->free(h, A->malloc(h, 32));
    void *big = A->malloc(h, (size_t)3 << 20); /* huge */
    REQUIRE(big);
    A->free(h, big); /* free_huge, segment_unmap */
    test_xthread(h);
    test_delayed(h);
    test_abandon(h);
    test_warm(h);
    test_purge(h);
    A->trim(h, 0);
    nf_alloc_stats s;
    REQUIRE(A->stats(h, &s) == 0);
    for (unsigned i = 0; i < s.npaths; i++) {
        printf("  %-14s %llu\n", s.paths[i].name, (unsigned long long)s.paths[i].count);
        REQUIREF(s.paths[i].count > 0, "path %s never taken", s.paths[i].name);
    }
    A->destroy(h);
}

/* ---- misuse: run the body in a child, read its stderr ---- */

static void df_immediate(nf_heap *h)
{
    void *p = A->malloc(h, 64);
    A->free(h, p);
    A->free(h, p);
}
static void df_remote(nf_heap *h)
{
    /* freed twice by another thread: a cycle in thread_free, seen by collect */
    void *p[2] = {A->malloc(h, 64), NULL};
    p[1] = p[0];
    for (int i = 0; i < 4; i++)
        (void)A->malloc(h, 64);
    in_thread(h, p, 2, 0, 0);
    for (int i = 0; i < 100000; i++)
        (void)A->malloc(h, 64);
}
static void df_empty_page(nf_heap *h)
{
    void *p = A->malloc(h, 20000);
    void *q = A->malloc(h, 30000); /* a second page in another bin keeps nothing alive here */
    A->free(h, q);
    A->free(h, p);
    for (int i = 0; i < 64; i++) /* the heartbeat frees the retired pages */
        A->free(h, A->malloc(h, 100 + 16 * (size_t)i));
    A->free(h, q);
}
static void foreign_stack(nf_heap *h)
{
    _Alignas(16) char buf[64];
    A->free(h, buf + 16);
}
static void foreign_libc(nf_heap *h)
{
    void *p = malloc(64);
    A->free(h, p);
}
static void foreign_misaligned(nf_heap *h)
{
    char *p = A->malloc(h, 100);
    A->free(h, p + 8);
}
static void foreign_interior(nf_heap *h)
{
    char *p = A->malloc(h, 100);
    (void)A->malloc(h, 100);
    A->free(h, A->malloc(h, 1)); /* a generic-path free on the way is fine */
    A->usable_size(h, p + 48);   /* 48 is inside p's 112-byte block but not its start */
}
static void foreign_other_heap(nf_heap *h)
{
    nf_heap *o = A->create(NULL);
    void *p = A->malloc(o, 64);
    A->free(h, p);
}
static void foreign_huge_interior(nf_heap *h)
{
    char *p = A->malloc(h, (size_t)9 << 20);
    A->free(h, p + (5 << 20));
}

static void test_misuse(void)
{
    const char *never = "notfree-shard: free of a pointer it never gave out: 0x";
    expect_abort(A, "double free (immediate)", df_immediate, "notfree-shard: double free of 0x");
    expect_abort(A, "double free (remote)", df_remote, "notfree-shard: double free");
    expect_abort(A, "double free (page gone)", df_empty_page, "notfree-shard: ");
    expect_abort(A, "foreign (stack)", foreign_stack, never);
    expect_abort(A, "foreign (libc malloc)", foreign_libc, never);
    expect_abort(A, "foreign (misaligned)", foreign_misaligned, never);
    expect_abort(A, "foreign (interior)", foreign_interior, never);
    expect_abort(A, "foreign (other heap)", foreign_other_heap, never);
    expect_abort(A, "foreign (huge interior)", foreign_huge_interior, never);
}

/* ---- uaf: a use-after-free write into a freed block's link ---- */
static _Alignas(64) char chosen[256]; /* an address the "attacker" chose */

/* The write itself, outside AddressSanitizer's view: the allocator's
 * answer is what is tested, not ASan's. */
__attribute__((no_sanitize_address, noinline)) static void poke(void *p, void *v) { *(void *volatile *)p = v; }

/* Frees p, writes target over its first word, then allocates until the
 * block comes back and beyond: exit 3 if target was handed out. */
static void uaf_write(nf_heap *h, size_t size, void *target)
{
    void *p = A->malloc(h, size);
    A->free(h, p);
    poke(p, target);
    for (int i = 0; i < 20000; i++)
        if (A->malloc(h, size) == target)
            _exit(3);
}
static void uaf_global(nf_heap *h)
{
    (void)A->malloc(h, 32); /* keeps the page in use */
    uaf_write(h, 32, chosen);
}
static void uaf_live(nf_heap *h)
{
    /* a pointer to a live block of the same page: two live blocks would overlap */
    void *live = A->malloc(h, 32);
    uaf_write(h, 32, live);
}
static void uaf_thread_free(nf_heap *h)
{
    /* the link of a block in thread_free (freed by another thread) */
    void *p[2] = {A->malloc(h, 48), A->malloc(h, 48)};
    in_thread(h, p, 2, 0, 0);
    poke(p[1], chosen);
    for (int i = 0; i < 20000; i++)
        if (A->malloc(h, 48) == (void *)chosen)
            _exit(3);
}

static void test_uaf(void)
{
    const char *bad = "notfree-shard: corrupted free list (written after free?) in the page at 0x";
    expect_abort(A, "uaf (a global's address)", uaf_global, bad);
    expect_abort(A, "uaf (a live block)", uaf_live, bad);
    expect_abort(A, "uaf (thread_free link)", uaf_thread_free, bad);
}

/* ---- dfree: double frees a cheap check catches ----
 * Each body ends at the second free: only an abort there passes (a
 * double free caught later, or never, leaves the child exiting 0). */
static void df_delayed(nf_heap *h)
{
    /* free(p); free(q); free(r); free(p): p is deep in local_free */
    void *p = A->malloc(h, 64), *q = A->malloc(h, 64), *r = A->malloc(h, 64);
    A->free(h, p);
    A->free(h, q);
    A->free(h, r);
    A->free(h, p);
}
/* A block that went back to its page's free list (through collect) and
 * was not handed out again; NULL if none. */
static void *freed_in_free_list(nf_heap *h)
{
    enum { N = 3000 };
    static void *p[N];
    static char again[N];
    for (int i = 0; i < N; i++)
        p[i] = A->malloc(h, 80);
    for (int i = 0; i < N; i++)
        A->free(h, p[i]);
    for (int i = 0; i < N / 2; i++) {
        void *x = A->malloc(h, 80);
        for (int k = 0; k < N; k++)
            if (p[k] == x)
                again[k] = 1;
    }
    for (int k = 0; k < N; k++)
        if (!again[k])
            return p[k];
    return NULL;
}
static void df_in_free_list(nf_heap *h) { A->free(h, freed_in_free_list(h)); }
static void df_in_free_list_thread(nf_heap *h)
{
    void *p[1] = {freed_in_free_list(h)};
    in_thread(h, p, 1, 0, 0);
}
static void *xt_keep[64];
static void df_xthread_prepare(nf_heap *h)
{
    for (int i = 0; i < 64; i++) /* keep the page in use */
        xt_keep[i] = A->malloc(h, 64);
}
static void df_xthread_owner_second(nf_heap *h)
{
    /* another thread frees p (it waits in thread_free), then the owner */
    df_xthread_prepare(h);
    void *p[1] = {xt_keep[10]};
    in_thread(h, p, 1, 0, 0);
    A->free(h, p[0]);
}
static void df_xthread_owner_first(nf_heap *h)
{
    /* the owner frees p, then another thread */
    df_xthread_prepare(h);
    void *p[1] = {xt_keep[10]};
    A->free(h, p[0]);
    in_thread(h, p, 1, 0, 0);
}
static void df_xthread_two(nf_heap *h)
{
    /* two other threads free p */
    df_xthread_prepare(h);
    void *p[1] = {xt_keep[10]};
    in_thread(h, p, 1, 0, 0);
    in_thread(h, p, 1, 0, 0);
}

static void test_dfree(void)
{
    const char *df = "notfree-shard: double free of 0x";
    expect_abort(A, "double free (p, q, r, p)", df_delayed, df);
    expect_abort(A, "double free (in free list)", df_in_free_list, df);
    expect_abort(A, "double free (free list, thread)", df_in_free_list_thread, df);
    expect_abort(A, "double free (thread, owner)", df_xthread_owner_second, df);
    expect_abort(A, "double free (owner, thread)", df_xthread_owner_first, df);
    expect_abort(A, "double free (two threads)", df_xthread_two, df);
}

/* ---- interior: a free inside a live block ---- */
static size_t interior_size;
static void interior_free(nf_heap *h)
{
    char *p = A->malloc(h, interior_size);
    (void)A->malloc(h, interior_size); /* the page stays in use either way */
    size_t off = interior_size <= 64 ? 16 : (interior_size / 2) & ~(size_t)15;
    A->free(h, p + off);
    for (int i = 0; i < 4; i++)
        (void)A->malloc(h, interior_size);
}

static void test_interior(void)
{
    const size_t sizes[] = {64, 5000, 200000, (size_t)1 << 20};
    char what[64];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        interior_size = sizes[i];
        snprintf(what, sizeof what, "interior free (%zu B)", sizes[i]);
        expect_abort(A, what, interior_free, "notfree-shard: free of a pointer it never gave out: 0x");
    }
}

/* ---- align0 and overflow: aligned allocation at the edges ---- */
/* p from memalign(align, n): NULL with ENOMEM, or aligned, usable for n
 * bytes (at least 1 when n is 0), and freeable. */
static void check_aligned(nf_heap *h, char *p, size_t align, size_t n, int err, bool must_succeed)
{
    if (!p) {
        REQUIREF(!must_succeed, "memalign(%#zx, %zu) failed", align, n);
        REQUIREF(err == ENOMEM, "memalign(%#zx, %#zx): NULL with errno %d", align, n, err);
        return;
    }
    REQUIREF((uintptr_t)p % align == 0, "memalign(%#zx, %zu) = %p: not aligned", align, n, (void *)p);
    size_t u = A->usable_size(h, p);
    REQUIREF(u >= n && u >= 1, "memalign(%#zx, %zu): usable size %zu", align, n, u);
    p[0] = 1;
    p[u - 1] = 2;
    A->free(h, p);
}

static void test_align0(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    for (int k = 4; k <= 63; k++) {
        size_t align = (size_t)1 << k;
        for (size_t n = 0; n <= 1; n++) {
            errno = 0;
            char *p = A->memalign(h, align, n);
            check_aligned(h, p, align, n, errno, k <= 33);
        }
    }
    printf("  memalign(2^4..2^33, 0 and 1): usable and freed; 2^34..2^63: NULL/ENOMEM or usable\n");
    A->destroy(h);
}

static void test_overflow(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    const size_t near[] = {(size_t)1 << 62, ((size_t)1 << 62) + 1, ((size_t)1 << 63) - 1,
                           (size_t)1 << 63, ((size_t)1 << 63) + 1, SIZE_MAX,
                           SIZE_MAX - 1,    SIZE_MAX - 4096,       SIZE_MAX - ((size_t)4 << 20),
                           SIZE_MAX / 2 + 1};
    size_t tried = 0;
    for (int k = 4; k <= 63; k++) {
        size_t align = (size_t)1 << k;
        size_t sizes[sizeof near / sizeof near[0] + 5];
        size_t ns = 0;
        for (size_t i = 0; i < sizeof near / sizeof near[0]; i++)
            sizes[ns++] = near[i];
        sizes[ns++] = SIZE_MAX - align;
        sizes[ns++] = SIZE_MAX - align + 1;
        sizes[ns++] = SIZE_MAX - 2 * align + 1;
        sizes[ns++] = SIZE_MAX / 2 - align + 1;
        sizes[ns++] = (size_t)0 - align / 2;
        for (size_t i = 0; i < ns; i++) {
            size_t n = sizes[i];
            if (n < ((size_t)1 << 50)) /* SIZE_MAX / 2 - align + 1 for the largest alignments: not impossible */
                continue;
            errno = 0;
            void *p = A->memalign(h, align, n);
            REQUIREF(!p && errno == ENOMEM, "memalign(2^%d, %#zx) = %p, errno %d", k, n, p, errno);
            tried++;
        }
    }
    void *x = A->malloc(h, 100);
    REQUIRE(x);
    for (size_t i = 0; i < sizeof near / sizeof near[0]; i++) {
        size_t n = near[i];
        errno = 0;
        REQUIREF(!A->malloc(h, n) && errno == ENOMEM, "malloc(%#zx)", n);
        errno = 0;
        REQUIREF(!A->calloc(h, 1, n) && errno == ENOMEM, "calloc(1, %#zx)", n);
        errno = 0;
        REQUIREF(!A->calloc(h, n, 3) && errno == ENOMEM, "calloc(%#zx, 3)", n);
        errno = 0;
        REQUIREF(!A->realloc(h, x, n) && errno == ENOMEM, "realloc(x, %#zx)", n);
        tried += 4;
    }
    A->free(h, x);
    printf("  %zu impossible requests: NULL and ENOMEM\n", tried);
    A->destroy(h);
}

int main(int argc, char **argv)
{
    A = &nf_allocator_shard;
    if (argc != 2) {
        fprintf(stderr,
                "usage: %s paths|xthread|delayed|abandon|warm|purge|misuse|uaf|dfree|interior|align0|overflow\n",
                argv[0]);
        return 2;
    }
    const char *t = argv[1];
    if (strcmp(t, "paths") == 0)
        test_paths();
    else if (strcmp(t, "misuse") == 0)
        test_misuse();
    else if (strcmp(t, "uaf") == 0)
        test_uaf();
    else if (strcmp(t, "dfree") == 0)
        test_dfree();
    else if (strcmp(t, "interior") == 0)
        test_interior();
    else if (strcmp(t, "align0") == 0)
        test_align0();
    else if (strcmp(t, "overflow") == 0)
        test_overflow();
    else if (strcmp(t, "xthread") == 0 || strcmp(t, "delayed") == 0 || strcmp(t, "abandon") == 0 ||
             strcmp(t, "purge") == 0 || strcmp(t, "warm") == 0) {
        nf_heap *h = A->create(NULL);
        REQUIRE(h);
        if (t[0] == 'x')
            test_xthread(h);
        else if (t[0] == 'd')
            test_delayed(h);
        else if (t[0] == 'a')
            test_abandon(h);
        else if (t[0] == 'w')
            test_warm(h);
        else
            test_purge(h);
        A->destroy(h);
    } else {
        fprintf(stderr, "unknown test %s\n", t);
        return 2;
    }
    printf("shard %s: ok\n", t);
    return 0;
}
