/* tour/step_virtual.c: step 3, virtual is not resident. A child mallocs
 * 1 GiB; VSZ and RSS (/proc/self/status) and its minor faults (rusage)
 * after the call, after p[0] = 1, after touching half the pages. */
#include "tour.h"

#include <stdlib.h>
#include <unistd.h>

#define GIB (1ull << 30)

/* The block: 1 GiB (256 MiB with --quick: a first-touch fault costs tens
 * of microseconds on a paravirtualised guest). */
static size_t block;

static void child(void *arg, int fd)
{
    (void)arg;
    long page = sysconf(_SC_PAGESIZE);
    long f0 = nf_tour_minflt();
    nf_tour_out(fd, "vsz0=%ld rss0=%ld\n", nf_tour_status_kib(0, "VmSize"), nf_tour_status_kib(0, "VmRSS"));
    f0 = nf_tour_minflt();
    volatile char *p = malloc(block);
    long f1 = nf_tour_minflt();
    if (!p) {
        nf_tour_out(fd, "failed=1\n");
        return;
    }
    nf_tour_out(fd, "vsz1=%ld rss1=%ld flt1=%ld\n", nf_tour_status_kib(0, "VmSize"), nf_tour_status_kib(0, "VmRSS"),
                f1 - f0);
    f1 = nf_tour_minflt();
    p[0] = 1;
    long f2 = nf_tour_minflt();
    nf_tour_out(fd, "vsz2=%ld rss2=%ld flt2=%ld\n", nf_tour_status_kib(0, "VmSize"), nf_tour_status_kib(0, "VmRSS"),
                f2 - f1);
    f2 = nf_tour_minflt();
    for (size_t off = 0; off < block / 2; off += (size_t)page)
        p[off] = 1;
    long f3 = nf_tour_minflt();
    nf_tour_out(fd, "vsz3=%ld rss3=%ld flt3=%ld pages=%zu\n", nf_tour_status_kib(0, "VmSize"),
                nf_tour_status_kib(0, "VmRSS"), f3 - f2, (size_t)(block / 2 / (size_t)page));
}

void nf_tour_step_virtual(nf_tour_run *r)
{
    block = r->quick ? GIB / 4 : GIB;
    double kib = (double)(block >> 10);
    nf_tour_cgroup cg;
    char why[256], out[1024];
    if (nf_tour_guard(r, &cg, "virtual", block * 3 / 4, why, sizeof why) < 0) {
        nf_tour_skip(r, "the child touches %zu MiB and no memory cgroup can hold it: %s", block >> 21, why);
        return;
    }
    nf_tour_did(r, "a child calls malloc(%zu MiB), writes p[0], then one byte in each page of the first half",
                block >> 20);
    int st = nf_tour_child(child, NULL, cg.path[0] ? &cg : NULL, 60, out, sizeof out);
    nf_tour_cgroup_remove(&cg);
    if (st != 0 || nf_tour_get(out, "failed") == 1 || nf_tour_get(out, "rss3") != nf_tour_get(out, "rss3")) {
        nf_tour_skip(r, "the child did not finish (status %d): %s", st, out);
        return;
    }
    double d_vsz1 = nf_tour_get(out, "vsz1") - nf_tour_get(out, "vsz0");
    double d_rss1 = nf_tour_get(out, "rss1") - nf_tour_get(out, "rss0");
    double d_rss2 = nf_tour_get(out, "rss2") - nf_tour_get(out, "rss0");
    double d_rss3 = nf_tour_get(out, "rss3") - nf_tour_get(out, "rss0");
    double pages = nf_tour_get(out, "pages");
    nf_tour_figure(r, "vsz_growth_after_malloc", d_vsz1, "KiB", "proc");
    nf_tour_figure(r, "rss_growth_after_malloc", d_rss1, "KiB", "proc");
    nf_tour_figure(r, "faults_in_malloc", nf_tour_get(out, "flt1"), "faults", "rusage");
    nf_tour_figure(r, "rss_growth_after_p0", d_rss2, "KiB", "proc");
    nf_tour_figure(r, "faults_for_p0", nf_tour_get(out, "flt2"), "faults", "rusage");
    nf_tour_figure(r, "rss_growth_after_half", d_rss3, "KiB", "proc");
    nf_tour_figure(r, "faults_for_half", nf_tour_get(out, "flt3"), "faults", "rusage");
    nf_tour_figure(r, "pages_touched_in_half", pages - 1, "pages", "count");
    double flt3 = nf_tour_get(out, "flt3");
    nf_tour_invariant(r, "one_fault_per_page", flt3 >= pages - 1 && flt3 <= (pages - 1) * 1.01 + 16,
                      "%.0f faults for %.0f newly touched pages", flt3, pages - 1);
    /* Holds when the malloc grew VSZ by ~1 GiB while RSS grew by less
     * than 1% of it, and half the pages made ~half a GiB resident. */
    int holds = d_vsz1 >= kib * 0.99 && d_rss1 < kib / 100 && d_rss3 >= kib / 2 * 0.95;
    nf_tour_verdict(r, holds ? NF_TOUR_HOLDS : NF_TOUR_NOT_HERE,
                    "malloc(%.0f MiB) grew VSZ by %.0f KiB and RSS by %.0f KiB with %.0f faults; p[0] = 1 took %.0f "
                    "fault(s) and %.0f KiB; touching half took %.0f faults and %.0f KiB resident",
                    kib / 1024, d_vsz1, d_rss1, nf_tour_get(out, "flt1"), nf_tour_get(out, "flt2"), d_rss2, flt3,
                    d_rss3);
}
