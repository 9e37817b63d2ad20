/* tests/compare/fillcheck_test.c: the verification run's fill and check
 * (workloads/wl.h, verify mode) find every changed byte of a
 * block, at its exact offset, for every block size up to 300 bytes (the
 * 64-byte chunks, the whole words after them and the tail) and in a
 * 64 KiB block; an untouched fill checks clean, and another block's
 * pattern does not pass for this one's. */
#include "wl.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    enum { BIG = 64 << 10 };
    unsigned char *b = malloc(BIG);
    if (!b)
        return 1;
    const uint64_t tag = nf_wl_mix(42), other = nf_wl_mix(43);
    unsigned long bad = 0;
    for (size_t n = 1; n <= 300; n++) {
        nf_wl_fill(b, n, tag);
        bad += nf_wl_fill_check(b, n, tag) != n;
        bad += nf_wl_fill_check(b, n, other) == n;
        for (size_t i = 0; i < n; i++) {
            b[i] ^= 0x10;
            bad += nf_wl_fill_check(b, n, tag) != i;
            b[i] ^= 0x10;
        }
    }
    nf_wl_fill(b, BIG, tag);
    for (size_t i = 7; i < BIG; i += 4093) {
        b[i] ^= 1;
        bad += nf_wl_fill_check(b, BIG, tag) != i;
        b[i] ^= 1;
    }
    free(b);
    printf("%s: %lu wrong answers\n", bad ? "FAIL" : "ok", bad);
    return bad != 0;
}
