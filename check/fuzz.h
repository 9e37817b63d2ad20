/* check/fuzz.h: the (alignment, size) overflow fuzz, one function for the
 * battery (through aligned_alloc, memalign, posix_memalign) and for the
 * conformance suite (through the nf_allocator interface's memalign).
 *
 * Alignments 2^0 to 2^63, sizes near 0, 2^32, 2^62, 2^63 and SIZE_MAX,
 * and SIZE_MAX - alignment + k: where `size + alignment` and rounding
 * wrap. Every call must give NULL with ENOMEM (EINVAL below the
 * function's smallest alignment) or a block aligned as asked whose usable
 * size is at least the size; the block's first and last bytes are written
 * and it is freed. */
#ifndef NF_CHECK_FUZZ_H
#define NF_CHECK_FUZZ_H

#include <stddef.h>

typedef struct nf_fuzz_fn {
    const char *name; /* for messages: "aligned_alloc", ... */
    /* 0 with *out set, or the errno value of a refusal (0 is reported as
     * "NULL without errno", passed as -1). */
    int (*alloc)(void *ctx, size_t align, size_t size, void **out);
    void (*release)(void *ctx, void *p);
    size_t (*usable)(void *ctx, void *p);
    void *ctx;
    size_t min_align; /* below it EINVAL is the right answer (posix_memalign: sizeof(void *)) */
} nf_fuzz_fn;

/* Runs the fuzz; before(text), when not NULL, is called before each call.
 * Returns the number of wrong calls (0: all correct), the first described
 * in err; *calls gets the number of calls made. */
unsigned nf_fuzz_align(const nf_fuzz_fn *f, void (*before)(const char *call), char *err, size_t errlen,
                       unsigned *calls);

/* Sizes the fuzz tries at alignment a (for the table in the help). */
size_t nf_fuzz_sizes(size_t a, size_t *out, size_t cap);

#endif
