/* tour/syscalls.h: counting a fresh helper's system calls per allocator
 * (steps 1 and 2), on the counter and the allocator list of compare. */
#ifndef NOTFREE_TOUR_SYSCALLS_H
#define NOTFREE_TOUR_SYSCALLS_H

#include "tour.h"
#include "compare.h"

/* A helper's path into buf: "<exe_dir>/tour/<name>" in the build tree,
 * else "<exe_dir>/<name>" (installed beside notfree). */
const char *nf_tour_helper(const nf_tour_run *r, const char *name, char *buf, size_t cap);
/* Compare's known allocators, resolved into out (a->available says
 * whether its library is there, a->reason why not). */
int nf_tour_allocs(nf_cmp_alloc *out, unsigned cap);
/* Counts notfree-tour-malloc args... (NULL-ended) under a: counts[] by
 * nf_cmp_sys_names, *total their sum. 0, or -1 with err. */
int nf_tour_count_calls(const nf_tour_run *r, const nf_cmp_alloc *a, char *const args[], long long *total,
                        long long counts[NF_CMP_NSYS], char *err, size_t errlen);

#endif
