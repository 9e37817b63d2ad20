/* tests/compare/peak_test.c: the peak RSS of a comparison's run is the
 * worker's own, whatever started it (issue 9, item 8). A run is measured
 * (compare/run.c) from this small process, then again after it has
 * touched 200 MiB: the two peaks must agree within a few MiB. With
 * wait4's ru_maxrss the second run reported the 200 MiB of this process
 * (a forked child inherits its parent's high-water mark; exec keeps the
 * larger), which made every allocator of `./lab run`'s closing comparison
 * show the same 270.9 MiB. */
#include "compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BIG_MIB = 200 };

static int measure(const char *worker, const char *what, long *kib)
{
    nf_cmp_alloc glibc = {.name = "glibc", .available = 1};
    nf_cmp_job j = {
        .worker = worker, .alloc = &glibc, .workload = "small-churn", .threads = 1, .ops = 20000, .timeout_s = 60};
    nf_cmp_result r;
    if (nf_cmp_run(&j, &r) != 0 || !r.ok) {
        printf("FAIL %s: the run failed: %s\n", what, r.error);
        return 1;
    }
    printf("%s: peak RSS %ld KiB\n", what, r.peak_rss_kib);
    *kib = r.peak_rss_kib;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: peak_test PATH/TO/notfree-workload\n");
        return 2;
    }
    long fresh, after;
    if (measure(argv[1], "fresh", &fresh))
        return 1;
    size_t n = (size_t)BIG_MIB << 20;
    char *big = malloc(n);
    if (!big)
        return 1;
    memset(big, 1, n);
    __asm__ volatile("" : : "r"(big) : "memory"); /* the pages stay touched */
    if (measure(argv[1], "after touching 200 MiB", &after))
        return 1;
    free(big);
    long diff = after > fresh ? after - fresh : fresh - after;
    long tolerance = 4096 + fresh / 4; /* KiB: a few MiB of noise, never 200 */
    if (fresh <= 0 || diff > tolerance) {
        printf("FAIL: peaks differ by %ld KiB (tolerance %ld KiB)\n", diff, tolerance);
        return 1;
    }
    printf("ok: peaks differ by %ld KiB\n", diff);
    return 0;
}
