/* check/probes_align.c: every alignment function with valid and invalid
 * alignments, alignments up to 2^63, the (alignment, size) overflow fuzz
 * (fuzz.c), and whether valloc and pvalloc are the allocator's own.
 *
 * What is correct (C17 7.22.3.1, POSIX.1-2024 posix_memalign):
 *   aligned_alloc   an alignment that is not a power of two (0 included)
 *                   fails with NULL (glibc sets EINVAL; glibc 2.38 fixed
 *                   2.36's acceptance of them)
 *   posix_memalign  EINVAL for an alignment that is not a power of two
 *                   multiple of sizeof(void *), *memptr untouched, errno
 *                   untouched
 *   memalign        obsolete, unspecified: NULL with EINVAL, or glibc's
 *                   rounding up to the next power of two; both correct */
#include "fuzz.h"
#include "probe.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#pragma GCC diagnostic ignored "-Wnonnull"

typedef void *(*align_fn)(size_t, size_t);

static int fn_aligned_alloc(void *ctx, size_t a, size_t n, void **out)
{
    (void)ctx;
    errno = 0;
    *out = aligned_alloc(nf_opaque(a), nf_opaque(n));
    return *out ? 0 : errno ? errno : -1;
}

static int fn_memalign(void *ctx, size_t a, size_t n, void **out)
{
    (void)ctx;
    errno = 0;
    *out = memalign(nf_opaque(a), nf_opaque(n));
    return *out ? 0 : errno ? errno : -1;
}

static int fn_posix_memalign(void *ctx, size_t a, size_t n, void **out)
{
    (void)ctx;
    void *p = (void *)0x1;
    int rc = posix_memalign(&p, nf_opaque(a), nf_opaque(n));
    if (rc == 0) {
        *out = p;
        return 0;
    }
    if (p != (void *)0x1) {
        *out = NULL;
        return -2; /* wrote *memptr on failure */
    }
    return rc;
}

static void fn_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static size_t fn_usable(void *ctx, void *p)
{
    (void)ctx;
    return malloc_usable_size(p);
}

static const nf_fuzz_fn fns[] = {
    {"aligned_alloc", fn_aligned_alloc, fn_free, fn_usable, NULL, 1},
    {"memalign", fn_memalign, fn_free, fn_usable, NULL, 1},
    {"posix_memalign", fn_posix_memalign, fn_free, fn_usable, NULL, sizeof(void *)},
};

static void announce(const char *call) { nf_probe_call("%s", call); }

static void fuzz(int which)
{
    char err[256];
    unsigned calls = 0;
    unsigned wrong = nf_fuzz_align(&fns[which], announce, err, sizeof err, &calls);
    if (wrong)
        nf_probe_result(NF_CELL_WRONG, "%u of %u calls: first %s", wrong, calls, err);
    else
        nf_probe_result(NF_CELL_CORRECT, "%u calls: NULL and ENOMEM or an aligned block", calls);
}

static void fuzz_aligned_alloc(void) { fuzz(0); }
static void fuzz_memalign(void) { fuzz(1); }
static void fuzz_posix_memalign(void) { fuzz(2); }

/* Valid alignments 1 (sizeof(void *) for posix_memalign) to 1 MiB, small
 * sizes and multiples of the alignment: aligned, usable, writable. */
static void valid(int which)
{
    const nf_fuzz_fn *f = &fns[which];
    for (size_t a = f->min_align; a <= (1u << 20); a <<= 1) {
        size_t sizes[] = {1, 100, a, 3 * a};
        for (size_t i = 0; i < 4; i++) {
            size_t n = sizes[i];
            nf_probe_call("%s(%zu, %zu)", f->name, a, n);
            void *p = NULL;
            int rc = f->alloc(NULL, a, n, &p);
            if (rc != 0 || !p) {
                nf_probe_result(NF_CELL_WRONG, "%s(%zu, %zu) failed (%d)", f->name, a, n, rc);
                return;
            }
            if ((uintptr_t)p % a || malloc_usable_size(p) < n) {
                nf_probe_result(NF_CELL_WRONG, "%s(%zu, %zu) = %p, usable %zu", f->name, a, n, p,
                                malloc_usable_size(p));
                return;
            }
            memset(p, 0x33, n);
            free(p);
        }
    }
    nf_probe_result(NF_CELL_CORRECT, "aligned, usable size at least the size");
}

static void aligned_alloc_valid(void) { valid(0); }
static void memalign_valid(void) { valid(1); }
static void posix_memalign_valid(void) { valid(2); }

static const size_t bad_align[] = {0, 3, 24, 48, 100, 65535, ((size_t)1 << 63) + 1};

static void aligned_alloc_invalid(void)
{
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        nf_probe_call("aligned_alloc(%zu, 16)", bad_align[i]);
        errno = 0;
        void *p = aligned_alloc(nf_opaque(bad_align[i]), 16);
        if (p) {
            nf_probe_result(NF_CELL_WRONG, "aligned_alloc(%zu, 16) = %p, want NULL", bad_align[i], p);
            free(p);
            return;
        }
        if (errno != EINVAL) {
            nf_probe_result(NF_CELL_WRONG, "aligned_alloc(%zu, 16) = NULL with errno %d, want EINVAL", bad_align[i],
                            errno);
            return;
        }
    }
    nf_probe_result(NF_CELL_CORRECT, "NULL and EINVAL");
}

static void memalign_invalid(void)
{
    int rounded = 0, refused = 0;
    for (size_t i = 0; i + 1 < sizeof bad_align / sizeof bad_align[0]; i++) {
        size_t a = bad_align[i];
        nf_probe_call("memalign(%zu, 16)", a);
        errno = 0;
        void *p = memalign(nf_opaque(a), 16);
        size_t want = 1;
        while (want < a)
            want <<= 1;
        if (p && (uintptr_t)p % want == 0 && malloc_usable_size(p) >= 16) {
            rounded++;
        } else if (!p && errno == EINVAL) {
            refused++;
        } else {
            nf_probe_result(NF_CELL_WRONG, "memalign(%zu, 16) = %p errno %d: neither EINVAL nor aligned to %zu", a, p,
                            errno, want);
            return;
        }
        free(p);
    }
    nf_probe_result(NF_CELL_CORRECT, "%s",
                    !refused   ? "rounded up to a power of two"
                    : !rounded ? "NULL and EINVAL"
                               : "rounded up or refused");
}

static void posix_memalign_invalid(void)
{
    static const size_t bad[] = {0, 1, 2, 4, 3, 24, 48, 100, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)0x1;
        nf_probe_call("posix_memalign(&p, %zu, 16)", bad[i]);
        errno = 55;
        int rc = posix_memalign(&p, nf_opaque(bad[i]), 16);
        if (rc != EINVAL || p != (void *)0x1 || errno != 55) {
            nf_probe_result(NF_CELL_WRONG, "posix_memalign(&p, %zu, 16) = %d, p %s, errno %s", bad[i], rc,
                            p == (void *)0x1 ? "kept" : "written", errno == 55 ? "kept" : "changed");
            if (rc == 0)
                free(p);
            return;
        }
    }
    nf_probe_result(NF_CELL_CORRECT, "EINVAL, *memptr and errno untouched");
}

/* Alignments 2^0..2^63 with sizes 1 and 4096, through all three. */
static void align_max(void)
{
    for (int w = 0; w < 3; w++)
        for (int k = 0; k < 64; k++)
            for (size_t n = 1; n <= 4096; n += 4095) {
                const nf_fuzz_fn *f = &fns[w];
                size_t a = (size_t)1 << k;
                nf_probe_call("%s(2^%d, %zu)", f->name, k, n);
                void *p = NULL;
                int rc = f->alloc(NULL, a, n, &p);
                if (rc == 0 && p && (uintptr_t)p % a == 0 && malloc_usable_size(p) >= n) {
                    memset(p, 1, n);
                    free(p);
                } else if (!(rc == ENOMEM || (rc == EINVAL && a < f->min_align))) {
                    nf_probe_result(NF_CELL_WRONG, "%s(2^%d, %zu) = %p (%d)", f->name, k, n, p, rc);
                    return;
                }
            }
    nf_probe_result(NF_CELL_CORRECT, "an aligned block or NULL and ENOMEM");
}

/* The object that defines sym, as the dynamic linker resolves it. */
static const char *owner(const char *sym)
{
    void *s = dlsym(RTLD_DEFAULT, sym);
    Dl_info info;
    if (!s || !dladdr(s, &info) || !info.dli_fname)
        return NULL;
    return info.dli_fname;
}

/* valloc and pvalloc must be the allocator's own: libc's would hand out
 * blocks of glibc's heap, which the allocator's free does not know. */
static void page_aligned(int pv)
{
    const char *name = pv ? "pvalloc" : "valloc";
    const char *mine = owner("malloc"), *it = owner(name);
    if (!it) {
        nf_probe_result(NF_CELL_WRONG, "%s is not defined", name);
        return;
    }
    if (!mine || strcmp(mine, it) != 0) {
        nf_probe_result(NF_CELL_WRONG, "%s is %s's, not the allocator's (%s)", name, it, mine ? mine : "?");
        return;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *(*fn)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, name);
    static const size_t sizes[] = {0, 1, 10, 4095, 4097, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        nf_probe_call("%s(%zu)", name, n);
        void *p = fn(n);
        size_t want = pv ? (n + page - 1) / page * page : n;
        if (!p || (uintptr_t)p % page || malloc_usable_size(p) < want) {
            nf_probe_result(NF_CELL_WRONG, "%s(%zu) = %p, usable %zu", name, n, p, p ? malloc_usable_size(p) : 0);
            return;
        }
        memset(p, 1, want);
        free(p);
    }
    nf_probe_result(NF_CELL_CORRECT, "the allocator's own, page-aligned%s", pv ? ", whole pages" : "");
}

static void valloc_own(void) { page_aligned(0); }
static void pvalloc_own(void) { page_aligned(1); }

const nf_probe nf_probes_align[] = {
    {"aligned_alloc-valid", NF_PROBE_API, "powers of two up to 1 MiB: aligned, usable", aligned_alloc_valid},
    {"aligned_alloc-invalid", NF_PROBE_API, "alignment 0, 3, 24, ...: NULL, EINVAL", aligned_alloc_invalid},
    {"memalign-valid", NF_PROBE_API, "powers of two up to 1 MiB: aligned, usable", memalign_valid},
    {"memalign-invalid", NF_PROBE_API, "alignment 0, 3, 24, ...: EINVAL or rounded up", memalign_invalid},
    {"posix_memalign-valid", NF_PROBE_API, "powers of two 8 to 1 MiB: aligned, usable", posix_memalign_valid},
    {"posix_memalign-invalid", NF_PROBE_API, "0, 1, 2, 4, 3, 24, ...: EINVAL, *memptr untouched",
     posix_memalign_invalid},
    {"align-max", NF_PROBE_API, "alignments 2^0..2^63 (sizes 1, 4096), all three", align_max},
    {"fuzz-aligned_alloc", NF_PROBE_API, "(alignment, size) overflow fuzz: ENOMEM or a block", fuzz_aligned_alloc},
    {"fuzz-memalign", NF_PROBE_API, "the same through memalign", fuzz_memalign},
    {"fuzz-posix_memalign", NF_PROBE_API, "the same through posix_memalign", fuzz_posix_memalign},
    {"valloc", NF_PROBE_API, "valloc is the allocator's own, page-aligned", valloc_own},
    {"pvalloc", NF_PROBE_API, "pvalloc is the allocator's own, whole pages", pvalloc_own},
};
const size_t nf_probes_align_count = sizeof nf_probes_align / sizeof nf_probes_align[0];
