/* tour/step_reclaim.c: step 8, reclaim. A file twice the limit of a
 * memory cgroup, dropped from the page cache first (fsync, then
 * POSIX_FADV_DONTNEED on that file only), is mapped and read twice by a
 * child in the cgroup, one byte per page, MADV_RANDOM so each page is its
 * own major fault (no readahead). Clean page-cache pages are dropped to
 * stay under the limit and the second pass faults them back in as major
 * faults; a file half the limit, read the same way, does not. Anonymous
 * memory: with no swap it cannot be reclaimed (step 9 shows the kill);
 * the kernel model shows reclaim to swap. */
#include "tour.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "notfree/clock.h"
#include "notfree/model.h"

static void model_swap(nf_tour_run *r, char *summary, size_t cap)
{
    nf_model_config cfg = {0};
    cfg.frames = 1024;     /* 4 MiB RAM */
    cfg.swap_pages = 4096; /* 16 MiB swap */
    nf_model *m = nf_model_create(&cfg);
    if (!m) {
        snprintf(summary, cap, "the model could not be made");
        return;
    }
    nf_model_proc *p = nf_model_proc_create(m, "tour");
    uint64_t len = 2048 * (uint64_t)NF_MODEL_PAGE; /* twice RAM */
    uint64_t a = nf_model_mmap(p, 0, len, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    for (int pass = 0; pass < 2 && a != NF_MODEL_FAILED; pass++)
        for (uint64_t off = 0; off < len; off += NF_MODEL_PAGE)
            nf_model_access(p, a + off, 1);
    nf_model_counters c;
    nf_model_counters_get(m, &c);
    nf_tour_figure(r, "model_swap_outs", (double)c.swap_outs, "pages", "model");
    nf_tour_figure(r, "model_swap_ins", (double)c.swap_ins, "pages", "model");
    nf_tour_figure(r, "model_major_faults", (double)c.major_faults, "faults", "model");
    snprintf(summary, cap,
             "in the model (4 MiB RAM, 16 MiB swap) two passes over 8 MiB of anonymous memory swapped "
             "out %llu pages and took %llu major faults",
             (unsigned long long)c.swap_outs, (unsigned long long)c.major_faults);
    nf_model_destroy(m);
}

void nf_tour_step_reclaim(nf_tour_run *r)
{
    size_t limit = r->quick ? (4u << 20) : (16u << 20); /* a major fault can cost 0.7 ms here */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char dir[256], path[512], why[256];
    if (nf_tour_disk_dir(dir, sizeof dir) != 0) {
        nf_tour_skip(r, "no writable directory on a file system with a page cache ($TMPDIR, /var/tmp, .)");
        return;
    }
    nf_tour_cgroup cg;
    if (nf_tour_cgroup_make(&cg, "reclaim", limit, why, sizeof why) != 0) {
        nf_tour_skip(r, "needs a memory cgroup to bound the page cache: %s", why);
        return;
    }
    snprintf(path, sizeof path, "%s/notfree-tour-%d.dat", dir, (int)getpid());
    nf_tour_file_read big = {path, 2 * limit, MADV_RANDOM, 2}, small = {path, limit / 2, MADV_RANDOM, 2};
    char out[512], out2[512];
    nf_tour_did(r,
                "memory cgroup v%d limited to %zu MiB; a %zu MiB file in %s, written, fsynced and dropped from "
                "the cache with POSIX_FADV_DONTNEED",
                cg.version, limit >> 20, big.len >> 20, dir);
    int st = -1, st2 = -1;
    if (nf_tour_cold_file(path, big.len, 1) == 0) {
        nf_tour_did(r, "a child in the cgroup maps it (MADV_RANDOM: no readahead) and reads one byte per page, twice");
        st = nf_tour_child(nf_tour_read_file, &big, &cg, 120, out, sizeof out);
        nf_tour_remove_file(path);
    }
    if (st == 0 && nf_tour_cold_file(path, small.len, 1) == 0) {
        nf_tour_did(r, "the same with a %zu MiB file (half the limit), as the control", small.len >> 20);
        st2 = nf_tour_child(nf_tour_read_file, &small, &cg, 120, out2, sizeof out2);
        nf_tour_remove_file(path);
    }
    nf_tour_cgroup_remove(&cg);
    double p1 = nf_tour_get(out, "pass1_major"), p2 = nf_tour_get(out, "pass2_major");
    double c1 = nf_tour_get(out2, "pass1_major"), c2 = nf_tour_get(out2, "pass2_major");
    if (st != 0 || st2 != 0 || p2 != p2 || c2 != c2) {
        nf_tour_skip(r, "a reader did not finish (status %d, %d): %s %s", st, st2, out, out2);
        return;
    }
    double pages = (double)(big.len / page);
    nf_tour_figure(r, "file_pages", pages, "pages", "count");
    nf_tour_figure(r, "pass1_major_faults", p1, "faults", "rusage");
    nf_tour_figure(r, "pass2_major_faults", p2, "faults", "rusage");
    nf_tour_figure(r, "pass2_ms", nf_tour_get(out, "pass2_ms"), "ms", "timing");
    nf_tour_figure(r, "major_fault_us", nf_tour_get(out, "pass2_ms") * 1000 / (p2 > 0 ? p2 : 1), "us", "timing");
    nf_tour_figure(r, "control_pass1_major_faults", c1, "faults", "rusage");
    nf_tour_figure(r, "control_pass2_major_faults", c2, "faults", "rusage");
    nf_tour_invariant(r, "dropped_pages_refault_major", p2 >= pages / 2 && c2 <= c1 / 10,
                      "second pass: %.0f major faults for %.0f pages over the limit, %.0f for the control under it", p2,
                      pages, c2);
    long swap = nf_tour_meminfo_kib("SwapTotal");
    nf_tour_figure(r, "box_swap", (double)swap / 1024, "MiB", "proc");
    char model[256];
    model_swap(r, model, sizeof model);
    int holds = p2 >= pages / 2 && c2 <= c1 / 10;
    nf_tour_verdict(r, holds ? NF_TOUR_NUANCE : NF_TOUR_NOT_HERE,
                    "reading a %.0f-page file twice under a %zu MiB limit took %.0f then %.0f major faults (the "
                    "clean pages were dropped and read back, %.0f us each), a file under the limit %.0f then %.0f; "
                    "%s; %s",
                    pages, limit >> 20, p1, p2, nf_tour_get(out, "pass2_ms") * 1000 / (p2 > 0 ? p2 : 1), c1, c2,
                    swap > 0 ? "the box has swap, but the tour caps its cgroups' swap, so anonymous reclaim is "
                               "shown in the model only"
                             : "the box has no swap: anonymous pages cannot be reclaimed, a cgroup over its limit "
                               "kills instead (step 9), and swap is shown in the model only",
                    model);
}
