/* test_bins.c: what only bins (and the registry) promise:
 *   paths     a workload made for each path, then each path counter > 0
 *   misuse    double free (cached, fastbin, binned, into the top, direct
 *             map; a block another thread cached), realloc and
 *             malloc_usable_size of a freed block and a foreign pointer
 *             abort with "notfree-bins: ..." (in a child: checks SIGABRT
 *             and the message read through a pipe)
 *   overflow  requests near the overflow boundaries, every alignment 2^k:
 *             a usable block or NULL with ENOMEM/EINVAL, never a crash
 *             (overflow.h, in a child)
 *   registry  every allocator is found by name; system says which malloc
 *   pages     the real page source counts each kind of call; the emulated
 *             break grows, shrinks and regrows zeroed
 *   fork      fork while other threads allocate, with the fork hooks; the
 *             child allocates and exits cleanly
 *   exit      a thread's cached blocks go back to the arena when it calls
 *             thread_exit, and when it just exits (pthread key destructor)
 *   regrow    a thread's arena region trimmed (pages dropped) grows again
 *             without an mprotect, as glibc's heaps do, and trim lowers
 *             the mapped bytes
 *   default   (in a child) the drop-in heap grows the real program break
 *   asan      (built with AddressSanitizer only, else skipped) a use after
 *             free and an overflow inside a bins heap are reported by ASan
 *   remap     a direct map grown and shrunk by realloc keeps its bytes; with
 *             the real page source it moves its pages (the growth faults
 *             few pages, the mapped bytes follow); with a page source
 *             without remap it is copied
 *   drop      a thread's later region that holds nothing but the top goes
 *             back whole when a free leaves it so (glibc's heap_trim), and
 *             the arena goes on in the region before it
 *   move      nf_pages_move (pages.h) moves a range whose one-call remap is
 *             refused (EFAULT, as for two kernel mappings before Linux
 *             6.17) in halves: every page arrives, in more than two calls
 * Usage: test_bins paths|misuse|overflow|registry|pages|fork|exit|regrow|default|asan|remap|drop|move */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/check.h"
#include "heapstat.h"
#include "child.h"
#include "notfree/alloc.h"
#include "overflow.h"

static const nf_allocator *A;

static int64_t path(nf_heap *h, const char *name) { return heap_path(A, h, name); }

static void test_paths(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    /* top: the first requests */
    void *g[64];
    for (int i = 0; i < 64; i++)
        g[i] = A->malloc(h, 64);
    /* tcache: free 7 then take them back; fastbin: the other 57 */
    for (int i = 0; i < 64; i++)
        A->free(h, g[i]);
    for (int i = 0; i < 64; i++)
        g[i] = A->malloc(h, 64);
    for (int i = 0; i < 64; i++)
        A->free(h, g[i]);
    /* small bins: 500-byte chunks kept apart by guards, freed past the
     * tcache into unsorted, sorted by a large request, then taken back */
    void *s[32], *guard[32];
    for (int i = 0; i < 32; i++) {
        s[i] = A->malloc(h, 500);
        guard[i] = A->malloc(h, 24);
    }
    for (int i = 0; i < 32; i++)
        A->free(h, s[i]);
    void *big = A->malloc(h, 5000);
    for (int i = 0; i < 32; i++)
        s[i] = A->malloc(h, 500);
    /* unsorted: an exact fit straight from the unsorted bin */
    for (int i = 0; i < 32; i++)
        A->free(h, s[i]);
    for (int i = 0; i < 32; i++)
        s[i] = A->malloc(h, 500);
    /* large bins: 3000-byte chunks apart, freed, sorted, best fit */
    void *l[16], *lg[16];
    for (int i = 0; i < 16; i++) {
        l[i] = A->malloc(h, 3000 + 16 * (size_t)i);
        lg[i] = A->malloc(h, 24);
    }
    for (int i = 0; i < 16; i++)
        A->free(h, l[i]);
    void *sorter = A->malloc(h, 20000); /* sorts unsorted into the large bins */
    for (int i = 0; i < 16; i++)
        l[i] = A->malloc(h, 2990);
    /* direct map: above the dynamic threshold's ceiling */
    void *m = A->malloc(h, (size_t)40 << 20);
    REQUIRE(m);
    A->free(h, m);
    /* free into top and into bins; then trim */
    for (int i = 0; i < 16; i++)
        A->free(h, l[i]), A->free(h, lg[i]);
    for (int i = 0; i < 32; i++)
        A->free(h, s[i]), A->free(h, guard[i]);
    A->free(h, big);
    A->free(h, sorter);
    void *edge = A->malloc(h, 100000);
    A->free(h, edge);
    REQUIRE(A->trim(h, 0) == 1);

    static const char *const all[] = {
        "tcache",      "fastbin",      "unsorted",  "smallbin", "largebin",  "top",  "mmap",
        "free_tcache", "free_fastbin", "free_bins", "free_top", "free_mmap", "trim",
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int64_t v = path(h, all[i]);
        printf("  %-13s %lld\n", all[i], (long long)v);
        if (v <= 0) {
            fprintf(stderr, "path %s was never taken\n", all[i]);
            bad = 1;
        }
    }
    REQUIRE(!bad);
    nf_alloc_stats st;
    A->stats(h, &st);
    REQUIRE(st.live_bytes == 0);
    REQUIRE(st.peak_live_bytes >= ((size_t)40 << 20));
    REQUIRE(st.peak_mapped_bytes >= ((size_t)40 << 20));
    REQUIRE(st.page_calls[NF_PAGE_MAP] > 0 && st.page_calls[NF_PAGE_UNMAP] > 0 && st.page_calls[NF_PAGE_BRK] > 0);
    A->destroy(h);
}

/* ---- misuse: run the body in a child, read its stderr ---- */

static void df_tcache(nf_heap *h)
{
    void *p = A->malloc(h, 64);
    A->free(h, p);
    A->free(h, p);
}
static void df_fastbin(nf_heap *h)
{
    void *p[8];
    for (int i = 0; i < 8; i++)
        p[i] = A->malloc(h, 64);
    for (int i = 0; i < 8; i++) /* 7 fill the tcache, the 8th goes to a fastbin */
        A->free(h, p[i]);
    A->free(h, p[7]);
}
static void df_bins(nf_heap *h)
{
    void *p = A->malloc(h, 5000), *guard = A->malloc(h, 10);
    (void)guard;
    A->free(h, p);
    A->free(h, p);
}
static void df_top(nf_heap *h)
{
    void *p = A->malloc(h, 5000); /* next to the top: freeing it grows the top */
    A->free(h, p);
    A->free(h, p);
}

/* p sits in this thread's tcache when another thread frees it: before the
 * key was trusted across threads, it went into the second thread's tcache
 * too (glibc 2.36 misses it the same way) and came out of both. */
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
    A->free(h, XP);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_xp, NULL) == 0);
    pthread_join(t, NULL);
}
/* p went past a full tcache into its arena's bins, then is freed again
 * when the tcache has room: the next chunk's PREV_INUSE (read without the
 * lock) says p is free. glibc 2.36 takes it into the tcache. */
static void df_past_tcache(nf_heap *h)
{
    void *p[9];
    for (int i = 0; i < 9; i++) /* p[8] keeps p[7] off the top */
        p[i] = A->malloc(h, 500);
    for (int i = 0; i < 8; i++) /* 7 fill the tcache, p[7] goes to the unsorted bin */
        A->free(h, p[i]);
    for (int i = 0; i < 7; i++)
        A->malloc(h, 500);
    A->free(h, p[7]);
}
/* another thread frees p into its tcache and exits (its tcache goes back
 * to the arena), then this thread frees p */
static void *free_xp_exit(void *arg)
{
    (void)arg;
    A->free(XH, XP);
    A->thread_exit(XH);
    return NULL;
}
static void df_after_exit(nf_heap *h)
{
    XH = h;
    XP = A->malloc(h, 1000);
    void *guard = A->malloc(h, 10);
    (void)guard;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, free_xp_exit, NULL) == 0);
    pthread_join(t, NULL);
    A->free(h, XP);
}
static void realloc_cached(nf_heap *h)
{
    void *p = A->malloc(h, 64);
    A->free(h, p);
    A->realloc(h, p, 64); /* would hand the cached block back as live */
}
static void realloc_binned(nf_heap *h)
{
    void *p = A->malloc(h, 5000), *guard = A->malloc(h, 10);
    (void)guard;
    A->free(h, p);          /* into the unsorted bin */
    A->realloc(h, p, 4000); /* would shrink a free chunk in place */
}
static void usable_cached(nf_heap *h)
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
static void foreign_libc(nf_heap *h)
{
    void *p = malloc(100);
    A->free(h, p);
}
static void foreign_misaligned(nf_heap *h)
{
    char *p = A->malloc(h, 100);
    A->free(h, p + 8);
}
static void foreign_other_heap(nf_heap *h)
{
    nf_heap *o = A->create(NULL);
    void *p = A->malloc(o, 100);
    A->free(h, p);
}

static void test_misuse(void)
{
    expect_abort(A, "double free (tcache)", df_tcache, "notfree-bins: double free of 0x");
    expect_abort(A, "double free (fastbin)", df_fastbin, "notfree-bins: double free of 0x");
    expect_abort(A, "double free (bins)", df_bins, "notfree-bins: double free of 0x");
    expect_abort(A, "double free (top)", df_top, "notfree-bins: free of 0x");
    expect_abort(A, "double free (two threads)", df_xthread, "notfree-bins: double free of 0x");
    expect_abort(A, "double free (past tcache)", df_past_tcache, "notfree-bins: double free of 0x");
    expect_abort(A, "double free (thread exited)", df_after_exit, "notfree-bins: double free of 0x");
    expect_abort(A, "realloc of freed (tcache)", realloc_cached, "notfree-bins: realloc of 0x");
    expect_abort(A, "realloc of freed (bins)", realloc_binned, "notfree-bins: realloc of 0x");
    expect_abort(A, "usable size of freed", usable_cached, "notfree-bins: malloc_usable_size of 0x");
    expect_abort(A, "foreign (stack)", foreign_stack, "notfree-bins: free of");
    expect_abort(A, "foreign (libc malloc)", foreign_libc, "notfree-bins: free of");
    expect_abort(A, "foreign (misaligned)", foreign_misaligned, "notfree-bins: free of");
    expect_abort(A, "foreign (other heap)", foreign_other_heap, "notfree-bins: free of");
}

static void overflow_body(nf_heap *h) { overflow_sweep(A, h); }

static void test_overflow(void)
{
    char buf[1024];
    int status = child_stderr(A, overflow_body, NULL, buf, sizeof buf);
    REQUIREF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sweep died (%s %d): %s",
             WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
             buf);
}

static void test_registry(void)
{
    REQUIRE(nf_allocator_count() >= 2);
    for (size_t i = 0; i < nf_allocator_count(); i++) {
        const nf_allocator *a = nf_allocator_at(i);
        REQUIRE(a && a->name && nf_allocator_find(a->name) == a);
        REQUIRE(a->create && a->destroy && a->malloc && a->free && a->calloc && a->realloc && a->memalign &&
                a->usable_size && a->trim && a->stats && a->identify);
        nf_heap *h = a->create(NULL);
        REQUIRE(h);
        char buf[128];
        printf("  %-8s %s\n", a->name, a->identify(h, buf, sizeof buf));
        nf_alloc_stats s;
        int rc = a->stats(h, &s);
        REQUIRE(rc == 0 || rc == -1);
        if (rc == 0 && s.available != (NF_STAT_LIVE | NF_STAT_HELD | NF_STAT_MAPPED | NF_STAT_PAGE_CALLS |
                                       NF_STAT_CALLS | NF_STAT_PATHS))
            REQUIRE(s.unavailable_reason && s.unavailable_reason[0]);
        a->destroy(h);
    }
    REQUIRE(nf_allocator_find("no-such") == NULL);
    nf_heap *sys = nf_allocator_system.create(NULL);
    char buf[128];
    const char *id = nf_allocator_system.identify(sys, buf, sizeof buf);
    /* this test runs without a preloaded allocator: glibc, or a sanitizer's */
    REQUIREF(strncmp(id, "glibc ", 6) == 0 || strncmp(id, "unknown", 7) == 0, "system is %s", id);
    nf_alloc_stats s;
    if (strncmp(id, "glibc ", 6) == 0) {
        REQUIRE(nf_allocator_system.stats(sys, &s) == 0);
        REQUIRE((s.available & NF_STAT_MAPPED) && !(s.available & NF_STAT_PAGE_CALLS));
        REQUIRE(nf_alloc_stats_path(&s, "tcache") == -1); /* unknown, not 0 */
    }
    REQUIRE(nf_allocator_bins.default_heap && nf_allocator_bins.fork_prepare && nf_allocator_bins.fork_parent &&
            nf_allocator_bins.fork_child && nf_allocator_bins.thread_exit);
}

static void test_pages(void)
{
    nf_pages ps;
    nf_pages_real_init(&ps, NF_BRK_EMULATED, (size_t)1 << 30);
    uint64_t c[NF_PAGE_CALL_COUNT];
    char *m = nf_pages_map(&ps, 3 * ps.page_size, NF_MAP_POPULATE);
    REQUIRE(m);
    m[0] = 1;
    REQUIRE(nf_pages_advise(&ps, m, ps.page_size, NF_ADVISE_DONTNEED) == 0);
    REQUIRE(m[0] == 0);
    REQUIRE(nf_pages_lock(&ps, m, ps.page_size) == 0 || errno == EPERM || errno == ENOMEM);
    nf_pages_unlock(&ps, m, ps.page_size);
    REQUIRE(nf_pages_protect(&ps, m, ps.page_size, NF_PROT_READ) == 0);
    REQUIRE(nf_pages_unmap(&ps, m, 3 * ps.page_size) == 0);
    char *b0 = nf_pages_grow(&ps, 0);
    REQUIRE(b0);
    char *b1 = nf_pages_grow(&ps, 100000);
    REQUIRE(b1 == b0);
    memset(b1, 7, 100000);
    REQUIRE(nf_pages_grow(&ps, -100000) == b0 + 100000);
    REQUIRE(nf_pages_grow(&ps, 0) == b0);
    REQUIRE(nf_pages_grow(&ps, 8192) == b0);
    REQUIRE(b0[0] == 0 && b0[8191] == 0); /* given back, regrown zeroed */
    errno = 0;
    REQUIRE(nf_pages_grow(&ps, -((intptr_t)1 << 20)) == NULL && errno == ENOMEM);
    REQUIRE(nf_pages_grow(&ps, (intptr_t)2 << 30) == NULL && errno == ENOMEM);
    nf_pages_calls(&ps, c);
    REQUIRE(c[NF_PAGE_MAP] == 1 && c[NF_PAGE_UNMAP] == 1 && c[NF_PAGE_ADVISE] == 1);
    REQUIRE(c[NF_PAGE_LOCK] == 2 && c[NF_PAGE_PROTECT] == 1 && c[NF_PAGE_BRK] == 7);
    for (int k = 0; k < NF_PAGE_CALL_COUNT; k++)
        REQUIRE(strcmp(nf_page_call_name((nf_page_call)k), "?") != 0);
    nf_pages_real_fini(&ps);
    nf_pages none;
    nf_pages_real_init(&none, NF_BRK_NONE, 0);
    REQUIRE(nf_pages_grow(&none, 4096) == NULL && errno == ENOMEM);
    REQUIRE(nf_pages_real() == nf_pages_real() && nf_pages_real()->brk_mode == NF_BRK_EMULATED);
}

/* ---- move: nf_pages_move over a range of two kernel mappings ---- */
/* A real page source whose remap refuses a range across seam, as Linux
 * before 6.17 refuses one that spans two kernel mappings (EFAULT). */
static uintptr_t g_seam;
static void *seam_remap(nf_pages *ps, void *old, size_t oldlen, size_t newlen, void *target)
{
    if ((uintptr_t)old < g_seam && (uintptr_t)old + oldlen > g_seam) {
        errno = EFAULT;
        return NULL;
    }
    return nf_pages_real()->ops->remap(ps, old, oldlen, newlen, target);
}

static void test_move(void)
{
    nf_pages ps;
    nf_pages_real_init(&ps, NF_BRK_NONE, 0);
    nf_pages_ops ops = *ps.ops;
    ops.remap = seam_remap;
    ps.ops = &ops;
    size_t pg = ps.page_size, n = 16;
    unsigned char *src = nf_pages_map(&ps, n * pg, 0), *dst = nf_pages_map(&ps, n * pg, NF_MAP_NOACCESS);
    REQUIRE(src && dst);
    for (size_t i = 0; i < n; i++)
        memset(src + i * pg, (int)(i + 1), pg);
    g_seam = (uintptr_t)src + 5 * pg;
    uint64_t c0[NF_PAGE_CALL_COUNT], c1[NF_PAGE_CALL_COUNT];
    nf_pages_calls(&ps, c0);
    REQUIRE(nf_pages_move(&ps, src, n * pg, dst) == 0);
    nf_pages_calls(&ps, c1);
    for (size_t i = 0; i < n; i++)
        REQUIREF(dst[i * pg] == i + 1 && dst[i * pg + pg - 1] == i + 1, "page %zu lost in the move", i);
    printf("  16 pages across a seam moved in %llu remap calls\n",
           (unsigned long long)(c1[NF_PAGE_MAP] - c0[NF_PAGE_MAP]));
    REQUIRE(c1[NF_PAGE_MAP] - c0[NF_PAGE_MAP] > 2); /* refused whole, then in halves */
    REQUIRE(nf_pages_unmap(&ps, dst, n * pg) == 0);
    nf_pages_real_fini(&ps);
}

/* ---- remap: realloc of a direct map ---- */
enum { REMAP_FROM = 1 << 20, REMAP_TO = 16 << 20 }; /* both at or above the mmap threshold */

static unsigned char remap_byte(size_t i) { return (unsigned char)(i * 131 + (i >> 12)); }

static uint64_t mapped(nf_heap *h)
{
    nf_alloc_stats st;
    REQUIRE(A->stats(h, &st) == 0);
    return st.mapped_bytes;
}

/* Grow a direct map 16-fold, then shrink it; every byte must survive.
 * Returns the minor faults taken by the growing realloc alone. */
static long remap_round(nf_heap *h, size_t align)
{
    unsigned char *p = align ? A->memalign(h, align, REMAP_FROM) : A->malloc(h, REMAP_FROM);
    REQUIRE(p);
    REQUIREF(path(h, "mmap") > 0, "a %d-byte request was not mapped on its own", REMAP_FROM);
    for (size_t i = 0; i < REMAP_FROM; i++)
        p[i] = remap_byte(i);
    uint64_t before = mapped(h);
    long f0 = minor_faults();
    unsigned char *q = A->realloc(h, p, REMAP_TO);
    long faults = minor_faults() - f0;
    REQUIRE(q);
    REQUIRE(A->usable_size(h, q) >= REMAP_TO);
    /* the block's mapping grew by the difference, less what memalign's
     * slack (align bytes and a page) already held */
    uint64_t after = mapped(h), least = REMAP_TO - REMAP_FROM - align - 2 * (size_t)sysconf(_SC_PAGESIZE);
    REQUIREF(after >= before + least && after <= before + REMAP_TO, "mapped bytes %llu -> %llu after growing",
             (unsigned long long)before, (unsigned long long)after);
    for (size_t i = 0; i < REMAP_FROM; i++)
        REQUIREF(q[i] == remap_byte(i), "byte %zu lost by the growing realloc", i);
    q[REMAP_TO - 1] = 1; /* the grown part is the block's */
    unsigned char *r = A->realloc(h, q, REMAP_FROM / 2);
    REQUIRE(r && A->usable_size(h, r) >= REMAP_FROM / 2);
    for (size_t i = 0; i < REMAP_FROM / 2; i++)
        REQUIREF(r[i] == remap_byte(i), "byte %zu lost by the shrinking realloc", i);
    A->free(h, r); /* the block moved: the direct-map table must know it by its new address */
    return faults;
}

static void test_remap(void)
{
    nf_heap *h = A->create(NULL); /* its own real page source: it has remap */
    REQUIRE(h);
    long grow_faults = remap_round(h, 0), aligned_faults = remap_round(h, 1 << 16);
    printf("  faults while growing %d KiB to %d KiB: %ld, memaligned: %ld\n", REMAP_FROM >> 10, REMAP_TO >> 10,
           grow_faults, aligned_faults);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* a copy writes every page of the new block (4096 here at 4 KiB):
     * moved pages fault none; a few for the allocator's own bookkeeping */
    long pages = REMAP_TO / (long)sysconf(_SC_PAGESIZE);
    REQUIREF(grow_faults < pages / 64 && aligned_faults < pages / 64, "the growing realloc copied (%ld, %ld faults)",
             grow_faults, aligned_faults);
#endif
    A->destroy(h);

    /* a page source without remap (as the kernel model): the copy path */
    nf_pages ps;
    nf_pages_real_init(&ps, NF_BRK_EMULATED, (size_t)1 << 30);
    nf_pages_ops ops = *ps.ops;
    ops.remap = NULL;
    ps.ops = &ops;
    REQUIRE(!nf_pages_can_remap(&ps));
    h = A->create(&ps);
    REQUIRE(h);
    long copy_faults = remap_round(h, 0);
    remap_round(h, 1 << 16);
    printf("  without remap (copied): %ld faults\n", copy_faults);
    A->destroy(h);
    nf_pages_real_fini(&ps);
}

/* ---- drop: a later region given back whole ---- */
enum { DROP_SIZE = 24 << 20 }; /* two fit a 64 MiB region, a third opens another */

static uint64_t unmaps(nf_heap *h)
{
    nf_alloc_stats st;
    REQUIRE(A->stats(h, &st) == 0);
    return st.page_calls[NF_PAGE_UNMAP];
}

static void *drop_body(void *arg)
{
    nf_heap *h = arg;
    char *p[3];
    for (int i = 0; i < 3; i++) {
        REQUIRE((p[i] = A->malloc(h, DROP_SIZE)) != NULL);
        memset(p[i], i + 1, DROP_SIZE);
    }
    REQUIREF(path(h, "mmap") == 1, "the blocks were mapped on their own, not carved from regions");
    uint64_t full = mapped(h), u0 = unmaps(h);
    A->free(h, p[2]);
    uint64_t after = mapped(h);
    printf("  mapped %llu -> %llu, unmap calls +%llu\n", (unsigned long long)full, (unsigned long long)after,
           (unsigned long long)(unmaps(h) - u0));
    REQUIREF(after + DROP_SIZE <= full && unmaps(h) > u0, "the emptied region stayed");
    /* the arena grows on in the first region's free end, and again past it */
    for (int i = 0; i < 2; i++)
        REQUIRE(p[0][i * (DROP_SIZE - 1)] == 1 && p[1][i * (DROP_SIZE - 1)] == 2);
    REQUIRE((p[2] = A->malloc(h, DROP_SIZE)) != NULL);
    memset(p[2], 3, DROP_SIZE);
    for (int i = 0; i < 3; i++)
        A->free(h, p[i]);
    return NULL;
}

static void test_drop(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    A->free(h, A->malloc(h, 16));               /* the main arena is this thread's: the next one gets regions */
    A->free(h, A->malloc(h, (size_t)30 << 20)); /* a freed direct map lifts the mmap threshold to 30 MiB */
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, drop_body, h) == 0);
    pthread_join(t, NULL);
    A->destroy(h);
}

/* ---- fork, thread exit, the default heap ---- */
static nf_heap *shared_heap;
static volatile int stop_churn;

static void *churn(void *arg)
{
    (void)arg;
    unsigned r = 1;
    void *keep[64] = {0};
    while (!__atomic_load_n(&stop_churn, __ATOMIC_RELAXED)) {
        r = r * 1103515245u + 12345u;
        unsigned i = (r >> 8) % 64;
        A->free(shared_heap, keep[i]);
        keep[i] = A->malloc(shared_heap, (r >> 4) % 5000);
    }
    for (int i = 0; i < 64; i++)
        A->free(shared_heap, keep[i]);
    return NULL;
}

static void test_fork(void)
{
    shared_heap = A->create(NULL);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        REQUIRE(pthread_create(&t[i], NULL, churn, NULL) == 0);
    for (int round = 0; round < 20; round++) {
        A->fork_prepare(shared_heap);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            A->fork_child(shared_heap);
            void *p[100];
            for (int i = 0; i < 100; i++)
                p[i] = A->malloc(shared_heap, (size_t)i * 100);
            for (int i = 0; i < 100; i++)
                A->free(shared_heap, p[i]);
            _exit(0);
        }
        A->fork_parent(shared_heap);
        int status;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        REQUIREF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    }
    __atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    A->destroy(shared_heap);
}

static void *cache_and_leave(void *arg)
{
    void *p[7];
    for (int i = 0; i < 7; i++)
        p[i] = A->malloc(shared_heap, 64);
    for (int i = 0; i < 7; i++)
        A->free(shared_heap, p[i]); /* all seven stay in this thread's tcache */
    if (arg)
        A->thread_exit(shared_heap);
    return NULL;
}

/* ---- regrow: a region's opened high-water mark ---- */
enum { REGROW_N = 40, REGROW_SIZE = 100000 }; /* under the mmap threshold: from the region */

static uint64_t protects(nf_heap *h)
{
    nf_alloc_stats st;
    A->stats(h, &st);
    return st.page_calls[NF_PAGE_PROTECT];
}

static void *regrow_body(void *arg)
{
    nf_heap *h = arg;
    void *p[REGROW_N];
    for (int round = 0; round < 2; round++) {
        uint64_t before = protects(h);
        for (int i = 0; i < REGROW_N; i++) {
            REQUIRE((p[i] = A->malloc(h, REGROW_SIZE)) != NULL);
            memset(p[i], round + 1, REGROW_SIZE);
        }
        uint64_t grown = protects(h);
        nf_alloc_stats full;
        A->stats(h, &full);
        for (int i = REGROW_N; i-- > 0;)
            A->free(h, p[i]);
        A->trim(h, 0);
        nf_alloc_stats trimmed;
        A->stats(h, &trimmed);
        printf("  round %d: mprotect %llu -> %llu, mapped %llu -> %llu after trim\n", round, (unsigned long long)before,
               (unsigned long long)grown, (unsigned long long)full.mapped_bytes,
               (unsigned long long)trimmed.mapped_bytes);
        REQUIREF(trimmed.mapped_bytes + (size_t)REGROW_N * REGROW_SIZE / 2 < full.mapped_bytes, "trim kept the pages");
        if (round == 0)
            REQUIREF(grown > before, "the first growth opened no pages");
        else
            REQUIREF(grown == before, "growing a trimmed region again took %llu mprotect calls",
                     (unsigned long long)(grown - before));
    }
    return NULL;
}

static void test_regrow(void)
{
    nf_heap *h = A->create(NULL);
    REQUIRE(h);
    A->free(h, A->malloc(h, 16)); /* this thread takes the main arena, the next one gets a region */
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, regrow_body, h) == 0);
    pthread_join(t, NULL);
    A->destroy(h);
}

static void test_exit(void)
{
    shared_heap = A->create(NULL);
    for (int explicit = 0; explicit < 2; explicit ++) {
        int64_t before = path(shared_heap, "free_fastbin");
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, cache_and_leave, explicit ? (void *)1 : NULL) == 0);
        pthread_join(t, NULL);
        int64_t after = path(shared_heap, "free_fastbin");
        REQUIREF(after - before >= 7, "%s: %lld cached blocks went back", explicit ? "thread_exit" : "destructor",
                 (long long)(after - before));
        nf_alloc_stats st;
        A->stats(shared_heap, &st);
        REQUIRE(st.mallocs == st.frees && st.live_bytes == 0);
    }
    A->destroy(shared_heap);
}

static void test_default(void)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        nf_heap *h = A->default_heap();
        REQUIRE(h && A->default_heap() == h);
        char *brk0 = sbrk(0);
        void *p[1000];
        for (int i = 0; i < 1000; i++)
            REQUIRE((p[i] = A->malloc(h, (size_t)i * 50)) != NULL);
        REQUIRE((char *)sbrk(0) > brk0);
        /* glibc's malloc shares the break: both must keep working */
        void *q = malloc(300000), *q2 = malloc(100);
        REQUIRE(q && q2);
        for (int i = 0; i < 1000; i++)
            A->free(h, p[i]);
        free(q);
        free(q2);
        for (int i = 0; i < 1000; i++)
            REQUIRE((p[i] = A->malloc(h, (size_t)i * 70)) != NULL);
        for (int i = 0; i < 1000; i++)
            A->free(h, p[i]);
        nf_alloc_stats st;
        A->stats(h, &st);
        REQUIRE(st.page_calls[NF_PAGE_BRK] > 0);
        A->trim(h, 0);
        _exit(0);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIREF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

/* ---- ASan sees inside our heaps ---- */
#if defined(__SANITIZE_ADDRESS__)

static volatile char sink;
static void use_after_free(void)
{
    nf_heap *h = A->create(NULL);
    char *p = A->malloc(h, 64);
    A->free(h, p);
    sink = p[10];
}
static void overflow(void)
{
    nf_heap *h = A->create(NULL);
    char *p = A->malloc(h, 100);
    char *q = A->malloc(h, 100);
    (void)q;
    sink = p[A->usable_size(h, p) + 4];
}

#endif

static int test_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
    expect_asan_report(use_after_free, "use after free");
    expect_asan_report(overflow, "overflow");
    return 0;
#else
    printf("not built with AddressSanitizer: skipped\n");
    return 77;
#endif
}

int main(int argc, char **argv)
{
    A = &nf_allocator_bins;
    if (argc != 2) {
        fprintf(stderr,
                "usage: %s paths|misuse|overflow|registry|pages|fork|exit|regrow|default|asan|remap|drop|move\n",
                argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "paths"))
        test_paths();
    else if (!strcmp(argv[1], "misuse"))
        test_misuse();
    else if (!strcmp(argv[1], "overflow"))
        test_overflow();
    else if (!strcmp(argv[1], "registry"))
        test_registry();
    else if (!strcmp(argv[1], "pages"))
        test_pages();
    else if (!strcmp(argv[1], "move"))
        test_move();
    else if (!strcmp(argv[1], "fork"))
        test_fork();
    else if (!strcmp(argv[1], "exit"))
        test_exit();
    else if (!strcmp(argv[1], "regrow"))
        test_regrow();
    else if (!strcmp(argv[1], "default"))
        test_default();
    else if (!strcmp(argv[1], "asan")) {
        if (test_asan() == 77)
            return 77;
    } else if (!strcmp(argv[1], "remap"))
        test_remap();
    else if (!strcmp(argv[1], "drop"))
        test_drop();
    else
        REQUIREF(0, "no test %s", argv[1]);
    printf("bins %s: ok\n", argv[1]);
    return 0;
}
