/* trace/raw.h: the recorder's raw file, one per process image, which
 * `notfree trace record` converts into a trace (raw.c, convert.c) and
 * deletes. Not a stable format: it never leaves the recording.
 *
 *   header  "NFTRAW1\0", u32 pid, u32 command bytes, u64 start_ns
 *           (CLOCK_MONOTONIC when the image or fork child began), the command line (NULs as spaces);
 *           little-endian as the box is (the file never moves)
 *   chunk   u32 thread index, u32 bytes, then that many bytes of records,
 *           written whole under the recorder's lock
 *   record  varint seq (the first of a chunk absolute, then the delta
 *           from the previous record of the chunk), a byte op (enum
 *           nf_trace_op), then varints by op: malloc size, result;
 *           calloc count, size, result; realloc in, size, result; free
 *           in; the aligned ops alignment, size, result. Addresses are
 *           the raw pointer values (0: NULL).
 * seq is one global counter of the process: a free takes its number
 * before the real free runs, an allocation after the real call returns,
 * so sorting by seq never shows an address live twice (a realloc's
 * input is the one exception, convert.c pairs it). */
#ifndef NF_TRACE_RAW_H
#define NF_TRACE_RAW_H

#include <stdint.h>

#include "varint.h"

#define NF_RAW_MAGIC "NFTRAW1"
enum {
    NF_RAW_HEADER = 24, /* before the command line */
    NF_RAW_COMMAND_MAX = 1024,
    NF_RAW_CHUNK_HEADER = 8,
    NF_RAW_RECORD_MAX = 2 * NF_VARINT_MAX + 1 + 3 * NF_VARINT_MAX,
};

#endif
