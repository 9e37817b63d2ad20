/* heapstat.h: what the allocator tests read of a heap and of the process:
 * a path counter from the heap's stats, the resident set and the minor
 * faults so far. Needs
 * check.h first. */
#ifndef NF_TESTS_ALLOC_HEAPSTAT_H
#define NF_TESTS_ALLOC_HEAPSTAT_H

#include "notfree/alloc.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

/* The count of the path called name in a's stats of h (the test stops
 * when the stats fail or the allocator has no such path). */
static inline int64_t heap_path(const nf_allocator *a, nf_heap *h, const char *name)
{
    nf_alloc_stats s;
    REQUIRE(a->stats(h, &s) == 0);
    int64_t v = nf_alloc_stats_path(&s, name);
    REQUIREF(v >= 0, "no path %s", name);
    return v;
}

/* The process's resident set, bytes (kernel accounting: /proc/self/statm). */
static inline size_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    REQUIRE(f);
    REQUIRE(fscanf(f, "%lu %lu", &size, &res) == 2);
    fclose(f);
    return res * (size_t)sysconf(_SC_PAGESIZE);
}

/* Minor page faults of the process so far (kernel accounting: getrusage). */
static inline long minor_faults(void)
{
    struct rusage ru;
    REQUIRE(getrusage(RUSAGE_SELF, &ru) == 0);
    return ru.ru_minflt;
}

#endif
