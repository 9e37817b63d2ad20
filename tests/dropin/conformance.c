/* conformance.c: the contracts of malloc and its family, checked linked and
 * preloaded.
 *
 *   conformance --linked NAME|all     through the nf_allocator interface,
 *                                     on a fresh heap of each allocator
 *   conformance --preloaded LIBNAME   through the plain C names; the program
 *                                     must run under LD_PRELOAD with
 *                                     LIBNAME (e.g. libnotfree-bins.so) and
 *                                     checks that it is mapped and serves
 *   conformance --fuzz NAME           the (alignment, size) overflow fuzz
 *                                     of the check battery (check/fuzz.c)
 *                                     through the interface's memalign, in
 *                                     a child (a crash is a failure, with
 *                                     its signal); the C names get the same
 *                                     fuzz from `notfree check` (tests/check)
 *
 * Common contracts: every result aligned (16, or the alignment asked up to
 * 64 KiB) for sizes 0 to 1 MiB; usable size >= size; malloc(0) unique;
 * realloc keeps contents, realloc(NULL, n) and realloc(p, 0); calloc zeroes
 * and catches overflow with ENOMEM; impossible sizes give ENOMEM; free keeps
 * errno. The preloaded run adds what only the C names have: posix_memalign's
 * EINVAL rules, aligned_alloc, memalign, valloc, pvalloc, reallocarray,
 * malloc_usable_size(NULL), malloc_trim, mallopt, mallinfo2, the __libc_*
 * names, dlerror (which allocates inside libc), a forked child.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free" /* a failed realloc keeps its block */

#include "../common/check.h"
#include "fuzz.h"
#include "mem.h"

static mem M;

#define ALIGNED(p, a) (((uintptr_t)(p) & ((a)-1)) == 0)

/* Sizes 0..4096 one by one, then about 1/16 apart, and each power of two
 * +-1, up to 1 MiB. */
static size_t next_size(size_t n)
{
    if (n < 4096)
        return n + 1;
    size_t step = n / 16;
    size_t p2 = (size_t)1 << (63 - __builtin_clzll(n));
    if (n + 1 == 2 * p2 || n == 2 * p2) /* n is 2^k - 1 or 2^k: visit 2^k, 2^k + 1 */
        return n + 1;
    if (n + step >= 2 * p2 - 1)
        return 2 * p2 - 1;
    return n + step;
}

static void test_sizes_aligned(void)
{
    enum { KEEP = 64 };
    void *live[KEEP] = {0};
    size_t live_n[KEEP] = {0};
    unsigned k = 0, count = 0;
    for (size_t n = 0; n <= (1u << 20); n = next_size(n), count++) {
        unsigned char *p = mem_malloc(&M, n);
        CHECK(p != NULL, "malloc(%zu) failed", n);
        if (!p)
            continue;
        CHECK(ALIGNED(p, 16), "malloc(%zu) = %p not 16-aligned", n, (void *)p);
        size_t u = mem_usable(&M, p);
        CHECK(u >= n, "usable(malloc(%zu)) = %zu", n, u);
        pat_fill(p, n, n, 256);
        if (live[k]) {
            size_t bad = pat_check(live[k], live_n[k], live_n[k], 256);
            CHECK(bad == 0, "block of %zu changed at %zu while others were allocated", live_n[k], bad - 1);
            mem_free(&M, live[k]);
        }
        live[k] = p;
        live_n[k] = n;
        k = (k + 1) % KEEP;
    }
    for (unsigned i = 0; i < KEEP; i++)
        mem_free(&M, live[i]);
    CHECK(count > 4096 + 100, "only %u sizes", count);
}

static void test_memalign(void)
{
    static const size_t sizes[] = {0, 1, 8, 15, 16, 17, 100, 1000, 4095, 4096, 4097, 65536, 100000, 1u << 20};
    for (size_t a = 1; a <= 65536; a <<= 1)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i];
            unsigned char *p = mem_memalign(&M, a, n);
            CHECK(p != NULL, "memalign(%zu, %zu) failed", a, n);
            if (!p)
                continue;
            size_t want = a < 16 ? 16 : a;
            CHECK(ALIGNED(p, want), "memalign(%zu, %zu) = %p", a, n, (void *)p);
            CHECK(mem_usable(&M, p) >= n, "usable(memalign(%zu, %zu)) = %zu", a, n, mem_usable(&M, p));
            if (n) {
                p[0] = 1;
                p[n - 1] = 2;
            }
            mem_free(&M, p);
        }
}

static void test_malloc_zero(void)
{
    void *a = mem_malloc(&M, 0), *b = mem_malloc(&M, 0);
    CHECK(a && b && a != b, "malloc(0) gave %p and %p", a, b);
    mem_free(&M, a);
    mem_free(&M, b);
}

static void test_realloc(void)
{
    enum { FULL = (1 << 21) };
    size_t n = 1;
    unsigned char *p = mem_realloc(&M, NULL, n); /* realloc(NULL, n) is malloc */
    CHECK(p != NULL, "realloc(NULL, 1)");
    if (!p)
        return;
    pat_fill(p, n, 7, FULL);
    while (n < (1u << 20)) { /* grow: contents kept */
        size_t m = n + n / 2 + 1;
        unsigned char *q = mem_realloc(&M, p, m);
        CHECK(q != NULL, "realloc(%zu -> %zu) failed", n, m);
        if (!q)
            return;
        size_t bad = pat_check(q, n, 7, FULL);
        CHECK(bad == 0, "realloc(%zu -> %zu) lost byte %zu", n, m, bad - 1);
        CHECK(ALIGNED(q, 16) && mem_usable(&M, q) >= m, "realloc(%zu -> %zu) alignment/usable", n, m);
        pat_fill(q, m, 7, FULL);
        p = q;
        n = m;
    }
    while (n > 1) { /* shrink: prefix kept */
        size_t m = n / 3;
        m = m ? m : 1;
        unsigned char *q = mem_realloc(&M, p, m);
        CHECK(q != NULL, "realloc(%zu -> %zu) failed", n, m);
        if (!q)
            return;
        size_t bad = pat_check(q, m, 7, FULL);
        CHECK(bad == 0, "shrinking realloc(%zu -> %zu) lost byte %zu", n, m, bad - 1);
        p = q;
        n = m;
    }
    errno = 0;
    void *r = mem_realloc(&M, p, 0); /* glibc: frees p, returns NULL */
    CHECK(r == NULL, "realloc(p, 0) = %p, want NULL", r);
    /* A failed realloc leaves the block alone. */
    p = mem_malloc(&M, 100);
    pat_fill(p, 100, 9, FULL);
    errno = 0;
    void *big = mem_realloc(&M, p, opaque(SIZE_MAX - 4096));
    CHECK(big == NULL && errno == ENOMEM, "realloc to SIZE_MAX-4096 = %p errno %d", big, errno);
    CHECK(pat_check(p, 100, 9, FULL) == 0, "failed realloc changed the block");
    mem_free(&M, p);
}

static void test_calloc(void)
{
    static const size_t sizes[] = {1, 16, 24, 100, 1000, 4096, 10000, 100000, 200000, 1u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        /* Dirty memory of that size first, so calloc cannot rely on luck. */
        for (int rep = 0; rep < 3; rep++) {
            unsigned char *d = mem_malloc(&M, n);
            if (d) {
                memset(d, 0xa5, n);
                mem_free(&M, d);
            }
            unsigned char *p = mem_calloc(&M, 1, n);
            CHECK(p != NULL, "calloc(1, %zu)", n);
            if (!p)
                continue;
            size_t nz = 0;
            for (size_t j = 0; j < n; j++)
                nz += p[j] != 0;
            CHECK(nz == 0, "calloc(1, %zu): %zu non-zero bytes", n, nz);
            mem_free(&M, p);
        }
    }
    errno = 0;
    void *p = mem_calloc(&M, opaque(SIZE_MAX / 2 + 2), 2);
    CHECK(p == NULL && errno == ENOMEM, "calloc overflow = %p errno %d", p, errno);
    errno = 0;
    p = mem_calloc(&M, opaque((size_t)1 << 33), opaque((size_t)1 << 33));
    CHECK(p == NULL && errno == ENOMEM, "calloc(2^33, 2^33) = %p errno %d", p, errno);
    p = mem_calloc(&M, 0, 0);
    CHECK(p != NULL, "calloc(0, 0) = NULL");
    mem_free(&M, p);
}

static void test_enomem(void)
{
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, (size_t)1 << 62};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        void *p = mem_malloc(&M, opaque(sizes[i]));
        CHECK(p == NULL && errno == ENOMEM, "malloc(%zu) = %p errno %d", sizes[i], p, errno);
    }
    errno = 0;
    void *p = mem_memalign(&M, 4096, opaque(SIZE_MAX - 100));
    CHECK(p == NULL && errno == ENOMEM, "memalign(4096, SIZE_MAX-100) = %p errno %d", p, errno);
}

static void test_errno_free(void)
{
    static const size_t sizes[] = {1, 100, 5000, 300000, 4u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = mem_malloc(&M, sizes[i]);
        errno = 4321;
        mem_free(&M, p);
        CHECK(errno == 4321, "free of %zu bytes changed errno to %d", sizes[i], errno);
    }
    errno = 77;
    mem_free(&M, NULL);
    CHECK(errno == 77, "free(NULL) changed errno");
}

static void test_memalign_einval(void) /* interface contract */
{
    static const size_t bad[] = {0, 3, 24, 100, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *p = M.a->memalign(M.h, bad[i], 10);
        CHECK(p == NULL && errno == EINVAL, "memalign(%zu) = %p errno %d", bad[i], p, errno);
    }
}

/* ---- only through the C names ---- */
static void test_posix_memalign(void)
{
    static const size_t bad[] = {0, 1, 2, 4, 3, 24, 48, 100, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)0x1;
        errno = 55;
        int rc = posix_memalign(&p, bad[i], 16);
        CHECK(rc == EINVAL, "posix_memalign(align %zu) = %d, want EINVAL", bad[i], rc);
        CHECK(p == (void *)0x1, "posix_memalign(align %zu) wrote the result on failure", bad[i]);
        CHECK(errno == 55, "posix_memalign changed errno");
    }
    for (size_t a = sizeof(void *); a <= 65536; a <<= 1) {
        void *p = NULL;
        int rc = posix_memalign(&p, a, 1000);
        CHECK(rc == 0 && p && ALIGNED(p, a), "posix_memalign(%zu) = %d %p", a, rc, p);
        free(p);
    }
    void *p = (void *)0x1;
    int rc = posix_memalign(&p, 64, opaque(SIZE_MAX - 1000));
    CHECK(rc == ENOMEM && p == (void *)0x1, "posix_memalign(huge) = %d", rc);
}

static void test_other_aligned(void)
{
    void *p = aligned_alloc(64, 100);
    CHECK(p && ALIGNED(p, 64), "aligned_alloc(64, 100) = %p", p);
    free(p);
    errno = 0;
    p = aligned_alloc(3, 16);
    CHECK(p == NULL && errno == EINVAL, "aligned_alloc(3) = %p errno %d", p, errno);
    p = memalign(24, 10); /* glibc rounds a non-power of two up */
    CHECK(p && ALIGNED(p, 32), "memalign(24, 10) = %p", p);
    free(p);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    p = valloc(10);
    CHECK(p && ALIGNED(p, page), "valloc = %p", p);
    free(p);
    p = pvalloc(1);
    CHECK(p && ALIGNED(p, page) && malloc_usable_size(p) >= page, "pvalloc(1) = %p", p);
    free(p);
    p = pvalloc(0);
    CHECK(p && ALIGNED(p, page), "pvalloc(0) = %p", p);
    free(p);
}

static void test_reallocarray(void)
{
    int *a = reallocarray(NULL, 10, sizeof *a);
    CHECK(a != NULL, "reallocarray(NULL, 10)");
    for (int i = 0; a && i < 10; i++)
        a[i] = i;
    int *b = reallocarray(a, 1000, sizeof *a);
    CHECK(b && b[9] == 9, "reallocarray grow kept contents");
    errno = 0;
    void *c = reallocarray(b, opaque(SIZE_MAX / 2), 4);
    CHECK(c == NULL && errno == ENOMEM, "reallocarray overflow = %p errno %d", c, errno);
    free(b);
}

static void test_misc_names(void)
{
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");
    int t = malloc_trim(0);
    CHECK(t == 0 || t == 1, "malloc_trim = %d", t);
    CHECK(mallopt(M_PERTURB, 0) == 1, "mallopt(M_PERTURB) refused");
    CHECK(mallopt(12345, 1) == 0, "mallopt(unknown) accepted");
    void *keep = malloc(100000);
    memset(keep, 1, 100000);
    struct mallinfo2 mi = mallinfo2();
    CHECK(mi.arena >= 100000, "mallinfo2().arena = %zu", mi.arena);
    free(keep);
    /* dlerror allocates inside libc; the result must be freeable by us. */
    void *h = dlopen("/nonexistent/libnothing.so", RTLD_NOW);
    CHECK(h == NULL && dlerror() != NULL, "dlopen of a missing library");
}

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*memalign_fn)(size_t, size_t);

static void test_libc_names(const char *lib)
{
    static const char *const names[] = {"malloc",          "free",
                                        "calloc",          "realloc",
                                        "__libc_malloc",   "__libc_free",
                                        "__libc_calloc",   "__libc_realloc",
                                        "__libc_memalign", "__libc_valloc",
                                        "__libc_pvalloc",  "posix_memalign",
                                        "aligned_alloc",   "malloc_usable_size",
                                        "mallinfo2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(RTLD_DEFAULT, names[i]);
        Dl_info info;
        CHECK(sym && dladdr(sym, &info) && info.dli_fname && strstr(info.dli_fname, lib),
              "%s does not resolve to %s (%s)", names[i], lib,
              sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "?");
    }
    malloc_fn lm = (malloc_fn)dlsym(RTLD_DEFAULT, "__libc_malloc");
    free_fn lf = (free_fn)dlsym(RTLD_DEFAULT, "__libc_free");
    calloc_fn lc = (calloc_fn)dlsym(RTLD_DEFAULT, "__libc_calloc");
    realloc_fn lr = (realloc_fn)dlsym(RTLD_DEFAULT, "__libc_realloc");
    memalign_fn la = (memalign_fn)dlsym(RTLD_DEFAULT, "__libc_memalign");
    if (!lm || !lf || !lc || !lr || !la)
        return;
    char *p = lm(10);
    strcpy(p, "notfree");
    p = lr(p, 5000);
    CHECK(strcmp(p, "notfree") == 0, "__libc_realloc kept contents");
    free(p); /* mixed names, one allocator */
    p = lc(10, 10);
    CHECK(p && p[99] == 0, "__libc_calloc");
    lf(p);
    p = la(256, 10);
    CHECK(p && ALIGNED(p, 256), "__libc_memalign");
    lf(p);
}

static void test_mapped(const char *lib)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    bool found = false;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, lib))
            found = true;
    if (f)
        fclose(f);
    CHECK(found, "%s is not in /proc/self/maps: run under LD_PRELOAD", lib);
}

/* Before main: a constructor allocates and looks a symbol up (dlsym
 * allocates inside libc), as a library's constructor would. */
static void *early_block;
static int early_dlsym_ok;

__attribute__((constructor)) static void early_alloc(void)
{
    early_block = malloc(1000);
    if (early_block)
        memset(early_block, 0x5a, 1000);
    early_dlsym_ok = dlsym(RTLD_NEXT, "malloc") != NULL || dlsym(RTLD_DEFAULT, "malloc") != NULL;
    char *s = strdup("before main");
    free(s);
}

static void test_before_main(void)
{
    CHECK(early_block != NULL, "malloc in a constructor failed");
    CHECK(early_dlsym_ok, "dlsym in a constructor");
    if (early_block) {
        unsigned char *b = early_block;
        CHECK(b[0] == 0x5a && b[999] == 0x5a, "constructor's block changed");
        CHECK(malloc_usable_size(early_block) >= 1000, "usable size of the constructor's block");
        early_block = realloc(early_block, 100000);
        CHECK(early_block && ((unsigned char *)early_block)[999] == 0x5a, "realloc of the constructor's block");
        free(early_block);
    }
}

static void test_fork_child(void)
{
    void *before = malloc(1000);
    pid_t pid = fork();
    if (pid == 0) {
        void *ps[100];
        for (int i = 0; i < 100; i++)
            ps[i] = malloc((size_t)i * 100);
        for (int i = 0; i < 100; i++)
            free(ps[i]);
        free(before);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "forked child status %d", st);
    free(before);
}

static void *thread_body(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        free(malloc((size_t)(i * 37 % 2000)));
    return malloc(64); /* freed by the main thread */
}

static void test_threads(void)
{
    for (int round = 0; round < 20; round++) {
        pthread_t t;
        void *r = NULL;
        CHECK(pthread_create(&t, NULL, thread_body, NULL) == 0, "pthread_create");
        pthread_join(t, &r);
        CHECK(r != NULL, "thread's malloc");
        free(r);
    }
}

/* A thread's cache goes back at exit: threads that each leave every cache
 * bin full (7 blocks of each small size, freed) and exit, one after the
 * other, must not make the heap grow with their number; a cache left
 * behind would strand ~230 KiB a thread. (The wrapper's key destructor
 * calls thread_exit; an allocator may also have its own.) */
static void *fill_cache(void *arg)
{
    (void)arg;
    void *b[7][65];
    for (int k = 0; k < 7; k++)
        for (int s = 0; s < 65; s++)
            b[k][s] = malloc((size_t)s * 16 + 8);
    for (int k = 0; k < 7; k++)
        for (int s = 0; s < 65; s++)
            free(b[k][s]);
    return NULL;
}

static size_t mapped_after_threads(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, fill_cache, NULL) == 0)
            pthread_join(t, NULL);
    }
    return mallinfo2().arena;
}

static void test_thread_exit_returns_cache(void)
{
    size_t m50 = mapped_after_threads(50);
    size_t m300 = mapped_after_threads(250);
    CHECK(m300 <= m50 + (16u << 20), "mapped grew from %zu to %zu bytes over 250 exited threads", m50, m300);
}

/* ---- the overflow fuzz, linked (check/fuzz.c) ---- */
static int fuzz_memalign(void *ctx, size_t align, size_t size, void **out)
{
    mem *m = ctx;
    errno = 0;
    *out = m->a->memalign(m->h, align, size);
    return *out ? 0 : errno ? errno : -1;
}

static void fuzz_free(void *ctx, void *p)
{
    mem *m = ctx;
    m->a->free(m->h, p);
}

static size_t fuzz_usable(void *ctx, void *p)
{
    mem *m = ctx;
    return m->a->usable_size(m->h, p);
}

static int fuzz_fd = -1;

static void fuzz_before(const char *call) { dprintf(fuzz_fd, "in %s\n", call); }

static void test_align_fuzz(void)
{
    int out[2];
    CHECK(pipe(out) == 0, "pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(out[0]);
        fuzz_fd = out[1];
        nf_fuzz_fn f = {"memalign", fuzz_memalign, fuzz_free, fuzz_usable, &M, 1};
        char err[256];
        unsigned calls = 0, wrong = nf_fuzz_align(&f, fuzz_before, err, sizeof err, &calls);
        dprintf(out[1], "%u of %u calls wrong%s%s", wrong, calls, wrong ? ": first " : "", err);
        _exit(wrong ? 1 : 0);
    }
    close(out[1]);
    /* Every call is announced; the last line is the verdict or the call
     * the child died in. */
    char said[512] = "", buf[4096];
    size_t len = 0;
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                len = 0;
                continue;
            }
            if (len < sizeof said - 1) {
                said[len++] = buf[i];
                said[len] = '\0';
            }
        }
    close(out[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(!WIFSIGNALED(st), "%s: the fuzz died of signal %d (%s)", M.name, WIFSIGNALED(st) ? WTERMSIG(st) : 0,
          said[0] ? said : "no calls reported");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s", M.name, said);
    printf("%s: %s\n", M.name, said[0] ? said : "(nothing)");
}

static void run_common(void)
{
    TEST(test_sizes_aligned);
    TEST(test_memalign);
    TEST(test_malloc_zero);
    TEST(test_realloc);
    TEST(test_calloc);
    TEST(test_enomem);
    TEST(test_errno_free);
}

static void usage(void)
{
    fprintf(stderr, "usage: conformance --linked NAME|all | --preloaded LIBNAME | --fuzz NAME\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        usage();
    if (strcmp(argv[1], "--linked") == 0) {
        for (size_t i = 0; i < nf_allocator_count(); i++) {
            const nf_allocator *a = nf_allocator_at(i);
            if (strcmp(argv[2], "all") != 0 && strcmp(argv[2], a->name) != 0)
                continue;
            printf("== %s (linked)\n", a->name);
            if (mem_linked(&M, a->name) != 0) {
                CHECK(0, "cannot create a heap of %s", a->name);
                continue;
            }
            run_common();
            TEST(test_memalign_einval);
            mem_close(&M);
        }
    } else if (strcmp(argv[1], "--fuzz") == 0) {
        if (mem_linked(&M, argv[2]) != 0) {
            fprintf(stderr, "conformance: no allocator '%s'\n", argv[2]);
            return 2;
        }
        TEST(test_align_fuzz);
        mem_close(&M);
    } else if (strcmp(argv[1], "--preloaded") == 0) {
        mem_libc(&M);
        printf("== libc names, expecting %s\n", argv[2]);
        check_test = "mapped";
        test_mapped(argv[2]);
        if (check_failures)
            return check_done();
        run_common();
        TEST(test_before_main);
        TEST(test_posix_memalign);
        TEST(test_other_aligned);
        TEST(test_reallocarray);
        TEST(test_misc_names);
        check_test = "libc_names";
        test_libc_names(argv[2]);
        TEST(test_fork_child);
        TEST(test_threads);
        TEST(test_thread_exit_returns_cache);
    } else {
        usage();
    }
    return check_done();
}
