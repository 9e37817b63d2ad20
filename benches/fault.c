/* benches/fault.c: what one page fault costs, in every way a page can be
 * made resident.
 *
 * Glossary
 *   region  one anonymous private mapping of <MiB> (the bench's argument),
 *           MADV_NOHUGEPAGE unless the bench is about THP, so a box with
 *           THP `always` still measures 4 KiB faults.
 *   hot     the frames the region will get were touched and freed just
 *           before: the host has backing for them (every bench but /cold).
 *   cold    before each iteration the bench sleeps COLD_WAIT_S, untimed, so
 *           the guest hands idle memory back to the host and the next touch
 *           also pays the host's fault.
 *
 * Loop structure, per iteration:
 *   setup    (untimed) mmap the region; for dontneed/free the region stays
 *            resident across iterations and setup is the madvise call, timed
 *            on its own into the `advise_ns_per_page` counter.
 *   timed    clock_gettime(CLOCK_MONOTONIC) around exactly the operation:
 *            one store (or load) per 4 KiB page, the mmap(MAP_POPULATE)
 *            call, the madvise(MADV_POPULATE_WRITE) call, the mlock call,
 *            one store per 2 MiB for THP, a 4 KiB memset for zero_fill.
 *            The time goes to libbenchmark as manual time.
 *   counted  getrusage minflt and the perf page-faults software event are
 *            read just outside the clock, around the same operation.
 *   teardown (untimed) munmap, /proc reads (THP confirmation, RSS).
 * Left out: mmap and munmap (except for populate, where mmap is the
 * operation), the madvise before a retouch, the /proc reads, the idle wait.
 *
 * Counters: ns_per_page (per 4 KiB), faults_per_page (getrusage minflt),
 * perf_faults_per_page (perf software page-faults; left out where perf is
 * unavailable), and where the box has a PMU hw_<event>_per_page for
 * cycles, instructions, dTLB load/store and iTLB load misses (hardware
 * counters, read just outside the software ones; left out without a PMU). THP adds ns_per_2m, faults_per_2m and thp_confirmed (the
 * fraction of the region AnonHugePages in smaps_rollup says was huge).
 * The touch loops are not instrumented by ASan: its shadow loads would add
 * faults of their own to the count.
 */
#include "registry.h"
#include "region.h"

#include "notfree/clock.h"
#include "notfree/bench.h"
#include "notfree/context.h"
#include "notfree/counters.h"
#include "notfree/counters_tally.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

enum {
    FAULT_PAGE = NF_REGION_PAGE,
    FAULT_HUGE = NF_REGION_HUGE,
    COLD_WAIT_S = 4,             /* idle before each /cold iteration */
    COLD_ITERATIONS = 3,         /* fixed: each one costs COLD_WAIT_S */
    ZERO_FILL_KIB = 1024,        /* zero_fill cycles its page over this much */
    ZERO_FILL_PER_ITER_MIB = 64, /* and memsets this much per iteration */
};

typedef enum fault_kind {
    FK_WRITE,
    FK_READ,
    FK_POPULATE,
    FK_POPULATE_WRITE,
    FK_MLOCK,
    FK_THP,
    FK_DONTNEED,
    FK_FREE,
    FK_ZERO,
} fault_kind;

typedef struct fault_case {
    const char *name;
    fault_kind kind;
    bool cold;
} fault_case;

/* What a run adds up over its iterations (units in the names). */
typedef struct fault_tally {
    double ns, advise_ns, pages, minflt, perf_faults, huge_kib, rss_kib;
    double iterations;
    bool proc_failed; /* a /proc read failed: no huge_kib, no rss_kib */
} fault_tally;

/* The mlock system call itself: sanitizer runtimes intercept mlock() and
 * make it a no-op that locks nothing. */
static int sys_mlock(const void *p, size_t len) { return (int)syscall(SYS_mlock, p, len); }

/* One 4 KiB memset per page, cycling over a resident buffer of `bytes`. */
static void zero_fill(char *buf, size_t bytes, size_t pages)
{
    size_t n = bytes / FAULT_PAGE;
    for (size_t i = 0; i < pages; i++) {
        memset(buf + (i % n) * FAULT_PAGE, 0, FAULT_PAGE);
        nf_do_not_optimize_ptr(buf);
    }
}

/* Touch and free a region so its frames are hot for the timed touch. */
static void prewarm(size_t bytes, bool huge)
{
    char *w = nf_region_map(bytes, huge, 0);
    if (w) {
        nf_region_touch_write(w, bytes, FAULT_PAGE);
        munmap(w, bytes);
    }
}

/* Every kind but zero_fill may take fresh frames (a read does too where the
 * kernel has no zero page, e.g. a PVM guest with pvm_no_zero_page=1). */
static bool needs_frames(fault_kind k) { return k != FK_ZERO; }

/* The timed operation; 0 or an errno. */
static int fault_op(fault_kind k, char **p, size_t bytes)
{
    switch (k) {
    case FK_WRITE:
    case FK_DONTNEED:
    case FK_FREE:
        nf_region_touch_write(*p, bytes, FAULT_PAGE);
        return 0;
    case FK_READ: {
        unsigned s = nf_region_touch_read(*p, bytes);
        nf_do_not_optimize(s);
        return 0;
    }
    case FK_POPULATE:
        *p = nf_region_map(bytes, false, MAP_POPULATE);
        return *p ? 0 : errno;
    case FK_POPULATE_WRITE:
        return madvise(*p, bytes, MADV_POPULATE_WRITE) == 0 ? 0 : errno;
    case FK_MLOCK:
        return sys_mlock(*p, bytes) == 0 ? 0 : errno;
    case FK_THP:
        nf_region_touch_write(*p, bytes, FAULT_HUGE);
        return 0;
    case FK_ZERO:
        zero_fill(*p, (size_t)ZERO_FILL_KIB << 10, bytes / FAULT_PAGE);
        return 0;
    }
    return EINVAL;
}

static void fault_report(nf_state *st, const fault_case *fc, const fault_tally *t, const nf_counters *c)
{
    if (t->iterations <= 0 || t->pages <= 0)
        return;
    bool perf = nf_counters_available(c, NF_CTR_PERF_PAGE_FAULTS, NULL);
    nf_state_counter(st, "ns_per_page", t->ns / t->pages, NF_COUNTER_DEFAULT);
    if (fc->kind == FK_ZERO)
        return;
    nf_state_counter(st, "faults_per_page", t->minflt / t->pages, NF_COUNTER_DEFAULT);
    if (perf)
        nf_state_counter(st, "perf_faults_per_page", t->perf_faults / t->pages, NF_COUNTER_DEFAULT);
    if (fc->kind == FK_DONTNEED || fc->kind == FK_FREE)
        nf_state_counter(st, "advise_ns_per_page", t->advise_ns / t->pages, NF_COUNTER_DEFAULT);
    if (fc->kind == FK_READ && !t->proc_failed)
        nf_state_counter(st, "rss_kib_per_page", t->rss_kib / t->pages, NF_COUNTER_DEFAULT);
    if (fc->kind == FK_THP) {
        double huge = t->pages / (FAULT_HUGE / FAULT_PAGE);
        nf_state_counter(st, "ns_per_2m", t->ns / huge, NF_COUNTER_DEFAULT);
        nf_state_counter(st, "faults_per_2m", t->minflt / huge, NF_COUNTER_DEFAULT);
        if (perf)
            nf_state_counter(st, "perf_faults_per_2m", t->perf_faults / huge, NF_COUNTER_DEFAULT);
        if (!t->proc_failed) {
            double frac = t->huge_kib / (t->pages * (FAULT_PAGE / 1024));
            nf_state_counter(st, "thp_confirmed", frac, NF_COUNTER_DEFAULT);
            if (frac < 0.99) {
                char label[96];
                snprintf(label, sizeof label, "THP: only %.0f%% of the region was huge (AnonHugePages)", frac * 100.0);
                nf_state_label(st, label);
            }
        }
    }
}

static void fault_run(nf_state *st, void *user)
{
    const fault_case *fc = user;
    const fault_kind k = fc->kind;
    /* zero_fill has no argument: ZERO_FILL_PER_ITER_MIB of memsets. */
    const size_t bytes = (size_t)(fc->kind == FK_ZERO ? ZERO_FILL_PER_ITER_MIB : nf_state_range(st, 0)) << 20;
    const bool huge = k == FK_THP;
    const bool keep = k == FK_DONTNEED || k == FK_FREE || k == FK_ZERO;
    fault_tally t = {0};
    nf_counters c;
    nf_counters_open(&c, NF_CTR_BIT(NF_CTR_PERF_PAGE_FAULTS) | NF_CTR_BIT(NF_CTR_RU_MINFLT));
    nf_ctr_tally hw;
    nf_ctr_tally_open(&hw, NF_CTR_SET_BENCH_HW);

    if (needs_frames(k))
        prewarm(bytes, huge);
    char *kept = NULL;
    if (keep) {
        size_t kb = k == FK_ZERO ? (size_t)ZERO_FILL_KIB << 10 : bytes;
        kept = nf_region_map(kb, false, 0);
        if (!kept) {
            nf_state_skip_with_error(st, "mmap of the resident region failed");
            goto out;
        }
        nf_region_touch_write(kept, kb, FAULT_PAGE);
    }

    NF_BENCH_LOOP(st)
    {
        if (fc->cold)
            sleep(COLD_WAIT_S);
        char *p = kept;
        if (k == FK_DONTNEED || k == FK_FREE) {
            double a = nf_now_ns();
            madvise(p, bytes, k == FK_DONTNEED ? MADV_DONTNEED : MADV_FREE);
            t.advise_ns += nf_now_ns() - a;
        } else if (!keep && k != FK_POPULATE) {
            p = nf_region_map(bytes, huge, 0);
            if (!p) {
                nf_state_skip_with_error(st, "mmap of the region failed");
                goto out;
            }
        }
        nf_proc_mem m0 = {0}, m1 = {0};
        if (k == FK_THP || k == FK_READ)
            nf_proc_mem_read(&m0);

        nf_ctr_tally_start(&hw);
        nf_counters_start(&c);
        double t0 = nf_now_ns();
        int err = fault_op(k, &p, bytes);
        double t1 = nf_now_ns();
        nf_counters_stop(&c);
        nf_ctr_tally_stop(&hw);

        if (err) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s: %s", fc->name, strerror(err));
            if (p && !keep)
                munmap(p, bytes);
            nf_state_skip_with_error(st, msg);
            goto out;
        }
        nf_state_set_iteration_time(st, (t1 - t0) * 1e-9);
        t.ns += t1 - t0;
        t.pages += (double)(bytes / FAULT_PAGE);
        t.iterations += 1;
        t.minflt += nf_counters_delta(&c, NF_CTR_RU_MINFLT);
        if (nf_counters_available(&c, NF_CTR_PERF_PAGE_FAULTS, NULL))
            t.perf_faults += nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS);
        if (k == FK_THP || k == FK_READ) {
            nf_proc_mem_read(&m1);
            if (m0.anon_huge_kib < 0 || m1.anon_huge_kib < 0 || m0.rss_kib < 0 || m1.rss_kib < 0)
                t.proc_failed = true;
            t.huge_kib += (double)(m1.anon_huge_kib - m0.anon_huge_kib);
            t.rss_kib += (double)(m1.rss_kib - m0.rss_kib);
        }
        if (!keep)
            munmap(p, bytes);
    }
    fault_report(st, fc, &t, &c);
    nf_ctr_tally_report_hw(st, &hw, t.pages, "page");
out:
    if (kept)
        munmap(kept, k == FK_ZERO ? (size_t)ZERO_FILL_KIB << 10 : bytes);
    nf_counters_close(&c);
    nf_ctr_tally_close(&hw);
}

/* ---- registration: what this box can run is decided here ---- */

static const fault_case fault_cases[] = {
    {"fault/first_touch_write/hot", FK_WRITE, false},
    {"fault/first_touch_write/cold", FK_WRITE, true},
    {"fault/first_touch_read", FK_READ, false},
    {"fault/populate", FK_POPULATE, false},
    {"fault/populate_write", FK_POPULATE_WRITE, false},
    {"fault/mlock", FK_MLOCK, false},
    {"fault/thp", FK_THP, false},
    {"fault/dontneed_retouch", FK_DONTNEED, false},
    {"fault/madv_free_rewrite", FK_FREE, false},
    {"fault/zero_fill", FK_ZERO, false},
};

/* NULL when the box can run case fc, else why not (static text). */
static const char *fault_unavailable(const fault_case *fc, char *buf, size_t cap)
{
    if (fc->kind == FK_THP) {
        const char *mode = nf_thp_mode();
        if (!mode)
            return "cannot read /sys/kernel/mm/transparent_hugepage/enabled";
        if (strcmp(mode, "never") == 0)
            return "THP is 'never' in /sys/kernel/mm/transparent_hugepage/enabled";
        return NULL;
    }
    if (fc->kind != FK_POPULATE_WRITE && fc->kind != FK_MLOCK)
        return NULL;
    char *p = nf_region_map(FAULT_PAGE, false, 0);
    if (!p)
        return "mmap of one probe page failed";
    int rc = fc->kind == FK_MLOCK ? sys_mlock(p, FAULT_PAGE) : madvise(p, FAULT_PAGE, MADV_POPULATE_WRITE);
    int e = errno;
    munmap(p, FAULT_PAGE);
    if (rc == 0)
        return NULL;
    if (fc->kind == FK_MLOCK)
        snprintf(buf, cap, "mlock of one page failed: %s (RLIMIT_MEMLOCK or CAP_IPC_LOCK)", strerror(e));
    else if (e == EINVAL)
        snprintf(buf, cap, "madvise(MADV_POPULATE_WRITE) is EINVAL: kernel older than 5.14");
    else
        snprintf(buf, cap, "madvise(MADV_POPULATE_WRITE) failed: %s", strerror(e));
    return buf;
}

void nf_register_fault_benches(void)
{
    const bool full = nf_benches_full();
    for (size_t i = 0; i < sizeof fault_cases / sizeof fault_cases[0]; i++) {
        const fault_case *fc = &fault_cases[i];
        char why[160];
        const char *no = fault_unavailable(fc, why, sizeof why);
        if (no) {
            nf_context_unavailable(fc->name, no);
            continue;
        }
        nf_bench *b = nf_bench_register(fc->name, fault_run, (void *)fc);
        nf_bench_use_manual_time(b);
        nf_bench_unit(b, NF_UNIT_US);
        if (fc->kind == FK_ZERO)
            continue; /* no argument: the chart's floor is plain "fault/zero_fill" */
        if (fc->cold) {
            nf_bench_arg(b, 64);
            nf_bench_iterations(b, COLD_ITERATIONS);
            continue;
        }
        nf_bench_arg(b, 4);
        nf_bench_arg(b, 64);
        if (full)
            nf_bench_arg(b, 1024);
    }
}
