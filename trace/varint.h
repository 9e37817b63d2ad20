/* trace/varint.h: LEB128 unsigned varints (7 bits a byte, low first, the
 * high bit set on every byte but the last), shared by the recorder's raw
 * files and the trace format. Header-only: the recorder links nothing of
 * ours. */
#ifndef NF_TRACE_VARINT_H
#define NF_TRACE_VARINT_H

#include <stddef.h>
#include <stdint.h>

enum { NF_VARINT_MAX = 10 }; /* bytes of the largest 64-bit value */

/* Writes v at p (room for NF_VARINT_MAX bytes); returns the bytes written. */
static inline size_t nf_varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Reads a varint from p[0, avail) into *v; returns the bytes read, 0 when
 * it runs past avail (truncated), -1 when it is longer than a uint64_t
 * allows (corrupt). */
static inline int nf_varint_get(const unsigned char *p, size_t avail, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < NF_VARINT_MAX; i++) {
        if (i >= avail)
            return 0;
        uint64_t b = p[i];
        if (i == NF_VARINT_MAX - 1 && b > 1)
            return -1;
        x |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return (int)i + 1;
        }
    }
    return -1;
}

#endif
