/* benches/rss.c: what a big malloc costs in address space and in resident
 * memory, stage by stage, with the process's real malloc.
 *
 * rss/overcommit/<MiB>, one iteration (fixed) per repetition:
 *   before            /proc/self/statm VSZ and smaps_rollup Rss
 *   after_malloc      p = malloc(<MiB>), untouched
 *   after_touch_half  one store per 4 KiB page of the first half
 *   after_free        free(p)
 *   after_trim        malloc_trim(0)
 * Counters: vsz_kib_<stage> and rss_kib_<stage> (KiB, the reading after the
 * stage, averaged over the iterations), plus malloc_us, touch_ns_per_page,
 * free_us, trim_us. Manual time is the four stages' sum; the /proc reads
 * between them are left out. The touch is not prewarmed (it is a side
 * figure here; fault/ measures first touch properly).
 * glibc serves a request above its mmap threshold (at most 32 MiB) with its
 * own mmap, so free() unmaps it and malloc_trim has nothing left to give
 * back: that is a finding, not a flaw. With MALLOC_PERTURB_ set glibc fills
 * the block at malloc, so RSS after malloc is no longer "untouched"; the run
 * says so in its label.
 */
#include "registry.h"

#include "notfree/clock.h"
#include "notfree/bench.h"
#include "notfree/counters.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NF_NO_ASAN __attribute__((no_sanitize_address, noinline))

enum { RSS_PAGE = 4096, RSS_STAGES = 5 };

static const char *const rss_stage[RSS_STAGES] = {
    "before", "after_malloc", "after_touch_half", "after_free", "after_trim",
};

/* Not instrumented: ASan's shadow would add its own resident pages. */
NF_NO_ASAN static void touch_write(char *p, size_t bytes)
{
    volatile char *v = p;
    for (size_t i = 0; i < bytes; i += RSS_PAGE)
        v[i] = 1;
}

static void rss_overcommit(nf_state *st, void *user)
{
    (void)user;
    const size_t bytes = (size_t)nf_state_range(st, 0) << 20;
    double vsz[RSS_STAGES] = {0}, rss[RSS_STAGES] = {0}, stage_ns[RSS_STAGES] = {0};
    double n = 0;

    NF_BENCH_LOOP(st)
    {
        double t[RSS_STAGES];
        nf_proc_mem at[RSS_STAGES];
        int bad = nf_proc_mem_read(&at[0]);
        t[0] = nf_now_ns();
        char *p = malloc(bytes);
        t[1] = nf_now_ns();
        if (!p) {
            nf_state_skip_with_error(st, "malloc failed");
            return;
        }
        bad |= nf_proc_mem_read(&at[1]);
        double a = nf_now_ns();
        touch_write(p, bytes / 2);
        t[2] = nf_now_ns() - a;
        bad |= nf_proc_mem_read(&at[2]);
        a = nf_now_ns();
        free(p);
        t[3] = nf_now_ns() - a;
        bad |= nf_proc_mem_read(&at[3]);
        a = nf_now_ns();
        malloc_trim(0);
        t[4] = nf_now_ns() - a;
        bad |= nf_proc_mem_read(&at[4]);
        if (bad) {
            nf_state_skip_with_error(st, "cannot read /proc/self/statm or smaps_rollup");
            return;
        }
        stage_ns[1] += t[1] - t[0];
        for (int s = 2; s < RSS_STAGES; s++)
            stage_ns[s] += t[s];
        nf_state_set_iteration_time(st, (t[1] - t[0] + t[2] + t[3] + t[4]) * 1e-9);
        for (int s = 0; s < RSS_STAGES; s++) {
            vsz[s] += (double)at[s].vsz_kib;
            rss[s] += (double)at[s].rss_kib;
        }
        n += 1;
    }
    if (n <= 0)
        return;
    char name[64];
    for (int s = 0; s < RSS_STAGES; s++) {
        snprintf(name, sizeof name, "vsz_kib_%s", rss_stage[s]);
        nf_state_counter(st, name, vsz[s] / n, NF_COUNTER_DEFAULT);
        snprintf(name, sizeof name, "rss_kib_%s", rss_stage[s]);
        nf_state_counter(st, name, rss[s] / n, NF_COUNTER_DEFAULT);
    }
    nf_state_counter(st, "malloc_us", stage_ns[1] / n * 1e-3, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "touch_ns_per_page", stage_ns[2] / (n * (double)(bytes / 2 / RSS_PAGE)), NF_COUNTER_DEFAULT);
    nf_state_counter(st, "free_us", stage_ns[3] / n * 1e-3, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "trim_us", stage_ns[4] / n * 1e-3, NF_COUNTER_DEFAULT);
    const char *perturb = getenv("MALLOC_PERTURB_");
    if (perturb && *perturb && strcmp(perturb, "0") != 0)
        nf_state_label(st, "MALLOC_PERTURB_ is set: glibc fills the block at malloc");
}

void nf_register_rss_benches(void)
{
    nf_bench *b = nf_bench_register("rss/overcommit", rss_overcommit, NULL);
    nf_bench_arg(b, 64);
    nf_bench_arg(b, 1024);
    nf_bench_iterations(b, 1);
    nf_bench_use_manual_time(b);
    nf_bench_unit(b, NF_UNIT_MS);
}
