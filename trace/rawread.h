/* trace/rawread.h: one record of a raw chunk (raw.h), decoded. Internal
 * to the trace library (raw.c counts, convert.c converts). */
#ifndef NF_TRACE_RAWREAD_H
#define NF_TRACE_RAWREAD_H

#include <stddef.h>
#include <stdint.h>

#include "notfree/trace.h"
#include "varint.h"

typedef struct nf_raw_record {
    uint64_t seq;  /* absolute */
    uint64_t v[3]; /* the op's values in raw.h's order */
    unsigned op, nv;
} nf_raw_record;

/* The values each op carries (raw.h). */
static inline unsigned nf_raw_nvalues(unsigned op) { return op == NF_TRACE_FREE ? 1 : op == NF_TRACE_MALLOC ? 2 : 3; }

/* The record at *off of a chunk of n bytes (the previous record's seq in
 * r->seq when *off > 0); 1 and *off advanced, 0 at the end, -1 corrupt. */
static inline int nf_raw_next(const unsigned char *b, size_t n, size_t *off, nf_raw_record *r)
{
    if (*off >= n)
        return 0;
    uint64_t s;
    int k = nf_varint_get(b + *off, n - *off, &s);
    if (k <= 0 || *off + (size_t)k >= n)
        return -1;
    r->seq = *off ? r->seq + s : s;
    *off += (size_t)k;
    r->op = b[(*off)++];
    if (r->op >= NF_TRACE_NOPS)
        return -1;
    r->nv = nf_raw_nvalues(r->op);
    for (unsigned i = 0; i < r->nv; i++) {
        k = nf_varint_get(b + *off, n - *off, &r->v[i]);
        if (k <= 0)
            return -1;
        *off += (size_t)k;
    }
    return 1;
}

#endif
