/* stress.c: many threads, many sizes, every block checked.
 *
 *   stress (--linked NAME | --libc) [--threads T] [--scale S] [--iter I]
 *          [--only MODE] [--no-fork]
 * THREADS, SCALE and ITER may also come from the environment (flags win).
 * SCALE is a percentage of the default amount of work; ITER repeats every
 * mode. Modes, each run in turn:
 *   heavy     each thread keeps slots of blocks with heavy-tailed sizes
 *             (8 B to 1 MiB, most small), freeing and refilling at random
 *   xthread   producer/consumer pairs: one thread allocates, the other
 *             frees (cross-thread frees), through a bounded ring
 *   realloc   chains of realloc to random sizes, contents checked each step
 *   fork      the main thread forks while the others run `heavy`; the child
 *             allocates, checks, frees and exits cleanly
 *   churn     threads are created and exit over and over, each leaving
 *             half its blocks for the main thread to free
 * Every block carries a pattern seeded by its id, checked before it is
 * freed; the sum of checked ids is the checksum printed. Exit status 1 on
 * any damaged block or failed allocation.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mem.h"

static mem M;
static unsigned T = 4, SCALE = 100, ITER = 1;
static atomic_ulong g_errors, g_checksum, g_ops;

enum { FULL = 256 }; /* blocks up to this size are checked byte by byte */

typedef struct rng {
    uint64_t s;
} rng;
static uint64_t rnd(rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return mix64(r->s);
}

/* Heavy tail: the exponent is the least of three draws, so small sizes
 * dominate and a few reach 1 MiB. */
static size_t heavy_size(rng *r)
{
    uint64_t x = rnd(r);
    unsigned e1 = (unsigned)(x % 17), e2 = (unsigned)((x >> 8) % 17), e3 = (unsigned)((x >> 16) % 17);
    unsigned e = e1 < e2 ? e1 : e2;
    e = e < e3 ? e : e3;
    size_t base = (size_t)8 << e; /* 8 B .. 512 KiB */
    return base + (size_t)((x >> 24) % base);
}

typedef struct block {
    unsigned char *p;
    size_t n;
    uint64_t id;
} block;

static bool blk_new(block *b, size_t n, uint64_t id)
{
    b->p = mem_malloc(&M, n);
    b->n = n;
    b->id = id;
    atomic_fetch_add_explicit(&g_ops, 1, memory_order_relaxed);
    if (!b->p) {
        fprintf(stderr, "stress: malloc(%zu) failed\n", n);
        atomic_fetch_add(&g_errors, 1);
        return false;
    }
    pat_fill(b->p, n, id, FULL);
    return true;
}

static void blk_free(block *b)
{
    if (!b->p)
        return;
    size_t bad = pat_check(b->p, b->n, b->id, FULL);
    if (bad) {
        fprintf(stderr, "stress: block %p of %zu bytes (id %llu) damaged at %zu\n", (void *)b->p, b->n,
                (unsigned long long)b->id, bad - 1);
        atomic_fetch_add(&g_errors, 1);
    }
    atomic_fetch_add_explicit(&g_checksum, b->id, memory_order_relaxed);
    mem_free(&M, b->p);
    b->p = NULL;
}

static unsigned scaled(unsigned base)
{
    unsigned long v = (unsigned long)base * SCALE / 100;
    return v ? (unsigned)v : 1;
}

/* ---- heavy ---- */
typedef struct heavy_arg {
    unsigned idx;
    unsigned ops;
    atomic_bool *stop;
} heavy_arg;

static void *heavy_thread(void *v)
{
    heavy_arg *a = v;
    enum { SLOTS = 512 };
    block *slots = calloc(SLOTS, sizeof *slots);
    rng r = {a->idx * 7919ULL + 1};
    uint64_t id = (uint64_t)a->idx << 40;
    /* ops operations, and on until *stop when there is one */
    for (unsigned i = 0; i < a->ops || (a->stop && !atomic_load(a->stop)); i++) {
        block *b = &slots[rnd(&r) % SLOTS];
        if (b->p)
            blk_free(b);
        else
            blk_new(b, heavy_size(&r), ++id);
    }
    for (unsigned i = 0; i < SLOTS; i++)
        blk_free(&slots[i]);
    free(slots);
    return NULL;
}

static void run_threads(void *(*fn)(void *), heavy_arg *args, unsigned n)
{
    pthread_t *t = calloc(n, sizeof *t);
    for (unsigned i = 0; i < n; i++)
        pthread_create(&t[i], NULL, fn, &args[i]);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
}

static void mode_heavy(void)
{
    heavy_arg *a = calloc(T, sizeof *a);
    for (unsigned i = 0; i < T; i++)
        a[i] = (heavy_arg){i, scaled(200000), NULL};
    run_threads(heavy_thread, a, T);
    free(a);
}

/* ---- xthread: producer/consumer through a ring ---- */
enum { RING = 256 };
typedef struct ring {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    block q[RING];
    unsigned head, tail; /* head - tail blocks queued */
    bool done;
} ring;

typedef struct pc_arg {
    ring *rg;
    unsigned idx, ops;
} pc_arg;

static void *producer(void *v)
{
    pc_arg *a = v;
    rng r = {a->idx * 104729ULL + 3};
    uint64_t id = ((uint64_t)a->idx << 40) | (1ULL << 39);
    for (unsigned i = 0; i < a->ops; i++) {
        block b;
        blk_new(&b, heavy_size(&r) % 4096 + 1, ++id);
        pthread_mutex_lock(&a->rg->lock);
        while (a->rg->head - a->rg->tail == RING)
            pthread_cond_wait(&a->rg->cv, &a->rg->lock);
        a->rg->q[a->rg->head++ % RING] = b;
        pthread_cond_broadcast(&a->rg->cv);
        pthread_mutex_unlock(&a->rg->lock);
    }
    pthread_mutex_lock(&a->rg->lock);
    a->rg->done = true;
    pthread_cond_broadcast(&a->rg->cv);
    pthread_mutex_unlock(&a->rg->lock);
    return NULL;
}

static void *consumer(void *v)
{
    pc_arg *a = v;
    for (;;) {
        block local[RING];
        unsigned n = 0;
        pthread_mutex_lock(&a->rg->lock);
        while (a->rg->head == a->rg->tail && !a->rg->done)
            pthread_cond_wait(&a->rg->cv, &a->rg->lock);
        while (a->rg->head != a->rg->tail)
            local[n++] = a->rg->q[a->rg->tail++ % RING];
        bool done = a->rg->done;
        pthread_cond_broadcast(&a->rg->cv);
        pthread_mutex_unlock(&a->rg->lock);
        for (unsigned i = 0; i < n; i++)
            blk_free(&local[i]);
        if (done && n == 0)
            return NULL;
    }
}

static void mode_xthread(void)
{
    unsigned pairs = T / 2 ? T / 2 : 1;
    ring *rg = calloc(pairs, sizeof *rg);
    pc_arg *a = calloc(2 * pairs, sizeof *a);
    pthread_t *t = calloc(2 * pairs, sizeof *t);
    for (unsigned i = 0; i < pairs; i++) {
        pthread_mutex_init(&rg[i].lock, NULL);
        pthread_cond_init(&rg[i].cv, NULL);
        a[2 * i] = (pc_arg){&rg[i], i, scaled(100000)};
        a[2 * i + 1] = a[2 * i];
        pthread_create(&t[2 * i], NULL, producer, &a[2 * i]);
        pthread_create(&t[2 * i + 1], NULL, consumer, &a[2 * i + 1]);
    }
    for (unsigned i = 0; i < 2 * pairs; i++)
        pthread_join(t[i], NULL);
    for (unsigned i = 0; i < pairs; i++) {
        pthread_mutex_destroy(&rg[i].lock);
        pthread_cond_destroy(&rg[i].cv);
    }
    free(t);
    free(a);
    free(rg);
}

/* ---- realloc chains ---- */
static void *realloc_thread(void *v)
{
    heavy_arg *a = v;
    enum { CHAINS = 16 };
    block c[CHAINS];
    rng r = {a->idx * 15485863ULL + 5};
    uint64_t id = ((uint64_t)a->idx << 40) | (1ULL << 38);
    for (unsigned i = 0; i < CHAINS; i++)
        blk_new(&c[i], 1 + rnd(&r) % 64, ++id);
    for (unsigned i = 0; i < a->ops; i++) {
        block *b = &c[rnd(&r) % CHAINS];
        if (!b->p)
            continue;
        size_t m = (rnd(&r) & 7) == 0 ? heavy_size(&r) % (64u << 10) + 1 : heavy_size(&r) % 2048 + 1;
        size_t keep = m < b->n ? m : b->n;
        size_t bad = pat_check(b->p, keep, b->id, SIZE_MAX);
        unsigned char *q = mem_realloc(&M, b->p, m);
        atomic_fetch_add_explicit(&g_ops, 1, memory_order_relaxed);
        if (!q) {
            fprintf(stderr, "stress: realloc(%zu) failed\n", m);
            atomic_fetch_add(&g_errors, 1);
            continue;
        }
        size_t bad2 = pat_check(q, keep, b->id, SIZE_MAX);
        if (bad || bad2) {
            fprintf(stderr, "stress: realloc %zu -> %zu lost contents (%zu %zu)\n", b->n, m, bad, bad2);
            atomic_fetch_add(&g_errors, 1);
        }
        b->id = ++id;
        b->p = q;
        b->n = m;
        pat_fill(q, m, b->id, SIZE_MAX);
    }
    for (unsigned i = 0; i < CHAINS; i++) {
        if (c[i].p && pat_check(c[i].p, c[i].n, c[i].id, SIZE_MAX)) {
            fprintf(stderr, "stress: realloc chain damaged\n");
            atomic_fetch_add(&g_errors, 1);
        }
        atomic_fetch_add_explicit(&g_checksum, c[i].id, memory_order_relaxed);
        mem_free(&M, c[i].p);
    }
    return NULL;
}

static void mode_realloc(void)
{
    heavy_arg *a = calloc(T, sizeof *a);
    for (unsigned i = 0; i < T; i++)
        a[i] = (heavy_arg){i, scaled(50000), NULL};
    run_threads(realloc_thread, a, T);
    free(a);
}

/* ---- fork while others allocate ---- */
static void mode_fork(void)
{
    atomic_bool stop = false;
    unsigned n = T > 1 ? T - 1 : 1;
    heavy_arg *a = calloc(n, sizeof *a);
    pthread_t *t = calloc(n, sizeof *t);
    for (unsigned i = 0; i < n; i++) {
        a[i] = (heavy_arg){100 + i, scaled(20000), &stop};
        pthread_create(&t[i], NULL, heavy_thread, &a[i]);
    }
    unsigned forks = scaled(40);
    for (unsigned f = 0; f < forks; f++) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            /* Only this thread lives on; the allocator must work. */
            rng r = {f + 11};
            block b[64];
            for (int i = 0; i < 64; i++)
                blk_new(&b[i], heavy_size(&r), (uint64_t)i + 1);
            for (int i = 0; i < 64; i++)
                blk_free(&b[i]);
            void *pt = NULL;
            exit(atomic_load(&g_errors) ? 3 : (pt = mem_malloc(&M, 10), mem_free(&M, pt), 0));
        }
        int st = 0;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "stress: fork %u: child status %#x\n", f, st);
            atomic_fetch_add(&g_errors, 1);
        }
    }
    atomic_store(&stop, true);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
    free(a);
}

/* ---- thread churn ---- */
typedef struct churn_arg {
    unsigned idx;
    block left[32];
} churn_arg;

static void *churn_thread(void *v)
{
    churn_arg *a = v;
    rng r = {a->idx * 31ULL + 9};
    block b[64];
    uint64_t id = ((uint64_t)a->idx << 40) | (1ULL << 37);
    for (int i = 0; i < 64; i++)
        blk_new(&b[i], heavy_size(&r) % 8192 + 1, ++id);
    for (int i = 0; i < 64; i++) {
        if (i % 2)
            a->left[i / 2] = b[i]; /* the main thread frees these */
        else
            blk_free(&b[i]);
    }
    return NULL;
}

static void mode_churn(void)
{
    unsigned rounds = scaled(200);
    churn_arg *a = calloc(T, sizeof *a);
    pthread_t *t = calloc(T, sizeof *t);
    for (unsigned round = 0; round < rounds; round++) {
        for (unsigned i = 0; i < T; i++) {
            a[i].idx = round * T + i;
            pthread_create(&t[i], NULL, churn_thread, &a[i]);
        }
        for (unsigned i = 0; i < T; i++) {
            pthread_join(t[i], NULL);
            for (int k = 0; k < 32; k++)
                blk_free(&a[i].left[k]);
        }
    }
    free(t);
    free(a);
}

/* Linked, nothing registers the heap's fork handlers but us (the drop-in
 * wrapper does it for a preloaded one). */
static void linked_prepare(void)
{
    if (M.a->fork_prepare)
        M.a->fork_prepare(M.h);
}
static void linked_parent(void)
{
    if (M.a->fork_parent)
        M.a->fork_parent(M.h);
}
static void linked_child(void)
{
    if (M.a->fork_child)
        M.a->fork_child(M.h);
}

static const struct {
    const char *name;
    void (*fn)(void);
} modes[] = {
    {"heavy", mode_heavy}, {"xthread", mode_xthread}, {"realloc", mode_realloc},
    {"fork", mode_fork},   {"churn", mode_churn},
};

static unsigned num(const char *s, const char *what)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v == 0 || v > 100000) {
        fprintf(stderr, "stress: bad %s '%s'\n", what, s);
        exit(2);
    }
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    const char *only = NULL, *linked = NULL;
    bool libc = false, no_fork = false;
    if (getenv("THREADS"))
        T = num(getenv("THREADS"), "THREADS");
    if (getenv("SCALE"))
        SCALE = num(getenv("SCALE"), "SCALE");
    if (getenv("ITER"))
        ITER = num(getenv("ITER"), "ITER");
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--libc"))
            libc = true;
        else if (!strcmp(arg, "--no-fork"))
            no_fork = true;
        else if (val && !strcmp(arg, "--linked"))
            linked = argv[++i];
        else if (val && !strcmp(arg, "--only"))
            only = argv[++i];
        else if (val && !strcmp(arg, "--threads"))
            T = num(argv[++i], "--threads");
        else if (val && !strcmp(arg, "--scale"))
            SCALE = num(argv[++i], "--scale");
        else if (val && !strcmp(arg, "--iter"))
            ITER = num(argv[++i], "--iter");
        else {
            fprintf(stderr, "usage: stress (--linked NAME | --libc) [--threads T] [--scale S] "
                            "[--iter I] [--only MODE] [--no-fork]\n");
            return 2;
        }
    }
    if (libc == !!linked) {
        fprintf(stderr, "stress: give exactly one of --linked NAME and --libc\n");
        return 2;
    }
    if (libc)
        mem_libc(&M);
    else if (mem_linked(&M, linked) != 0) {
        fprintf(stderr, "stress: no allocator '%s' or no heap\n", linked);
        return 2;
    } else {
        pthread_atfork(linked_prepare, linked_parent, linked_child);
    }
    printf("stress: %s threads=%u scale=%u iter=%u\n", M.name, T, SCALE, ITER);
    for (unsigned it = 0; it < ITER; it++)
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            if (only && strcmp(only, modes[m].name) != 0)
                continue;
            if (no_fork && !strcmp(modes[m].name, "fork"))
                continue;
            unsigned long before = atomic_load(&g_errors);
            modes[m].fn();
            printf("%s %s\n", atomic_load(&g_errors) == before ? "ok  " : "FAIL", modes[m].name);
            fflush(stdout);
        }
    mem_close(&M);
    printf("ops=%lu checksum=%#lx errors=%lu\n", atomic_load(&g_ops), atomic_load(&g_checksum), atomic_load(&g_errors));
    return atomic_load(&g_errors) ? 1 : 0;
}
