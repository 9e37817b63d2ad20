/* test_shard.c: what only shard promises (linked, through nf_allocator):
 *   paths     a workload made for each path, then every path counter > 0
 *   xthread   blocks freed by another thread go to thread_free and come
 *             back to their owner through collect (the same addresses)
 *   delayed   a full page freed into by another thread is brought back
 *             after the delayed-free notice
 *   abandon   a thread exits holding blocks: its segments are abandoned,
 *             another thread reclaims them and can free the blocks
 *   purge     free pages are given back with madvise after the delay
 *             (advise count rises without any trim); the first trim gives
 *             everything back, one right after it only what waited the
 *             delay (trimming in a loop does not refault the heap)
 *   misuse    double free and pointers it never gave out abort with
 *             "notfree-shard: ..." (in a child: SIGABRT and the message)
 * Usage: test_shard paths|xthread|delayed|abandon|purge|misuse */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "child.h"
#include "notfree/alloc.h"

static const nf_allocator *A;

static int64_t path(nf_heap *h, const char *name)
{
    nf_alloc_stats s;
    CHECK(A->stats(h, &s) == 0);
    int64_t v = nf_alloc_stats_path(&s, name);
    CHECKF(v >= 0, "no path %s", name);
    return v;
}

static uint64_t advises(nf_heap *h)
{
    nf_alloc_stats s;
    CHECK(A->stats(h, &s) == 0);
    return s.page_calls[NF_PAGE_ADVISE];
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---- another thread that frees (or allocates) for us ---- */
typedef struct job {
    nf_heap *h;
    void **p;
    size_t n, size;
    int alloc;     /* 1: allocate n blocks of size into p and keep them; 0: free p[0..n) */
} job;

static void *run_job(void *v)
{
    job *j = v;
    for (size_t i = 0; i < j->n; i++) {
        if (j->alloc) {
            j->p[i] = A->malloc(j->h, j->size);
            CHECK(j->p[i]);
            memset(j->p[i], 0x11, j->size);
        } else {
            A->free(j->h, j->p[i]);
        }
    }
    return NULL;
}

static void in_thread(nf_heap *h, void **p, size_t n, size_t size, int alloc)
{
    job j = { h, p, n, size, alloc };
    pthread_t t;
    CHECK(pthread_create(&t, NULL, run_job, &j) == 0);
    CHECK(pthread_join(t, NULL) == 0);
}

/* ---- xthread ---- */
static void test_xthread(nf_heap *h)
{
    enum { N = 200 };
    static void *p[N], *q[N];
    for (int i = 0; i < N; i++)
        CHECK((p[i] = A->malloc(h, 48)) != NULL);
    int64_t tf0 = path(h, "thread_free"), col0 = path(h, "collect");
    in_thread(h, p, N, 0, 0);
    CHECKF(path(h, "thread_free") - tf0 == N, "thread_free rose by %lld", (long long)(path(h, "thread_free") - tf0));
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
    CHECKF(again == N, "only %d of %d blocks came back", again, N);
    CHECK(path(h, "collect") > col0);
    printf("  %d blocks freed by another thread came back through collect (collect %lld)\n", again,
           (long long)path(h, "collect"));
    for (int i = 0; i < N; i++)
        A->free(h, q[i]);
}

/* ---- delayed ---- */
static void test_delayed(nf_heap *h)
{
    enum { N = 64 * 4 };   /* 1 KiB blocks: four full 64 KiB pages */
    static void *p[N];
    for (int i = 0; i < N; i++)
        CHECK((p[i] = A->malloc(h, 1000)) != NULL);
    void *more = A->malloc(h, 1000);   /* makes the earlier pages go to the full queue */
    CHECK(path(h, "full") > 0);
    in_thread(h, p, N / 2, 0, 0);
    int64_t d0 = path(h, "delayed");
    void *extra[N];
    for (int i = 0; i < N; i++)
        CHECK((extra[i] = A->malloc(h, 1000)) != NULL);
    CHECKF(path(h, "delayed") > d0, "no full page came back after the notice");
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
    in_thread(h, p, N, 200, 1);   /* the thread exits holding them */
    CHECK(path(h, "abandon") > 0);
    int64_t r0 = path(h, "reclaim");
    void *x = A->malloc(h, 200);   /* this thread has no page yet: reclaims */
    CHECK(x);
    CHECK(path(h, "reclaim") > r0);
    for (int i = 0; i < N; i++) {
        unsigned char *b = p[i];
        CHECK(b[0] == 0x11 && b[199] == 0x11);
        A->free(h, p[i]);
    }
    A->free(h, x);
    printf("  abandon %lld, reclaim %lld\n", (long long)path(h, "abandon"), (long long)path(h, "reclaim"));
}

/* ---- purge ---- */
static void test_purge(nf_heap *h)
{
    enum { N = 4000 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        CHECK((p[i] = A->malloc(h, 3000)) != NULL);
    for (int i = 0; i < N; i++)
        A->free(h, p[i]);
    uint64_t a0 = advises(h);
    int64_t pu0 = path(h, "purge");
    sleep_ms(1100);   /* past SHARD_PURGE_DELAY_NS */
    /* generic calls (a new size class each) run the heartbeat */
    void *q[64];
    for (int i = 0; i < 64; i++)
        CHECK((q[i] = A->malloc(h, 1200 + 512 * (size_t)i)) != NULL);
    CHECKF(advises(h) > a0, "no madvise after the purge delay");
    CHECK(path(h, "purge") > pu0);
    printf("  purge %lld pages, advise calls %llu -> %llu\n", (long long)path(h, "purge"),
           (unsigned long long)a0, (unsigned long long)advises(h));
    for (int i = 0; i < 64; i++)
        A->free(h, q[i]);

    /* trim: the first gives back now; another within the purge delay
     * leaves just-freed memory alone (unless this box stalled a second) */
    struct timespec t0, t1;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++)
            CHECK((p[i] = A->malloc(h, 3000)) != NULL);
        for (int i = 0; i < N; i++)
            A->free(h, p[i]);
        if (round == 0)
            clock_gettime(CLOCK_MONOTONIC, &t0);   /* before the full trim: a lower bound on its stamp */
        int r = A->trim(h, 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double since = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (round == 0)
            CHECKF(r == 1, "the first trim gave nothing back");
        else if (since < 0.9)
            CHECKF(r == 0, "a trim %.3f s after a full one gave freshly freed memory back", since);
    }
}

/* ---- paths ---- */
static void test_paths(void)
{
    nf_heap *h = A->create(NULL);
    CHECK(h);
    for (int i = 0; i < 1000; i++)            /* fast, generic, fresh_page, extend, segment_map */
        A->free(h, A->malloc(h, 32));
    void *big = A->malloc(h, (size_t)3 << 20);  /* huge */
    CHECK(big);
    A->free(h, big);                          /* free_huge, segment_unmap */
    test_xthread(h);
    test_delayed(h);
    test_abandon(h);
    test_purge(h);
    A->trim(h, 0);
    nf_alloc_stats s;
    CHECK(A->stats(h, &s) == 0);
    for (unsigned i = 0; i < s.npaths; i++) {
        printf("  %-14s %llu\n", s.paths[i].name, (unsigned long long)s.paths[i].count);
        CHECKF(s.paths[i].count > 0, "path %s never taken", s.paths[i].name);
    }
    A->destroy(h);
}

/* ---- misuse: run the body in a child, read its stderr ---- */

static void df_immediate(nf_heap *h) { void *p = A->malloc(h, 64); A->free(h, p); A->free(h, p); }
static void df_remote(nf_heap *h)
{
    /* freed twice by another thread: a cycle in thread_free, seen by collect */
    void *p[2] = { A->malloc(h, 64), NULL };
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
    void *q = A->malloc(h, 30000);   /* a second page in another bin keeps nothing alive here */
    A->free(h, q);
    A->free(h, p);
    for (int i = 0; i < 64; i++)      /* the heartbeat frees the retired pages */
        A->free(h, A->malloc(h, 100 + 16 * (size_t)i));
    A->free(h, q);
}
static void df_deep(nf_heap *h)
{
    /* p is not at the head of local_free: only secure mode's scan sees it */
    void *p = A->malloc(h, 64), *q = A->malloc(h, 64);
    A->free(h, p);
    A->free(h, q);
    A->free(h, p);
}
static void foreign_stack(nf_heap *h) { _Alignas(16) char buf[64]; A->free(h, buf + 16); }
static void foreign_libc(nf_heap *h)
{
    void *p = malloc(64);
    A->free(h, p);
}
static void foreign_misaligned(nf_heap *h) { char *p = A->malloc(h, 100); A->free(h, p + 8); }
static void foreign_interior(nf_heap *h)
{
    char *p = A->malloc(h, 100);
    (void)A->malloc(h, 100);
    A->free(h, A->malloc(h, 1));   /* a generic-path free on the way is fine */
    A->usable_size(h, p + 48);     /* 48 is inside p's 112-byte block but not its start */
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
    char id[128];
    nf_heap *h = A->create(NULL);
    if (strstr(A->identify(h, id, sizeof id), "secure"))
        expect_abort(A, "double free (deep, secure)", df_deep, "notfree-shard: double free of 0x");
    A->destroy(h);
    expect_abort(A, "foreign (stack)", foreign_stack, never);
    expect_abort(A, "foreign (libc malloc)", foreign_libc, never);
    expect_abort(A, "foreign (misaligned)", foreign_misaligned, never);
    expect_abort(A, "foreign (interior)", foreign_interior, never);
    expect_abort(A, "foreign (other heap)", foreign_other_heap, never);
    expect_abort(A, "foreign (huge interior)", foreign_huge_interior, never);
}

int main(int argc, char **argv)
{
    A = &nf_allocator_shard;
    if (argc != 2) {
        fprintf(stderr, "usage: %s paths|xthread|delayed|abandon|purge|misuse\n", argv[0]);
        return 2;
    }
    const char *t = argv[1];
    if (strcmp(t, "paths") == 0)
        test_paths();
    else if (strcmp(t, "misuse") == 0)
        test_misuse();
    else if (strcmp(t, "xthread") == 0 || strcmp(t, "delayed") == 0 || strcmp(t, "abandon") == 0 ||
             strcmp(t, "purge") == 0) {
        nf_heap *h = A->create(NULL);
        CHECK(h);
        if (t[0] == 'x')
            test_xthread(h);
        else if (t[0] == 'd')
            test_delayed(h);
        else if (t[0] == 'a')
            test_abandon(h);
        else
            test_purge(h);
        A->destroy(h);
    }
    else {
        fprintf(stderr, "unknown test %s\n", t);
        return 2;
    }
    printf("shard %s: ok\n", t);
    return 0;
}
