/* allocators/fmt.h: text into a fixed buffer without allocating, taking a
 * lock or calling stdio: for lines written from inside malloc (the misuse
 * report, the drop-in's statistics line). Internal to allocators/. */
#ifndef NOTFREE_ALLOCATORS_FMT_H
#define NOTFREE_ALLOCATORS_FMT_H

#include <stddef.h>
#include <stdint.h>

/* A line being built in b[0..cap). Writers cut at cap - 1, keeping the
 * last byte for the newline nf_fmt_end adds, so the line always ends. */
typedef struct nf_fmt {
    char *b;
    size_t cap, n; /* cap >= 1; n <= cap */
} nf_fmt;

void nf_fmt_str(nf_fmt *f, const char *s);
void nf_fmt_u64(nf_fmt *f, uint64_t v); /* decimal */
void nf_fmt_hex(nf_fmt *f, uint64_t v); /* 0x and the digits, no leading zeros */
void nf_fmt_end(nf_fmt *f);             /* the newline */

#endif
