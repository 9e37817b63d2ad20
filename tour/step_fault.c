/* tour/step_fault.c: step 5, the page fault and zeroing. The first write
 * to each page of a fresh anonymous mapping (THP off for it with
 * MADV_NOHUGEPAGE, so 4 KiB faults) is timed and its faults counted;
 * then memset of 4 KiB in the same, now resident, pages is timed. Medians
 * of 5 rounds. A plain mapping in this process: 16 MiB at most. */
#include "tour.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "notfree/clock.h"

void nf_tour_step_fault(nf_tour_run *r)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), npages = r->quick ? 2048 : 4096;
    size_t len = npages * page;
    enum { ROUNDS = 5 };
    double fault_ns[ROUNDS], zero_ns[ROUNDS], faults[ROUNDS];
    nf_tour_did(r,
                "%d rounds: map %zu pages (MADV_NOHUGEPAGE), write one byte per page (timed, faults from rusage), "
                "then memset each now resident page (timed)",
                ROUNDS, npages);
    for (int k = 0; k < ROUNDS; k++) {
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            nf_tour_skip(r, "mmap of %zu bytes failed", len);
            return;
        }
        madvise(p, len, MADV_NOHUGEPAGE);
        long f0 = nf_tour_minflt();
        double t0 = nf_now_ns();
        for (size_t i = 0; i < npages; i++)
            ((volatile char *)p)[i * page] = 1;
        double t1 = nf_now_ns();
        faults[k] = (double)(nf_tour_minflt() - f0);
        fault_ns[k] = (t1 - t0) / (double)npages;
        t0 = nf_now_ns();
        for (size_t i = 0; i < npages; i++)
            memset(p + i * page, 0, page);
        t1 = nf_now_ns();
        __asm__ volatile("" : : "r"(p) : "memory");
        zero_ns[k] = (t1 - t0) / (double)npages;
        munmap(p, len);
    }
    double fmed = nf_tour_median(fault_ns, ROUNDS), zmed = nf_tour_median(zero_ns, ROUNDS);
    double flt = nf_tour_median(faults, ROUNDS);
    nf_tour_figure(r, "first_touch_ns_per_page", fmed, "ns", "timing");
    nf_tour_figure(r, "zero_4k_resident_ns", zmed, "ns", "timing");
    nf_tour_figure(r, "faults_per_page", flt / (double)npages, "faults", "rusage");
    nf_tour_figure(r, "fault_over_zeroing", fmed / zmed, "ratio", "timing");
    nf_tour_invariant(r, "one_fault_per_page", flt >= (double)npages && flt <= (double)npages * 1.01 + 2,
                      "%.0f faults for %zu pages (median of %d rounds)", flt, npages, ROUNDS);
    /* The claim: the first write takes a fault that zeroes a frame and
     * fills a PTE; so a fault costs more than the zeroing inside it. */
    nf_tour_verdict_kind v = fmed > zmed ? (fmed > 2 * zmed ? NF_TOUR_HOLDS : NF_TOUR_NUANCE) : NF_TOUR_NOT_HERE;
    nf_tour_verdict(r, v,
                    "one first-touch fault per page (%.2f per page) cost %.0f ns against %.0f ns to zero 4 KiB "
                    "already resident: the fault is %.1fx the zeroing, so %.1f%% of it is trap, frame allocation "
                    "and page-table work%s",
                    flt / (double)npages, fmed, zmed, fmed / zmed, 100.0 * (fmed - zmed) / fmed,
                    v == NF_TOUR_NUANCE ? " (zeroing is most of it here)" : "");
}
