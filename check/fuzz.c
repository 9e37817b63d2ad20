/* check/fuzz.c: the (alignment, size) overflow fuzz (fuzz.h). */
#include "fuzz.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t nf_fuzz_sizes(size_t a, size_t *out, size_t cap)
{
    static const size_t fixed[] = {
        0,
        1,
        2,
        8,
        16,
        17,
        ((size_t)1 << 32) - 1,
        (size_t)1 << 32,
        ((size_t)1 << 32) + 1,
        ((size_t)1 << 62) - 1,
        (size_t)1 << 62,
        ((size_t)1 << 62) + 1,
        ((size_t)1 << 63) - 1,
        (size_t)1 << 63,
        ((size_t)1 << 63) + 1,
        SIZE_MAX,
        SIZE_MAX - 1,
        SIZE_MAX - 15,
        SIZE_MAX - 16,
        SIZE_MAX - 4096,
    };
    static const size_t ks[] = {0, 1, 16, 4096};
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && n < cap; i++)
        out[n++] = fixed[i];
    for (size_t i = 0; i < sizeof ks / sizeof ks[0] && n < cap; i++)
        if (ks[i] <= a) /* SIZE_MAX - a + k without wrapping */
            out[n++] = SIZE_MAX - a + ks[i];
    return n;
}

/* "2^k" for powers of two, else the number. */
static const char *num(size_t v, char *buf, size_t len)
{
    if (v && (v & (v - 1)) == 0)
        snprintf(buf, len, "2^%d", __builtin_ctzll(v));
    else if (v > ((size_t)1 << 40))
        snprintf(buf, len, "%#zx", v);
    else
        snprintf(buf, len, "%zu", v);
    return buf;
}

unsigned nf_fuzz_align(const nf_fuzz_fn *f, void (*before)(const char *call), char *err, size_t errlen, unsigned *calls)
{
    unsigned wrong = 0, made = 0;
    if (errlen)
        err[0] = '\0';
    for (int k = 0; k < 64; k++) {
        size_t a = (size_t)1 << k, sizes[32];
        size_t ns = nf_fuzz_sizes(a, sizes, 32);
        for (size_t i = 0; i < ns; i++) {
            size_t n = sizes[i];
            char call[128], ab[32], nb[32];
            snprintf(call, sizeof call, "%s(%s, %s)", f->name, num(a, ab, sizeof ab), num(n, nb, sizeof nb));
            if (before)
                before(call);
            void *p = NULL;
            int rc = f->alloc(f->ctx, a, n, &p);
            made++;
            char why[160] = "";
            if (n == 0 && !p) {
                ; /* size 0: NULL is one of the two behaviours C and POSIX allow */
            } else if (rc == 0) {
                if (!p)
                    snprintf(why, sizeof why, "returned success and NULL");
                else if ((uintptr_t)p & (a - 1))
                    snprintf(why, sizeof why, "returned %p, not aligned", p);
                else if (f->usable && f->usable(f->ctx, p) < n)
                    snprintf(why, sizeof why, "returned %p with usable size %zu", p, f->usable(f->ctx, p));
                if (!why[0] && p) {
                    if (n) {
                        ((volatile unsigned char *)p)[0] = 1;
                        ((volatile unsigned char *)p)[n - 1] = 2;
                    }
                }
                if (p)
                    f->release(f->ctx, p);
            } else if (rc == EINVAL && a < f->min_align) {
                ; /* the alignment is below what the function takes */
            } else if (rc != ENOMEM) {
                snprintf(why, sizeof why, "failed with %s, want ENOMEM or a block",
                         rc == -1       ? "no errno"
                         : rc == -2     ? "*memptr written"
                         : rc == EINVAL ? "EINVAL"
                                        : strerror(rc));
            }
            if (why[0] && wrong++ == 0 && errlen)
                snprintf(err, errlen, "%s %s", call, why);
        }
    }
    if (calls)
        *calls = made;
    return wrong;
}
