/* benches/region.h: the anonymous regions the fault benches fault in, and
 * the loops that touch them (shared by fault.c and fault_scale.c).
 *
 * A region is one anonymous private mapping: MADV_NOHUGEPAGE unless it is
 * meant to be huge, so a box with THP `always` still measures 4 KiB faults;
 * huge ones are 2 MiB-aligned with MADV_HUGEPAGE. The touch loops are not
 * instrumented by ASan: its shadow loads would add faults of their own.
 */
#ifndef NOTFREE_BENCHES_REGION_H
#define NOTFREE_BENCHES_REGION_H

#include <stdbool.h>
#include <stddef.h>

enum { NF_REGION_PAGE = 4096, NF_REGION_HUGE = 2 << 20 };

/* Maps `bytes` (a multiple of the page); huge: 2 MiB-aligned. NULL on
 * failure. munmap(p, bytes) undoes it. */
char *nf_region_map(size_t bytes, bool huge, int extra_flags);
/* One store of 1 every `step` bytes. */
void nf_region_touch_write(char *p, size_t bytes, size_t step);
/* One load per 4 KiB page; the sum of the bytes read. */
unsigned nf_region_touch_read(const char *p, size_t bytes);

#endif
