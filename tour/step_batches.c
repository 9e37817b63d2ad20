/* tour/step_batches.c: step 1, the allocator batches. A fresh process per
 * allocator (notfree-tour-malloc under its LD_PRELOAD); its system calls
 * counted by compare's seccomp + ptrace counter, for the first malloc(64)
 * of main and for the next 100,000. */
#include "syscalls.h"

#include <stdio.h>
#include <string.h>

void nf_tour_step_batches(nf_tour_run *r)
{
    nf_cmp_alloc a[16];
    int n = nf_tour_allocs(a, 16);
    long next = 100000;
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%ld", next);
    nf_tour_did(r,
                "per allocator, two fresh processes: one counts the calls of its first malloc(64) in main, "
                "the other those of the next %ld malloc(64) (kept, %.1f MiB)",
                next, (double)next * 64.0 / (1 << 20));
    int measured = 0, worst_next_i = -1, first_reached = 0;
    double worst_next = -1, most_first = -1;
    char worst_first_name[64] = "", skipped[512] = "";
    for (int i = 0; i < n; i++) {
        if (!a[i].available) {
            size_t k = strlen(skipped);
            snprintf(skipped + k, sizeof skipped - k, "%s%.40s", k ? "; " : "", a[i].name);
            continue;
        }
        long long first, more, c[NF_CMP_NSYS];
        char err[256], name[96];
        char *fa[] = {"first", NULL}, *na[] = {"next", nbuf, NULL};
        if (nf_tour_count_calls(r, &a[i], fa, &first, c, err, sizeof err) != 0 ||
            nf_tour_count_calls(r, &a[i], na, &more, c, err, sizeof err) != 0) {
            nf_tour_did(r, "%s: not counted (%s)", a[i].name, err);
            continue;
        }
        measured++;
        snprintf(name, sizeof name, "%.40s_first_malloc_calls", a[i].name);
        nf_tour_figure(r, name, (double)first, "calls", "syscall counter");
        snprintf(name, sizeof name, "%.40s_next_100k_calls", a[i].name);
        nf_tour_figure(r, name, (double)more, "calls", "syscall counter");
        if (more > worst_next) {
            worst_next = (double)more;
            worst_next_i = i;
        }
        first_reached += first > 0;
        if (first > most_first) {
            most_first = (double)first;
            snprintf(worst_first_name, sizeof worst_first_name, "%.40s", a[i].name);
        }
    }
    if (skipped[0])
        nf_tour_did(r, "not available here: %s", skipped);
    if (measured == 0) {
        nf_tour_skip(r, "no allocator could be counted (the seccomp + ptrace counter failed)");
        return;
    }
    /* The claim: malloc(64) rarely reaches the kernel. It holds when the
     * batch makes calls at a rate far below one per malloc (< 1 in 100);
     * the nuance is a first malloc that does reach it. */
    double per_malloc = worst_next / (double)next;
    if (per_malloc >= 0.01) {
        nf_tour_verdict(r, NF_TOUR_NOT_HERE, "%s made %.0f system calls for %ld malloc(64), %.3f per malloc",
                        a[worst_next_i].name, worst_next, next, per_malloc);
        return;
    }
    char first_note[256];
    if (first_reached)
        snprintf(first_note, sizeof first_note,
                 "but the first malloc(64) of main did reach the kernel under %d of them (at most %.0f calls, %s), "
                 "setting its heap up",
                 first_reached, most_first, worst_first_name);
    else
        snprintf(first_note, sizeof first_note,
                 "and no first malloc(64) of main made a call (start-up had set the heap up)");
    nf_tour_verdict(r, first_reached ? NF_TOUR_NUANCE : NF_TOUR_HOLDS,
                    "over %d allocators the next %ld malloc(64) made at most %.0f system calls (%s: one per %.0f "
                    "mallocs); %s",
                    measured, next, worst_next, a[worst_next_i].name,
                    worst_next > 0 ? (double)next / worst_next : (double)next, first_note);
}
