/* check/probes_api.c: edge cases of malloc, calloc, realloc,
 * reallocarray, malloc_usable_size and errno, against C17 and POSIX.1-2024.
 * Each call is announced (a `call` marker) so that a crash names it. */
#include "probe.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#pragma GCC diagnostic ignored "-Wuse-after-free"

/* malloc(0): NULL or a unique pointer (C17 7.22.3). */
static void malloc_zero(void)
{
    nf_probe_call("malloc(0) twice");
    void *a = malloc(0), *b = malloc(0);
    if (a && a == b)
        nf_probe_result(NF_CELL_WRONG, "malloc(0) returned %p twice", a);
    else
        nf_probe_result(NF_CELL_CORRECT, "%s", a && b ? "two unique pointers" : "NULL");
    free(a);
    free(b);
}

/* realloc(p, 0): C17 leaves it to the implementation (free and NULL, or a
 * new minimum block); both are correct, the detail says which. */
static void realloc_zero(void)
{
    void *p = malloc(16);
    memset(p, 1, 16);
    nf_probe_call("realloc(%p, 0)", p);
    errno = 0;
    void *q = realloc(p, 0);
    if (!q)
        nf_probe_result(NF_CELL_CORRECT, "NULL, the block freed (errno %d)", errno);
    else
        nf_probe_result(NF_CELL_CORRECT, "a new minimum block");
    free(q);
}

static void realloc_null(void)
{
    nf_probe_call("realloc(NULL, 100)");
    unsigned char *p = realloc(NULL, 100);
    if (!p) {
        nf_probe_result(NF_CELL_WRONG, "realloc(NULL, 100) = NULL");
        return;
    }
    memset(p, 7, 100);
    size_t u = malloc_usable_size(p);
    if ((uintptr_t)p % 16 || u < 100)
        nf_probe_result(NF_CELL_WRONG, "realloc(NULL, 100) = %p, usable %zu", (void *)p, u);
    else
        nf_probe_result(NF_CELL_CORRECT, "acts as malloc(100)");
    free(p);
}

static int want_enomem(const char *call, void *p)
{
    if (p == NULL && errno == ENOMEM)
        return 1;
    if (p)
        nf_probe_result(NF_CELL_WRONG, "%s = %p, want NULL and ENOMEM", call, p);
    else
        nf_probe_result(NF_CELL_WRONG, "%s = NULL with errno %d, want ENOMEM", call, errno);
    return 0;
}

static void calloc_overflow(void)
{
    static const size_t cases[][2] = {
        {SIZE_MAX / 2 + 2, 2},
        {(size_t)1 << 33, (size_t)1 << 33},
        {SIZE_MAX, SIZE_MAX},
        {65537, (size_t)1 << 48},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char call[96];
        snprintf(call, sizeof call, "calloc(%#zx, %#zx)", cases[i][0], cases[i][1]);
        nf_probe_call("%s", call);
        errno = 0;
        if (!want_enomem(call, calloc(nf_opaque(cases[i][0]), nf_opaque(cases[i][1]))))
            return;
    }
    nf_probe_result(NF_CELL_CORRECT, "NULL and ENOMEM");
}

static void reallocarray_overflow(void)
{
    unsigned char *p = malloc(40);
    memset(p, 9, 40);
    nf_probe_call("reallocarray(%p, SIZE_MAX/2, 4)", (void *)p);
    errno = 0;
    if (!want_enomem("reallocarray(p, SIZE_MAX/2, 4)", reallocarray(p, nf_opaque(SIZE_MAX / 2), 4)))
        return;
    for (int i = 0; i < 40; i++)
        if (p[i] != 9) {
            nf_probe_result(NF_CELL_WRONG, "the failed reallocarray changed byte %d of the block", i);
            return;
        }
    free(p);
    nf_probe_result(NF_CELL_CORRECT, "NULL and ENOMEM, the block kept");
}

static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 15, (size_t)PTRDIFF_MAX + 1, PTRDIFF_MAX, (size_t)1 << 62};

static void huge_malloc(void)
{
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        char call[64];
        snprintf(call, sizeof call, "malloc(%#zx)", huge[i]);
        nf_probe_call("%s", call);
        errno = 0;
        if (!want_enomem(call, malloc(nf_opaque(huge[i]))))
            return;
    }
    nf_probe_result(NF_CELL_CORRECT, "NULL and ENOMEM");
}

static void huge_calloc(void)
{
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        char call[64];
        snprintf(call, sizeof call, "calloc(1, %#zx)", huge[i]);
        nf_probe_call("%s", call);
        errno = 0;
        if (!want_enomem(call, calloc(1, nf_opaque(huge[i]))))
            return;
    }
    nf_probe_result(NF_CELL_CORRECT, "NULL and ENOMEM");
}

static void huge_realloc(void)
{
    unsigned char *p = malloc(100);
    memset(p, 4, 100);
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        char call[64];
        snprintf(call, sizeof call, "realloc(p, %#zx)", huge[i]);
        nf_probe_call("%s", call);
        errno = 0;
        if (!want_enomem(call, realloc(p, nf_opaque(huge[i]))))
            return;
        for (int j = 0; j < 100; j++)
            if (p[j] != 4) {
                nf_probe_result(NF_CELL_WRONG, "the failed %s changed byte %d of the block", call, j);
                return;
            }
    }
    free(p);
    nf_probe_result(NF_CELL_CORRECT, "NULL and ENOMEM, the block kept");
}

/* malloc_usable_size(p) >= n, and writing every usable byte of three
 * neighbours leaves each intact. */
static void usable_size(void)
{
    static const size_t sizes[] = {0, 1, 8, 16, 24, 100, 1000, 5000, 70000, 300000, 5u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *b[3];
        size_t u[3];
        for (int j = 0; j < 3; j++) {
            nf_probe_call("malloc(%zu), malloc_usable_size", n);
            b[j] = malloc(n);
            u[j] = b[j] ? malloc_usable_size(b[j]) : 0;
            if (!b[j] || u[j] < n) {
                nf_probe_result(NF_CELL_WRONG, "malloc_usable_size(malloc(%zu)) = %zu", n, u[j]);
                return;
            }
        }
        for (int j = 0; j < 3; j++)
            memset(b[j], 0x10 + j, u[j]);
        for (int j = 0; j < 3; j++)
            for (size_t k = 0; k < u[j]; k++)
                if (b[j][k] != 0x10 + j) {
                    nf_probe_result(NF_CELL_WRONG, "writing the usable bytes of blocks of %zu changed a neighbour", n);
                    return;
                }
        for (int j = 0; j < 3; j++)
            free(b[j]);
    }
    nf_probe_call("malloc_usable_size(NULL)");
    size_t z = malloc_usable_size(NULL);
    if (z)
        nf_probe_result(NF_CELL_WRONG, "malloc_usable_size(NULL) = %zu", z);
    else
        nf_probe_result(NF_CELL_CORRECT, "at least the size asked, all of it writable");
}

/* POSIX.1-2024: free shall not modify errno. */
static void errno_free(void)
{
    static const size_t sizes[] = {1, 100, 5000, 300000, 4u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);
        nf_probe_call("free of a block of %zu", sizes[i]);
        errno = 4321;
        free(p);
        if (errno != 4321) {
            nf_probe_result(NF_CELL_WRONG, "free of a block of %zu set errno to %d", sizes[i], errno);
            return;
        }
    }
    errno = 4321;
    free(NULL);
    if (errno != 4321)
        nf_probe_result(NF_CELL_WRONG, "free(NULL) set errno to %d", errno);
    else
        nf_probe_result(NF_CELL_CORRECT, "errno kept");
}

/* A call that succeeds leaves errno alone (C allows a change, programs
 * that test errno after a call do not). */
static void errno_success(void)
{
    static const size_t sizes[] = {1, 100, 5000, 300000, 4u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        void *p = NULL;
        const char *what = "malloc";
        errno = 4321;
        nf_probe_call("malloc(%zu)", n);
        void *a = malloc(n);
        if (errno == 4321) {
            what = "calloc";
            nf_probe_call("calloc(1, %zu)", n);
            p = calloc(1, n);
        }
        if (errno == 4321) {
            what = "realloc";
            nf_probe_call("realloc(p, %zu)", 2 * n);
            a = realloc(a, 2 * n);
        }
        if (errno == 4321) {
            what = "aligned_alloc";
            nf_probe_call("aligned_alloc(64, %zu)", n);
            void *c = aligned_alloc(64, n);
            free(c);
        }
        if (errno == 4321) {
            what = "posix_memalign";
            void *c = NULL;
            nf_probe_call("posix_memalign(&c, 64, %zu)", n);
            if (posix_memalign(&c, 64, n) == 0)
                free(c);
        }
        int e = errno;
        free(a);
        free(p);
        if (e != 4321) {
            nf_probe_result(NF_CELL_WRONG, "%s of %zu set errno to %d on success", what, n, e);
            return;
        }
    }
    nf_probe_result(NF_CELL_CORRECT, "errno kept");
}

const nf_probe nf_probes_api[] = {
    {"malloc-zero", NF_PROBE_API, "malloc(0): NULL or a unique pointer", malloc_zero},
    {"realloc-zero", NF_PROBE_API, "realloc(p, 0): either C17 behaviour", realloc_zero},
    {"realloc-null", NF_PROBE_API, "realloc(NULL, n) acts as malloc(n)", realloc_null},
    {"calloc-overflow", NF_PROBE_API, "calloc(n, m) with n*m overflowing: NULL, ENOMEM", calloc_overflow},
    {"reallocarray-overflow", NF_PROBE_API, "reallocarray overflowing: NULL, ENOMEM, block kept",
     reallocarray_overflow},
    {"huge-malloc", NF_PROBE_API, "malloc(SIZE_MAX, 2^63 = PTRDIFF_MAX+1, ...): NULL, ENOMEM", huge_malloc},
    {"huge-calloc", NF_PROBE_API, "calloc(1, huge): NULL, ENOMEM", huge_calloc},
    {"huge-realloc", NF_PROBE_API, "realloc(p, huge): NULL, ENOMEM, block kept", huge_realloc},
    {"usable-size", NF_PROBE_API, "malloc_usable_size >= size, all of it writable", usable_size},
    {"errno-free", NF_PROBE_API, "free keeps errno (POSIX.1-2024)", errno_free},
    {"errno-success", NF_PROBE_API, "a successful call keeps errno", errno_success},
};
const size_t nf_probes_api_count = sizeof nf_probes_api / sizeof nf_probes_api[0];
