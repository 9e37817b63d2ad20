/* test_contracts.c: the interface's contracts, for one allocator named on
 * the command line, through the interface (linked, not preloaded):
 *   align    every result aligned, sizes 0..1 MiB, alignments 16..64 KiB;
 *            usable size >= size; the whole block writable
 *   realloc  a chain of growing and shrinking reallocs keeps the contents
 *   calloc   zeroes (over dirtied memory); n * size overflow gives NULL, ENOMEM
 *   trim     freeing and trimming gives memory back (page-source calls rise)
 *   threads  threads allocate, hand half their blocks to a neighbour, which
 *            checks a checksum and frees them (cross-thread frees)
 *   random   one thread, a random mix of malloc, calloc, memalign, realloc
 *            and free over heavy-tailed sizes, every block checked before
 *            it is freed or resized (NF_TEST_ITERS, default 100000)
 * Usage: test_contracts <allocator> <test> */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "../common/check.h"
#include "notfree/alloc.h"

static const nf_allocator *A;
static nf_heap *H;

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31 + i * 7);
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31 + i * 7))
            return 0;
    return 1;
}

static void one(size_t align, size_t size)
{
    unsigned char *p = align ? A->memalign(H, align, size) : A->malloc(H, size);
    REQUIREF(p != NULL, "align %zu size %zu", align, size);
    size_t want = align < 16 ? 16 : align;
    REQUIREF((uintptr_t)p % want == 0, "align %zu size %zu gave %p", align, size, (void *)p);
    size_t u = A->usable_size(H, p);
    REQUIREF(u >= size, "usable %zu < size %zu", u, size);
    if (size) {
        p[0] = 1;
        p[size - 1] = 2;
        if (size <= 4096)
            memset(p, 0x5a, size);
    }
    A->free(H, p);
}

static void test_align(void)
{
    static const size_t aligns[] = {0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
    for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
        for (size_t s = 0; s <= 4096; s += (aligns[a] > 256 ? 61 : 1))
            one(aligns[a], s);
        for (size_t s = 4096; s <= ((size_t)1 << 20); s *= 2) {
            one(aligns[a], s - 1);
            one(aligns[a], s);
            one(aligns[a], s + 1);
            one(aligns[a], s + s / 3);
        }
    }
    /* not a power of two */
    errno = 0;
    REQUIRE(A->memalign(H, 48, 100) == NULL && errno == EINVAL);
    /* many live at once, then freed in another order */
    void *keep[512];
    for (int i = 0; i < 512; i++) {
        size_t al = (size_t)16 << (i % 10);
        keep[i] = A->memalign(H, al, (size_t)(i * 97 % 5000));
        REQUIRE(keep[i] && (uintptr_t)keep[i] % al == 0);
    }
    for (int i = 0; i < 512; i += 2)
        A->free(H, keep[i]);
    for (int i = 1; i < 512; i += 2)
        A->free(H, keep[i]);
}

static void test_realloc(void)
{
    unsigned char *p = A->realloc(H, NULL, 10);
    REQUIRE(p);
    size_t n = 10;
    fill(p, n, 1);
    static const size_t sizes[] = {20, 5, 100, 1000, 999, 3000, 100000, 50, 300000, 2000000, 17, 0};
    for (size_t i = 0; sizes[i]; i++) {
        size_t m = sizes[i];
        unsigned char *q = A->realloc(H, p, m);
        REQUIREF(q != NULL, "realloc to %zu", m);
        size_t keep = n < m ? n : m;
        REQUIREF(intact(q, keep, 1), "contents lost realloc %zu -> %zu", n, m);
        REQUIRE(A->usable_size(H, q) >= m);
        fill(q, m, 1);
        p = q;
        n = m;
    }
    /* in-place growth next to freed neighbours */
    void *a = A->malloc(H, 2000), *b = A->malloc(H, 2000), *c = A->malloc(H, 2000);
    fill(a, 2000, 3);
    A->free(H, b);
    a = A->realloc(H, a, 3500);
    REQUIRE(a && intact(a, 2000, 3));
    A->free(H, a);
    A->free(H, c);
    REQUIRE(A->realloc(H, p, 0) == NULL); /* frees */
}

static void test_calloc(void)
{
    for (size_t n = 1; n < 300000; n = n * 3 + 1) {
        unsigned char *d = A->malloc(H, n);
        REQUIRE(d);
        memset(d, 0xaa, n);
        A->free(H, d);
        unsigned char *z = A->calloc(H, 1, n);
        REQUIRE(z);
        for (size_t i = 0; i < n; i++)
            REQUIREF(z[i] == 0, "calloc(%zu) byte %zu is %u", n, i, z[i]);
        A->free(H, z);
    }
    errno = 0;
    REQUIRE(A->calloc(H, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    REQUIRE(A->calloc(H, (size_t)1 << 33, (size_t)1 << 33) == NULL && errno == ENOMEM);
    errno = 0;
    REQUIRE(A->malloc(H, SIZE_MAX - 8) == NULL && errno == ENOMEM);
    void *z = A->calloc(H, 0, 10);
    REQUIRE(z);
    A->free(H, z);
}

static uint64_t given_back(void)
{
    nf_alloc_stats s;
    REQUIRE(A->stats(H, &s) == 0);
    return s.page_calls[NF_PAGE_ADVISE] + s.page_calls[NF_PAGE_UNMAP] + s.page_calls[NF_PAGE_BRK];
}

static void test_trim(void)
{
    nf_alloc_stats s;
    int known = A->stats(H, &s) == 0 && (s.available & NF_STAT_PAGE_CALLS);
    enum { N = 4000 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        REQUIRE((p[i] = A->malloc(H, 3000 + (size_t)i % 64)) != NULL);
    uint64_t before = known ? given_back() : 0;
    uint64_t mapped_before = 0;
    if (known) {
        A->stats(H, &s);
        mapped_before = s.mapped_bytes;
    }
    for (int i = 0; i < N - 1; i++) /* the last one pins the top's start: pages inside bins */
        A->free(H, p[i]);
    int r = A->trim(H, 0);
    if (known) {
        REQUIREF(r == 1, "trim returned %d", r);
        REQUIREF(given_back() > before, "no page-source call gave memory back");
    }
    A->free(H, p[N - 1]);
    A->trim(H, 0);
    if (known) {
        A->stats(H, &s);
        REQUIREF(s.mapped_bytes < mapped_before, "mapped %llu, was %llu", (unsigned long long)s.mapped_bytes,
                 (unsigned long long)mapped_before);
    }
}

/* ---- threads: a ring of producers, each freeing its left neighbour's blocks ---- */
enum { THREADS = 4, ROUNDS = 200, PER = 64 };

typedef struct mailbox {
    pthread_mutex_t lock;
    void *blocks[PER];
    size_t sizes[PER];
    unsigned seeds[PER];
    int n;
} mailbox;

static mailbox boxes[THREADS];

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    unsigned rng = (unsigned)me * 2654435761u + 1;
    for (int r = 0; r < ROUNDS; r++) {
        void *mine[PER];
        size_t sz[PER];
        for (int i = 0; i < PER; i++) {
            rng = rng * 1103515245u + 12345u;
            sz[i] = (rng >> 8) % 2048;
            if (i == 0 && r % 16 == 0)
                sz[i] = 200000; /* a direct map now and then */
            mine[i] = A->malloc(H, sz[i]);
            REQUIRE(mine[i]);
            fill(mine[i], sz[i], (unsigned)(me + i));
        }
        mailbox *out = &boxes[(me + 1) % THREADS];
        pthread_mutex_lock(&out->lock);
        for (int i = 0; i < PER; i += 2) {
            if (out->n < PER) {
                out->blocks[out->n] = mine[i];
                out->sizes[out->n] = sz[i];
                out->seeds[out->n] = (unsigned)(me + i);
                out->n++;
                mine[i] = NULL;
            }
        }
        pthread_mutex_unlock(&out->lock);
        for (int i = 0; i < PER; i++) {
            if (mine[i]) {
                REQUIRE(intact(mine[i], sz[i], (unsigned)(me + i)));
                A->free(H, mine[i]);
            }
        }
        mailbox *in = &boxes[me];
        pthread_mutex_lock(&in->lock);
        for (int i = 0; i < in->n; i++) {
            REQUIREF(intact(in->blocks[i], in->sizes[i], in->seeds[i]), "cross-thread block corrupted");
            A->free(H, in->blocks[i]);
        }
        in->n = 0;
        pthread_mutex_unlock(&in->lock);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_mutex_init(&boxes[i].lock, NULL);
    for (int i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < boxes[i].n; j++) {
            REQUIRE(intact(boxes[i].blocks[j], boxes[i].sizes[j], boxes[i].seeds[j]));
            A->free(H, boxes[i].blocks[j]);
        }
    nf_alloc_stats s;
    if (A->stats(H, &s) == 0 && (s.available & NF_STAT_CALLS))
        REQUIREF(s.mallocs >= (uint64_t)THREADS * ROUNDS * PER && s.frees == s.mallocs, "mallocs %llu frees %llu",
                 (unsigned long long)s.mallocs, (unsigned long long)s.frees);
    if (A->stats(H, &s) == 0 && (s.available & NF_STAT_LIVE))
        REQUIREF(s.live_bytes == 0, "live %llu after freeing all", (unsigned long long)s.live_bytes);
}

static unsigned long long xorshift(unsigned long long *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* sizes: mostly small, some medium, a few up to 1 MiB */
static size_t heavy_tail(unsigned long long *rng)
{
    unsigned long long r = xorshift(rng);
    switch (r % 16) {
    case 0:
        return (size_t)(r >> 8) % ((size_t)1 << 20);
    case 1:
    case 2:
        return (size_t)(r >> 8) % 70000;
    case 3:
    case 4:
    case 5:
        return (size_t)(r >> 8) % 4096;
    default:
        return (size_t)(r >> 8) % 256;
    }
}

static void test_random(void)
{
    enum { SLOTS = 1024 };
    static unsigned char *blk[SLOTS];
    static size_t len[SLOTS];
    const char *env = getenv("NF_TEST_ITERS");
    long iters = env ? atol(env) : 100000;
    unsigned long long rng = 88172645463325252ull;
    for (long it = 0; it < iters; it++) {
        size_t i = (size_t)(xorshift(&rng) % SLOTS);
        unsigned seed = (unsigned)i;
        if (blk[i]) {
            REQUIREF(intact(blk[i], len[i], seed), "block %zu (%zu bytes) corrupted at iteration %ld", i, len[i], it);
            if (xorshift(&rng) % 3 == 0) {
                size_t n = heavy_tail(&rng);
                unsigned char *q = A->realloc(H, blk[i], n);
                if (n == 0) {
                    REQUIRE(q == NULL);
                    blk[i] = NULL;
                    continue;
                }
                REQUIRE(q);
                size_t keep = len[i] < n ? len[i] : n;
                REQUIREF(intact(q, keep, seed), "realloc lost contents at iteration %ld", it);
                blk[i] = q;
                len[i] = n;
                fill(q, n, seed);
            } else {
                A->free(H, blk[i]);
                blk[i] = NULL;
            }
            continue;
        }
        size_t n = heavy_tail(&rng);
        switch (xorshift(&rng) % 8) {
        case 0:
            blk[i] = A->calloc(H, 1, n);
            REQUIRE(blk[i]);
            for (size_t k = 0; k < n; k++)
                REQUIRE(blk[i][k] == 0);
            break;
        case 1: {
            size_t al = (size_t)16 << (xorshift(&rng) % 13);
            blk[i] = A->memalign(H, al, n);
            REQUIRE(blk[i] && (uintptr_t)blk[i] % al == 0);
            break;
        }
        default:
            blk[i] = A->malloc(H, n);
            REQUIRE(blk[i]);
        }
        REQUIRE(A->usable_size(H, blk[i]) >= n);
        len[i] = n;
        fill(blk[i], n, seed);
        if (it % 50000 == 0)
            A->trim(H, 0);
    }
    for (size_t i = 0; i < SLOTS; i++)
        if (blk[i]) {
            REQUIRE(intact(blk[i], len[i], (unsigned)i));
            A->free(H, blk[i]);
        }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <allocator> align|realloc|calloc|trim|threads\n", argv[0]);
        return 2;
    }
    A = nf_allocator_find(argv[1]);
    REQUIREF(A != NULL, "no allocator %s", argv[1]);
    H = A->create(NULL);
    REQUIRE(H != NULL);
    const char *t = argv[2];
    if (!strcmp(t, "align"))
        test_align();
    else if (!strcmp(t, "realloc"))
        test_realloc();
    else if (!strcmp(t, "calloc"))
        test_calloc();
    else if (!strcmp(t, "trim"))
        test_trim();
    else if (!strcmp(t, "threads"))
        test_threads();
    else if (!strcmp(t, "random"))
        test_random();
    else
        REQUIREF(0, "no test %s", t);
    A->destroy(H);
    printf("%s %s: ok\n", argv[1], t);
    return 0;
}
