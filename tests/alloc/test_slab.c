/* test_slab.c: what only slab promises:
 *   paths     a workload made for each path, then each path counter > 0
 *   depot     threads trade magazines through the depot: one thread
 *             allocates, another frees (cross-thread), the first takes the
 *             full magazines back
 *   release   after freeing everything, trim gives the empty slabs back
 *             (advise rises) and unmaps empty regions (unmap rises, mapped
 *             falls); the frees alone keep the class's working set
 *   large     freed direct maps are reused without a map call (whole, and
 *             a piece of a larger one), the cache keeps at most its budget
 *             (what the live large bytes fell below their recent peak), and the
 *             memory goes back to the kernel (resident set, /proc) once
 *             that peak has decayed (an idle of 3.5 s, then one large
 *             call) and at trim
 *   grow      a large block grown by doubling reallocs and shrunk keeps its
 *             bytes; with freed blocks cached it faults hardly a page (the
 *             cached pages are taken in place, copied into or moved in
 *             behind it); a page source without remap copies
 *   aside     a thread that frees a 16 B object it did not malloc last (one
 *             the main thread allocated beside another) does not get it
 *             back from its next malloc while it has its own: no passive
 *             false sharing (the fast path's rule; ASan builds take the
 *             generic path, which does not apply it: skipped there)
 *   corrupt   a freed object's encoded next pointer overwritten: the next
 *             allocation from its slab aborts instead of handing out a wild
 *             pointer (skipped under ASan: the write itself is reported)
 *   misuse    double free (in a magazine, in a slab, a direct map; after
 *             other frees; by another thread; after its slab was released
 *             and its unit carved again), realloc and malloc_usable_size of
 *             a freed block and foreign pointers abort with
 *             "notfree-slab: ..." (in a child: checks SIGABRT and the
 *             message read through a pipe)
 *   overflow  requests near the overflow boundaries, every alignment 2^k:
 *             a usable block or NULL with ENOMEM/EINVAL, never a crash
 *             (overflow.h, in a child)
 *   asan      (built with AddressSanitizer only, else skipped) a use after
 *             free and an overflow inside a slab heap are reported by ASan
 * Usage: test_slab paths|depot|release|large|grow|aside|corrupt|misuse|overflow|asan */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/check.h"
#include "heapstat.h"
#include "child.h"
#include "notfree/alloc.h"
#include "overflow.h"

static const nf_allocator *A = &nf_allocator_slab;

static nf_alloc_stats stats(nf_heap *h)
{
    nf_alloc_stats s;
    REQUIRE(A->stats(h, &s) == 0);
    return s;
}

static int64_t path(nf_heap *h, const char *name) { return heap_path(A, h, name); }

/* ---- paths ---- */
static void *exit_then_free(void *arg)
{
    void **a = arg;
    nf_heap *h = a[0];
    void *p = A->malloc(h, 100);
    A->thread_exit(h); /* no cache from here on: straight to slabs */
    A->free(h, p);
    A->free(h, A->malloc(h, 100));
    return NULL;
}

static void test_paths(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    enum { N = 5000 };
    static void *p[N];
    for (int i = 0; i < N; i++) /* new slabs, then refills from partial slabs */
        REQUIRE((p[i] = A->malloc(h, 64)) != NULL);
    for (int i = 0; i < N; i++) /* magazines fill, trade with the depot, overflow it */
        A->free(h, p[i]);
    for (int i = 0; i < N; i++) /* magazine pops, full ones from the depot */
        REQUIRE((p[i] = A->malloc(h, 64)) != NULL);
    for (int i = 0; i < N; i++)
        A->free(h, p[i]);
    void *big = A->malloc(h, 100000); /* direct */
    REQUIRE(big);
    A->free(h, big);
    big = A->malloc(h, 90000); /* the freed map again */
    REQUIRE(big);
    big = A->realloc(h, big, 40000); /* shrunk in place, its tail cached */
    REQUIRE(big);
    big = A->realloc(h, big, (size_t)8 << 20); /* nothing cached holds it: moved */
    REQUIRE(big);
    A->free(h, big);
    void *arg[1] = {h};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, exit_then_free, arg) == 0);
    pthread_join(t, NULL);
    REQUIRE(A->trim(h, 0) == 1); /* depot flush, slab release, region unmap */
    nf_alloc_stats s = stats(h);
    for (unsigned i = 0; i < s.npaths; i++) {
        printf("  %-14s %llu\n", s.paths[i].name, (unsigned long long)s.paths[i].count);
        REQUIREF(s.paths[i].count > 0, "path %s never taken", s.paths[i].name);
    }
    REQUIRE(s.mallocs == s.frees && s.live_bytes == 0);
    A->destroy(h);
}

/* ---- depot: a producer and a consumer ---- */
enum { ROUNDS = 50, BATCH = 2000 };
static void *handoff[BATCH];
static pthread_barrier_t bar;
static nf_heap *DH;

static void *consumer(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&bar); /* the producer filled handoff */
        for (int i = 0; i < BATCH; i++) {
            unsigned char *q = handoff[i];
            REQUIREF(q[0] == (unsigned char)i && q[47] == (unsigned char)r, "block %d corrupted", i);
            A->free(DH, q);
        }
        pthread_barrier_wait(&bar);
    }
    A->thread_exit(DH); /* its magazines to the depot */
    return NULL;
}

static void test_depot(void)
{
    DH = A->create(NULL);
    REQUIRE(DH);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, consumer, NULL) == 0);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < BATCH; i++) {
            unsigned char *q = A->malloc(DH, 48);
            REQUIRE(q);
            q[0] = (unsigned char)i;
            q[47] = (unsigned char)r;
            handoff[i] = q;
        }
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
    }
    pthread_join(t, NULL);
    int64_t depot = path(DH, "depot"), free_depot = path(DH, "free_depot");
    printf("  depot %lld free_depot %lld slab %lld new_slab %lld\n", (long long)depot, (long long)free_depot,
           (long long)path(DH, "slab"), (long long)path(DH, "new_slab"));
    REQUIREF(depot > 0 && free_depot > 0, "no trade through the depot");
    nf_alloc_stats s = stats(DH);
    REQUIRE(s.mallocs == (uint64_t)ROUNDS * BATCH && s.frees == s.mallocs && s.live_bytes == 0);
    /* the producer lives on the consumer's freed objects: few new slabs */
    REQUIREF(path(DH, "new_slab") * 1000 < ROUNDS * BATCH, "new slabs %lld", (long long)path(DH, "new_slab"));
    pthread_barrier_destroy(&bar);
    A->destroy(DH);
}

/* ---- aside ---- */
#if !defined(__SANITIZE_ADDRESS__)
static void *aside_thread(void *arg)
{
    void **a = arg;
    nf_heap *h = a[0];
    void *own = A->malloc(h, 16);
    REQUIRE(own);
    A->free(h, own);  /* the last object this thread handed out: back on top */
    A->free(h, a[1]); /* the main thread's: set aside */
    a[2] = A->malloc(h, 16);
    a[3] = own;
    A->free(h, a[2]);
    return NULL;
}
#endif

static void test_aside(void)
{
#if defined(__SANITIZE_ADDRESS__)
    printf("  skipped: ASan builds take the generic free path\n");
#else
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    void *mine = A->malloc(h, 16), *theirs = A->malloc(h, 16); /* side by side */
    REQUIRE(mine && theirs);
    void *a[4] = {h, theirs, NULL, NULL};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, aside_thread, a) == 0);
    pthread_join(t, NULL);
    printf("  main's objects %p %p; the thread's next malloc %p (its own %p)\n", mine, theirs, a[2], a[3]);
    REQUIREF(a[2] != theirs, "the thread got the main thread's object back at once");
    REQUIREF(a[2] == a[3], "the thread did not get its own object back");
    A->free(h, mine);
    A->destroy(h);
#endif
}

/* ---- release ---- */
static void test_release(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    enum { N = 40000 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        REQUIRE((p[i] = A->malloc(h, 200 + (size_t)(i % 4) * 700)) != NULL); /* 4 classes, ~30 MB */
    nf_alloc_stats before = stats(h);
    for (int i = 0; i < N; i++)
        A->free(h, p[i]);
    nf_alloc_stats mid = stats(h);
    printf("  advise %llu -> %llu, held %llu -> %llu\n", (unsigned long long)before.page_calls[NF_PAGE_ADVISE],
           (unsigned long long)mid.page_calls[NF_PAGE_ADVISE], (unsigned long long)before.held_bytes,
           (unsigned long long)mid.held_bytes);
    /* empty slabs up to the class's recent working set stay (slab.c): the
     * frees alone need not give pages back; trim gives every one back */
    REQUIRE(path(h, "depot_flush") > 0);
    REQUIRE(A->trim(h, 0) == 1);
    nf_alloc_stats after = stats(h);
    REQUIREF(after.page_calls[NF_PAGE_ADVISE] > before.page_calls[NF_PAGE_ADVISE], "no empty slab dropped");
    REQUIRE(path(h, "slab_release") > 0);
    printf("  unmap %llu -> %llu, mapped %llu -> %llu\n", (unsigned long long)mid.page_calls[NF_PAGE_UNMAP],
           (unsigned long long)after.page_calls[NF_PAGE_UNMAP], (unsigned long long)before.mapped_bytes,
           (unsigned long long)after.mapped_bytes);
    REQUIRE(after.page_calls[NF_PAGE_UNMAP] > mid.page_calls[NF_PAGE_UNMAP]);
    REQUIRE(after.mapped_bytes < before.mapped_bytes / 4 && after.held_bytes == 0);
    REQUIRE(path(h, "region_unmap") > 0);
    A->destroy(h);
}

/* ---- large blocks: reuse, budget, give-back ---- */
/* Under a sanitizer the resident set also holds the shadow of what was
 * written, which the sanitizer keeps: ASan's is an eighth of it (9 MiB
 * here), TSan's more (16 MiB here). Still well under the 72 MiB freed. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
static const size_t shadow_slack = (size_t)32 << 20;
static const bool sanitized = true; /* the shadow faults too: no fault bounds */
#else
static const size_t shadow_slack = 0;
static const bool sanitized = false;
#endif

static void test_large(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    enum { N = 12 };
    const size_t big = (size_t)6 << 20;
    void *p[N];
    size_t rss0 = resident_bytes();
    nf_alloc_stats base = stats(h);
    for (int i = 0; i < N; i++) {
        REQUIRE((p[i] = A->malloc(h, big)) != NULL);
        memset(p[i], 1, big);
    }
    nf_alloc_stats full = stats(h);
    /* one freed and taken again: no map call, the pages are still there */
    A->free(h, p[0]);
    REQUIRE((p[0] = A->malloc(h, big)) != NULL);
    nf_alloc_stats again = stats(h);
    REQUIREF(again.page_calls[NF_PAGE_MAP] == full.page_calls[NF_PAGE_MAP], "a freed large block was not reused");
    REQUIREF(path(h, "direct_reuse") == 1, "direct_reuse %lld", (long long)path(h, "direct_reuse"));
    /* a piece of a larger freed one */
    A->free(h, p[1]);
    REQUIRE((p[1] = A->malloc(h, big / 3)) != NULL);
    REQUIREF(stats(h).page_calls[NF_PAGE_MAP] == full.page_calls[NF_PAGE_MAP], "no piece of a larger freed block");
    memset(p[1], 2, big / 3);
    /* all freed: the cache keeps what the live bytes fell below their
     * 72 MiB peak, no more */
    for (int i = 0; i < N; i++)
        A->free(h, p[i]);
    nf_alloc_stats mid = stats(h);
    size_t kept = mid.mapped_bytes - base.mapped_bytes;
    printf("  mapped: %zu MiB live, %zu MiB kept after the frees\n",
           (size_t)(full.mapped_bytes - base.mapped_bytes) >> 20, kept >> 20);
    REQUIREF(kept <= (size_t)(full.mapped_bytes - base.mapped_bytes), "kept %zu bytes, over the budget", kept);
    REQUIREF(kept >= big, "kept only %zu bytes", kept); /* something is kept for reuse */
    /* idle past the decay, then one large call: the rest goes back */
    usleep(3500 * 1000);
    A->free(h, A->malloc(h, 100000));
    nf_alloc_stats late = stats(h);
    size_t rss = resident_bytes();
    printf("  after the decay: %zu MiB kept, resident %zu MiB over the start\n",
           (size_t)(late.mapped_bytes - base.mapped_bytes) >> 20, (rss > rss0 ? rss - rss0 : 0) >> 20);
    REQUIREF(late.mapped_bytes - base.mapped_bytes <= ((size_t)4 << 20) + (1 << 20), "the cache did not decay");
    REQUIREF(rss < rss0 + ((size_t)6 << 20) + shadow_slack, "resident set did not fall: %zu -> %zu", rss0, rss);
    /* trim: nothing of the large blocks is left */
    A->trim(h, 0);
    nf_alloc_stats end = stats(h);
    REQUIREF(end.mapped_bytes <= base.mapped_bytes + (1 << 20), "trim left %llu mapped bytes",
             (unsigned long long)(end.mapped_bytes - base.mapped_bytes));
    REQUIRE(end.held_bytes == 0 && end.live_bytes == 0);
    A->destroy(h);
}

/* ---- grow: realloc of a large block with freed ones cached ---- */
static unsigned char pattern(size_t i) { return (unsigned char)(i * 131 + (i >> 12)); }

/* A block grown from 256 KiB to 16 MiB by doubling reallocs (every new
 * byte written), then shrunk, after 20 MiB of written 2 MiB blocks were
 * freed between live ones (cached, under the recent peak, none touching
 * another): its bytes survive every step; with the page source's remap,
 * the pages come from the cache (grown in place, copied into a piece that
 * holds it, or moved with pieces behind it) and hardly any is faulted.
 * Returns the faults of the growth. */
static long grow_run(nf_heap *h)
{
    enum { N = 20 };
    const size_t blk = (size_t)2 << 20, top = (size_t)16 << 20;
    void *p[N];
    for (int i = 0; i < N; i++) {
        REQUIRE((p[i] = A->malloc(h, blk)) != NULL);
        memset(p[i], i + 1, blk);
    }
    for (int i = 0; i < N; i += 2)
        A->free(h, p[i]);
    size_t n = (size_t)256 << 10;
    unsigned char *b = A->malloc(h, n);
    REQUIRE(b);
    for (size_t i = 0; i < n; i++)
        b[i] = pattern(i);
    long f0 = minor_faults();
    for (; n < top; n *= 2) {
        REQUIRE((b = A->realloc(h, b, 2 * n)) != NULL);
        for (size_t i = 0; i < n; i += 4093)
            REQUIREF(b[i] == pattern(i), "byte %zu of %zu lost growing", i, n);
        REQUIRE(b[n - 1] == pattern(n - 1));
        for (size_t i = n; i < 2 * n; i++)
            b[i] = pattern(i);
    }
    long faults = minor_faults() - f0;
    REQUIRE((b = A->realloc(h, b, top / 3)) != NULL); /* shrunk in place */
    for (size_t i = 0; i < top / 3; i += 4093)
        REQUIREF(b[i] == pattern(i), "byte %zu lost shrinking", i);
    A->free(h, b);
    for (int i = 1; i < N; i += 2)
        A->free(h, p[i]);
    return faults;
}

static void test_grow(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    long faults = grow_run(h);
    int64_t in_place = path(h, "realloc_in_place"), moved = path(h, "realloc_moved");
    printf("  remap: %ld faults growing to 16 MiB (4096 pages), %lld in place, %lld moved\n", faults,
           (long long)in_place, (long long)moved);
    REQUIREF(sanitized || faults < 400, "%ld faults: the cached pages were not reused", faults);
    REQUIREF(moved > 0, "never moved"); /* no piece holds 4 MiB */
    A->destroy(h);
    /* a page source without remap (as the kernel model): copies */
    static nf_pages ps;
    static nf_pages_ops ops;
    nf_pages_real_init(&ps, NF_BRK_NONE, 0);
    ops = *ps.ops;
    ops.remap = NULL;
    ps.ops = &ops;
    REQUIRE((h = A->create(&ps)) != NULL);
    faults = grow_run(h);
    printf("  no remap: %ld faults\n", faults);
    REQUIRE(path(h, "realloc_moved") == 0);
    A->destroy(h);
    nf_pages_real_fini(&ps);
}

/* ---- misuse: run the body in a child, read its stderr ---- */

static void df_magazine(nf_heap *h)
{
    void *p = A->malloc(h, 64);
    A->free(h, p);
    A->free(h, p);
}
static void df_slab(nf_heap *h)
{
    void *keep = A->malloc(h, 64), *p = A->malloc(h, 64);
    (void)keep;
    A->free(h, p);
    A->trim(h, 0); /* p goes back to its slab, which stays (keep) */
    A->free(h, p);
}
static void df_direct(nf_heap *h)
{
    void *p = A->malloc(h, 1 << 21);
    A->free(h, p);
    A->free(h, p);
}
static void df_delayed(nf_heap *h)
{
    void *p = A->malloc(h, 64), *q = A->malloc(h, 64), *r = A->malloc(h, 64);
    A->free(h, p);
    A->free(h, q);
    A->free(h, r);
    A->free(h, p);
}

/* p freed by two threads: the first frees it into its magazine and exits
 * (its magazines go to the depot), then the second (this one) frees it */
static nf_heap *XH;
static void *XP;
static void *free_xp(void *arg)
{
    (void)arg;
    A->free(XH, XP);
    return NULL;
}
static void df_xthread(nf_heap *h)
{
    XH = h;
    XP = A->malloc(h, 64);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_xp, NULL) == 0);
    pthread_join(t, NULL);
    A->free(h, XP);
}
static void df_two_threads(nf_heap *h) /* neither is the thread that allocated */
{
    XH = h;
    XP = A->malloc(h, 64);
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, free_xp, NULL) == 0);
        pthread_join(t, NULL);
    }
}
static void df_direct_xthread(nf_heap *h)
{
    XH = h;
    XP = A->malloc(h, 1 << 20);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_xp, NULL) == 0);
    pthread_join(t, NULL);
    A->free(h, XP);
}

/* p's slab is released (its pages dropped: the key is gone), then its unit
 * is carved again for a class on whose object boundary p falls, beyond the
 * objects carved so far: before the check against bumped, this free was
 * taken and the object later handed out twice. */
static void df_recarved(nf_heap *h)
{
    void *keep = A->malloc(h, 16); /* keeps the region mapped */
    (void)keep;
    enum { N = 16 }; /* one slab of the 4096 class */
    uintptr_t o[N], p = 0;
    for (int i = 0; i < N; i++)
        o[i] = (uintptr_t)A->malloc(h, 4096);
    uintptr_t unit = o[0] & ~(uintptr_t)0xffff;
    for (int i = 0; i < N; i++)
        if ((o[i] & ~(uintptr_t)0xffff) == unit && o[i] > p)
            p = o[i]; /* the last object of o[0]'s slab */
    REQUIRE(p - unit >= 8 * 4096);
    for (int i = 0; i < N; i++)
        A->free(h, (void *)o[i]);
    A->trim(h, 0);                   /* every empty slab released */
    for (int i = 0; i < 1000; i++) { /* 1024-byte objects until one lands in p's unit */
        uintptr_t q = (uintptr_t)A->malloc(h, 1024);
        if ((q & ~(uintptr_t)0xffff) == unit)
            break;
    }
    A->free(h, (void *)p);
}
static void realloc_freed(nf_heap *h)
{
    void *p = A->malloc(h, 64);
    A->free(h, p);
    A->realloc(h, p, 64); /* would hand the freed block back as live */
}
static void realloc_freed_direct(nf_heap *h)
{
    void *p = A->malloc(h, 1 << 20);
    A->free(h, p);
    A->realloc(h, p, 1 << 21);
}
static void usable_freed(nf_heap *h)
{
    void *p = A->malloc(h, 64);
    A->free(h, p);
    A->usable_size(h, p);
}
static void foreign_stack(nf_heap *h)
{
    _Alignas(16) char buf[64];
    A->free(h, buf + 16);
}
static void foreign_misaligned(nf_heap *h)
{
    char *p = A->malloc(h, 100);
    A->free(h, p + 16);
}
static void foreign_other_heap(nf_heap *h)
{
    nf_heap *o = A->create(NULL);
    void *p = A->malloc(o, 100);
    A->free(h, p);
}

#if !defined(__SANITIZE_ADDRESS__)
static void corrupt_body(nf_heap *h)
{
    enum { N = 200 };
    void *p[N];
    void *keep = A->malloc(h, 96); /* keeps the slab from being released */
    (void)keep;
    for (int i = 0; i < N; i++)
        p[i] = A->malloc(h, 96);
    for (int i = 0; i < N; i++)
        A->free(h, p[i]);
    A->trim(h, 0); /* all of them onto their slab's free list */
    for (int i = 0; i < N; i++)
        memset(p[i], 0x41, 8); /* a use after free overwrites the next pointers */
    for (int i = 0; i < N; i++) {
        void *q = A->malloc(h, 96);
        ((volatile char *)q)[0] = 1; /* a wild pointer would fault here */
    }
}
#endif

static void test_corrupt(void)
{
#if defined(__SANITIZE_ADDRESS__)
    printf("  skipped: ASan reports the write into freed memory itself\n");
#else
    expect_abort(A, "corrupted free list", corrupt_body, "notfree-slab: corrupted free list");
#endif
}

static void test_misuse(void)
{
    expect_abort(A, "double free (magazine)", df_magazine, "notfree-slab: double free of 0x");
    expect_abort(A, "double free (slab)", df_slab, "notfree-slab: double free of 0x");
    expect_abort(A, "double free (direct)", df_direct, "notfree-slab: double free of 0x");
    expect_abort(A, "double free (p, q, r, p)", df_delayed, "notfree-slab: double free of 0x");
    expect_abort(A, "double free (two threads)", df_xthread, "notfree-slab: double free of 0x");
    expect_abort(A, "double free (two others)", df_two_threads, "notfree-slab: double free of 0x");
    expect_abort(A, "double free (direct, 2 thr)", df_direct_xthread, "notfree-slab: double free of 0x");
    expect_abort(A, "double free (recarved)", df_recarved, "notfree-slab: free of 0x");
    expect_abort(A, "realloc of freed", realloc_freed, "notfree-slab: realloc of 0x");
    expect_abort(A, "realloc of freed (direct)", realloc_freed_direct, "notfree-slab: realloc of 0x");
    expect_abort(A, "usable size of freed", usable_freed, "notfree-slab: malloc_usable_size of 0x");
    expect_abort(A, "foreign (stack)", foreign_stack, "notfree-slab: free of");
    expect_abort(A, "foreign (misaligned)", foreign_misaligned, "notfree-slab: free of");
    expect_abort(A, "foreign (other heap)", foreign_other_heap, "notfree-slab: free of");
}

/* ---- overflow: never a crash near the boundaries ---- */
static void overflow_body(nf_heap *h) { overflow_sweep(A, h); }

static void test_overflow(void)
{
    char buf[1024];
    int status = child_stderr(A, overflow_body, NULL, buf, sizeof buf);
    REQUIREF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sweep died (%s %d): %s",
             WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
             buf);
}

/* ---- ASan sees inside our heaps ---- */
#if defined(__SANITIZE_ADDRESS__)

static volatile char sink;
static void use_after_free(void)
{
    nf_heap *h = A->create(NULL);
    char *p = A->malloc(h, 64);
    A->free(h, p);
    sink = p[40];
}
static void overflow(void)
{
    nf_heap *h = A->create(NULL);
    char *p = A->malloc(h, 64);
    sink = p[64]; /* the next object, never handed out */
}
static void direct_uaf(void)
{
    nf_heap *h = A->create(NULL);
    char *p = A->malloc(h, 100000);
    A->free(h, p); /* kept in the freed-map cache, poisoned */
    sink = p[5000];
}
#endif

static void test_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
    expect_asan_report(use_after_free, "use after free");
    expect_asan_report(overflow, "overflow");
    expect_asan_report(direct_uaf, "use after free (direct map)");
#else
    printf("  skipped: not built with AddressSanitizer\n");
#endif
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s paths|depot|release|large|grow|aside|corrupt|misuse|overflow|asan\n", argv[0]);
        return 2;
    }
    const char *t = argv[1];
    if (!strcmp(t, "paths"))
        test_paths();
    else if (!strcmp(t, "depot"))
        test_depot();
    else if (!strcmp(t, "release"))
        test_release();
    else if (!strcmp(t, "large"))
        test_large();
    else if (!strcmp(t, "grow"))
        test_grow();
    else if (!strcmp(t, "aside"))
        test_aside();
    else if (!strcmp(t, "corrupt"))
        test_corrupt();
    else if (!strcmp(t, "misuse"))
        test_misuse();
    else if (!strcmp(t, "overflow"))
        test_overflow();
    else if (!strcmp(t, "asan"))
        test_asan();
    else
        REQUIREF(0, "no test %s", t);
    printf("slab %s: ok\n", t);
    return 0;
}
