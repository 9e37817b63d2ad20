/* check/probes_misuse.c: deliberate misuse (double frees, frees of
 * pointers never given out, realloc of a freed block, bad writes), each
 * followed by what a program would do next: more mallocs of the sizes
 * around, then their frees (the aftermath). The aftermath is where a
 * missed misuse turns into `corrupt`: a block handed out twice, a new
 * block over a live one, or a block at an address the program chose. */
#include "probe.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

typedef struct range {
    uintptr_t lo, hi; /* [lo, hi) */
    const char *what;
} range;

/* Invariant: live ranges are blocks the program still owns; chosen ranges
 * are addresses no malloc may return (a stack, a global, an unmapped
 * hole). */
typedef struct scene {
    range live[8];
    int nlive;
    range chosen[2];
    int nchosen;
} scene;

static void scene_live(scene *s, const void *p, size_t n, const char *what)
{
    if (p && s->nlive < 8)
        s->live[s->nlive++] = (range){(uintptr_t)p, (uintptr_t)p + n, what};
}

static void scene_chosen(scene *s, const void *p, size_t n, const char *what)
{
    if (s->nchosen < 2)
        s->chosen[s->nchosen++] = (range){(uintptr_t)p, (uintptr_t)p + n, what};
}

static int overlaps(range a, range b) { return a.lo < b.hi && b.lo < a.hi; }

enum { NEW_MAX = 40 };

/* Mallocs of size (8), size/2 (4) and 16..128 (4 each), each checked as
 * it returns; then their frees. Ends the probe with corrupt or silent. */
static void aftermath(const scene *s, size_t size)
{
    size_t sizes[NEW_MAX];
    int n = 0;
    for (int i = 0; i < 8; i++)
        sizes[n++] = size;
    for (int i = 0; i < 4 && size / 2 >= 16; i++)
        sizes[n++] = size / 2;
    static const size_t small[] = {16, 32, 64, 128};
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 4; i++)
            sizes[n++] = small[k];
    range got[NEW_MAX];
    void *ptr[NEW_MAX];
    int ng = 0;
    for (int i = 0; i < n; i++) {
        nf_probe_call("malloc(%zu) #%d after the misuse", sizes[i], i + 1);
        void *q = malloc(sizes[i]);
        if (!q)
            continue;
        range r = {(uintptr_t)q, (uintptr_t)q + sizes[i], "new"};
        for (int j = 0; j < s->nchosen; j++)
            if (overlaps(r, s->chosen[j])) {
                nf_probe_result(NF_CELL_CORRUPT, "malloc(%zu) returned %p, inside %s", sizes[i], q, s->chosen[j].what);
                return;
            }
        for (int j = 0; j < s->nlive; j++)
            if (overlaps(r, s->live[j])) {
                nf_probe_result(NF_CELL_CORRUPT, "malloc(%zu) returned %p, over the live %s at %#lx", sizes[i], q,
                                s->live[j].what, (unsigned long)s->live[j].lo);
                return;
            }
        for (int j = 0; j < ng; j++)
            if (overlaps(r, got[j])) {
                nf_probe_result(NF_CELL_CORRUPT, "malloc(%zu) returned %p, over the block %p it returned before",
                                sizes[i], q, ptr[j]);
                return;
            }
        memset(q, 0x5a, sizes[i]);
        got[ng] = r;
        ptr[ng++] = q;
    }
    for (int j = 0; j < ng; j++) {
        nf_probe_call("free(%p) #%d after the misuse", ptr[j], j + 1);
        free(ptr[j]);
    }
    nf_probe_result(NF_CELL_SILENT, "the misuse went unnoticed");
}

/* ---- double frees ---- */
static void double_free(void)
{
    scene s = {0};
    void *p = malloc(48), *keep = malloc(48);
    scene_live(&s, keep, 48, "block");
    free(p);
    nf_probe_bad("free(%p) again, right after its free", p);
    free(nf_opaque_ptr(p));
    nf_probe_done();
    aftermath(&s, 48);
}

static void double_free_delayed(void)
{
    scene s = {0};
    void *p = malloc(48), *q = malloc(48), *r = malloc(48), *keep = malloc(48);
    scene_live(&s, keep, 48, "block");
    free(p);
    free(q);
    free(r);
    nf_probe_bad("free(%p) again, after two other frees", p);
    free(nf_opaque_ptr(p));
    nf_probe_done();
    aftermath(&s, 48);
}

static void *free_in_thread(void *p)
{
    nf_probe_bad("free(%p) again, from another thread", p);
    free(p);
    nf_probe_done();
    return NULL;
}

static void double_free_xthread(void)
{
    scene s = {0};
    void *p = malloc(48), *keep = malloc(48);
    scene_live(&s, keep, 48, "block");
    free(p);
    pthread_t t;
    if (pthread_create(&t, NULL, free_in_thread, nf_opaque_ptr(p)) != 0) {
        nf_probe_result(NF_CELL_WRONG, "pthread_create failed");
        return;
    }
    pthread_join(t, NULL);
    aftermath(&s, 48);
}

/* ---- frees of pointers never given out ---- */
static _Alignas(64) unsigned char global_buf[512];
static _Alignas(64) unsigned char uaf_target[256];

static void free_stack(void)
{
    scene s = {0};
    _Alignas(64) unsigned char buf[256];
    memset(buf, 0, sizeof buf);
    scene_chosen(&s, buf, sizeof buf, "the stack buffer freed");
    void *p = nf_opaque_ptr(buf + 128);
    nf_probe_bad("free(%p), a stack address", p);
    free(p);
    nf_probe_done();
    aftermath(&s, 48);
    __asm__ volatile("" : : "r"(buf) : "memory"); /* buf lives until here */
}

static void free_global(void)
{
    scene s = {0};
    scene_chosen(&s, global_buf, sizeof global_buf, "the global freed");
    void *p = nf_opaque_ptr(global_buf + 256);
    nf_probe_bad("free(%p), a global's address", p);
    free(p);
    nf_probe_done();
    aftermath(&s, 48);
}

/* A 16-byte-aligned pointer half-way into a live, zeroed block of n. */
static void free_interior(size_t n)
{
    scene s = {0};
    unsigned char *p = malloc(n), *keep = malloc(n);
    if (!p || !keep) {
        nf_probe_result(NF_CELL_WRONG, "malloc(%zu) failed", n);
        return;
    }
    memset(p, 0, n);
    scene_live(&s, p, n, "block freed inside");
    scene_live(&s, keep, n, "block");
    void *mid = nf_opaque_ptr(p + (n / 2 & ~(size_t)15));
    nf_probe_bad("free(%p), %zu bytes inside the live block %p of %zu", mid, (size_t)((unsigned char *)mid - p),
                 (void *)p, n);
    free(mid);
    nf_probe_done();
    aftermath(&s, n);
}

static void free_interior_64(void) { free_interior(64); }
static void free_interior_5000(void) { free_interior(5000); }
static void free_interior_200k(void) { free_interior(200 * 1024); }
static void free_interior_1m(void) { free_interior(1024 * 1024); }

static void free_misaligned(void)
{
    scene s = {0};
    unsigned char *p = malloc(64);
    memset(p, 0, 64);
    scene_live(&s, p, 64, "block");
    void *bad = nf_opaque_ptr(p + 1);
    nf_probe_bad("free(%p), one byte into the block %p", bad, (void *)p);
    free(bad);
    nf_probe_done();
    aftermath(&s, 64);
}

/* An address in a hole: mapped, then unmapped, so nothing is there. */
static void free_wild(void)
{
    scene s = {0};
    size_t len = 3 * 4096;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        nf_probe_result(NF_CELL_WRONG, "mmap failed");
        return;
    }
    munmap(m, len);
    scene_chosen(&s, m, len, "the unmapped hole freed");
    void *p = m + 4096 + 64;
    nf_probe_bad("free(%p), an address nothing is mapped at", p);
    free(p);
    nf_probe_done();
    aftermath(&s, 48);
}

static void realloc_freed(void)
{
    scene s = {0};
    void *p = malloc(48), *keep = malloc(48);
    scene_live(&s, keep, 48, "block");
    free(p);
    nf_probe_bad("realloc(%p, 100) of a freed block", p);
    void *q = realloc(nf_opaque_ptr(p), 100);
    nf_probe_done();
    scene_live(&s, q, 100, "block realloc returned");
    aftermath(&s, 48);
}

/* ---- bad writes: the earliest an allocator can notice is a later call ---- */
static void uaf_write(void)
{
    scene s = {0};
    void *o1 = malloc(32), *o2 = malloc(32), *p = malloc(32), *keep = malloc(32);
    scene_live(&s, keep, 32, "block");
    scene_chosen(&s, uaf_target, sizeof uaf_target, "the global whose address was written");
    free(o1);
    free(o2);
    free(p); /* last: at the head of any LIFO free list */
    void *chosen = uaf_target + 64;
    nf_probe_bad("write %p into the first 8 bytes of the freed %p", chosen, p);
    memcpy(nf_opaque_ptr(p), &chosen, sizeof chosen);
    nf_probe_done();
    /* An allocator whose thread frees go to a list apart from the one
     * malloc pops (mimalloc's and shard's local_free) hands the corrupted
     * block out only once the fresh blocks of its page are gone: keep
     * allocating 32 B blocks, as a program would, up to a few pages'
     * worth, watching for the chosen address. */
    for (int i = 0; i < 4096; i++) {
        if (i % 512 == 0)
            nf_probe_call("malloc(32) #%d of 4096 after the misuse", i + 1);
        unsigned char *q = malloc(32);
        if (q && q + 32 > uaf_target && q < uaf_target + sizeof uaf_target) {
            nf_probe_result(NF_CELL_CORRUPT, "malloc(32) #%d returned %p, inside %s", i + 1, (void *)q,
                            "the global whose address was written");
            return;
        }
    }
    aftermath(&s, 32);
}

/* Three blocks of 24 in a row; the middle one is written past its end by
 * write_past, then freed, then its neighbour: what the allocator makes of
 * the damage shows in the aftermath of the first block. */
static void overflow_scene(void (*write_past)(unsigned char *p))
{
    scene s = {0};
    unsigned char *a = malloc(24), *p = malloc(24), *b = malloc(24);
    memset(a, 1, 24);
    memset(p, 2, 24);
    memset(b, 3, 24);
    scene_live(&s, a, 24, "block");
    write_past(p);
    nf_probe_done();
    nf_probe_call("free(%p), the overflowed block", (void *)p);
    free(p);
    nf_probe_call("free(%p), its neighbour", (void *)b);
    free(b);
    aftermath(&s, 24);
}

static void write_one_past(unsigned char *p)
{
    size_t u = malloc_usable_size(p);
    nf_probe_bad("write one byte at %p + %zu, just past its usable size", (void *)p, u);
    ((volatile unsigned char *)nf_opaque_ptr(p))[u] = 0x41;
}

static void write_nul_past(unsigned char *p)
{
    nf_probe_bad("copy a 24-character string and its NUL into %p, a block of 24", (void *)p);
    memcpy(p, "abcdefghijklmnopqrstuvwx", 24);
    ((volatile unsigned char *)nf_opaque_ptr(p))[24] = 0;
}

static void overflow_one(void) { overflow_scene(write_one_past); }
static void nul_off_by_one(void) { overflow_scene(write_nul_past); }

/* The table rows of this family (probe_table.c). */
const nf_probe nf_probes_misuse[] = {
    {"double-free", NF_PROBE_MISUSE, "free(p); free(p)", double_free},
    {"double-free-delayed", NF_PROBE_MISUSE, "free(p); free(q); free(r); free(p)", double_free_delayed},
    {"double-free-xthread", NF_PROBE_MISUSE, "free(p), then free(p) in another thread", double_free_xthread},
    {"free-stack", NF_PROBE_MISUSE, "free of a stack address", free_stack},
    {"free-global", NF_PROBE_MISUSE, "free of a global's address", free_global},
    {"free-interior-64", NF_PROBE_MISUSE, "free of a 16-aligned pointer inside a live 64 B block", free_interior_64},
    {"free-interior-5000", NF_PROBE_MISUSE, "the same inside a live 5000 B block", free_interior_5000},
    {"free-interior-200k", NF_PROBE_MISUSE, "the same inside a live 200 KiB block", free_interior_200k},
    {"free-interior-1m", NF_PROBE_MISUSE, "the same inside a live 1 MiB block", free_interior_1m},
    {"free-misaligned", NF_PROBE_MISUSE, "free(p + 1)", free_misaligned},
    {"free-wild", NF_PROBE_MISUSE, "free of an address nothing is mapped at", free_wild},
    {"realloc-freed", NF_PROBE_MISUSE, "realloc of a freed block", realloc_freed},
    {"uaf-write", NF_PROBE_MISUSE, "a global's address written into a freed 32 B block", uaf_write},
    {"overflow-1", NF_PROBE_MISUSE, "one byte written past the usable size", overflow_one},
    {"nul-off-by-one", NF_PROBE_MISUSE, "a string's NUL one past a 24 B block", nul_off_by_one},
};
const size_t nf_probes_misuse_count = sizeof nf_probes_misuse / sizeof nf_probes_misuse[0];
