/* benches/fork.c: what fork() costs against the resident size of the
 * parent, and what copy-on-write costs afterwards.
 *
 * Setup (untimed, once per run): one anonymous region of <MiB>, written
 * page by page so it is resident (MADV_NOHUGEPAGE; for latency_thp
 * 2 MiB-aligned with MADV_HUGEPAGE, confirmed through AnonHugePages). For
 * the COW benches a second region of the same size is touched and freed so
 * the frames the copies take are hot.
 *
 * fork/latency/<MiB>, fork/latency_thp/<MiB>
 *   A first fork, untimed by the loop, write-protects the parent's freshly
 *   written PTEs; its time is the `first_fork_ms` counter. Then each
 *   iteration: t0, fork(); the child calls _exit(0) at once; t1 when fork
 *   returns in the parent; waitpid; t2. Manual time and `fork_ms` are
 *   t1 - t0 (fork in the parent: copying page tables, taking references);
 *   `reap_ms` is t2 - t0 (adds the child's exit, which tears those page
 *   tables down, and the wakeup of the parent).
 * fork/cow_write/child/<MiB>
 *   Each iteration forks; the child writes one byte per 4 KiB page of the
 *   region and times that itself, counting its own faults (getrusage
 *   RUSAGE_THREAD in the child, perf page-faults where available), and
 *   sends the figures back through a pipe. Manual time = the child's loop.
 * fork/cow_write/parent/<MiB>
 *   Each iteration forks a child that blocks on a pipe (so every page stays
 *   shared), the parent writes one byte per page, timed and counted, then
 *   releases and reaps the child. Manual time = the parent's loop.
 * Left out: region setup, pipes, waitpid for the COW benches.
 */
#include "region.h"
#include "registry.h"

#include "notfree/clock.h"
#include "notfree/bench.h"
#include "notfree/context.h"
#include "notfree/counters.h"
#include "notfree/procfs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NF_NO_ASAN __attribute__((no_sanitize_address, noinline))

enum {
    FORK_PAGE = 4096,
    LATENCY_ITERATIONS = 50,
    COW_ITERATIONS = 5,
};

typedef enum fork_kind { FORK_LATENCY, FORK_LATENCY_THP, FORK_COW_CHILD, FORK_COW_PARENT } fork_kind;

typedef struct fork_case {
    const char *name;
    fork_kind kind;
} fork_case;

/* What a COW child sends back; perf_faults < 0 when perf was unavailable. */
typedef struct cow_report {
    double ns, minflt, perf_faults;
} cow_report;

/* One read-modify-write a page: kept apart from region.h's plain store so
 * the fork benches touch pages as they always have (a load, then a store). */
NF_NO_ASAN static void touch_write(char *p, size_t bytes)
{
    volatile char *v = p;
    for (size_t i = 0; i < bytes; i += FORK_PAGE)
        v[i] = (char)(v[i] + 1);
}

static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* In the child: write every page, count, report through fd, exit. */
_Noreturn static void cow_child(char *r, size_t bytes, int fd)
{
    nf_counters c;
    nf_counters_open(&c, NF_CTR_BIT(NF_CTR_PERF_PAGE_FAULTS) | NF_CTR_BIT(NF_CTR_RU_MINFLT));
    nf_counters_start(&c);
    double t0 = nf_now_ns();
    touch_write(r, bytes);
    double t1 = nf_now_ns();
    nf_counters_stop(&c);
    cow_report rep = {t1 - t0, nf_counters_delta(&c, NF_CTR_RU_MINFLT), -1};
    if (nf_counters_available(&c, NF_CTR_PERF_PAGE_FAULTS, NULL))
        rep.perf_faults = nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS);
    ssize_t w = write(fd, &rep, sizeof rep);
    _exit(w == (ssize_t)sizeof rep ? 0 : 1);
}

/* One COW iteration; fills rep (the writer's figures). 0 or -1 with msg. */
static int cow_once(fork_kind k, char *r, size_t bytes, nf_counters *c, cow_report *rep, const char **msg)
{
    int fds[2];
    if (pipe(fds) != 0) {
        *msg = "pipe failed";
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        *msg = "fork failed";
        return -1;
    }
    if (pid == 0) {
        if (k == FORK_COW_CHILD) {
            close(fds[0]);
            cow_child(r, bytes, fds[1]);
        }
        char x;
        close(fds[1]);
        ssize_t n = read(fds[0], &x, 1); /* returns 0 when the parent closes */
        _exit(n < 0 ? 1 : 0);
    }
    int rc = 0;
    if (k == FORK_COW_CHILD) {
        close(fds[1]);
        if (read(fds[0], rep, sizeof *rep) != (ssize_t)sizeof *rep) {
            *msg = "the COW child sent no figures";
            rc = -1;
        }
        close(fds[0]);
    } else {
        close(fds[0]);
        nf_counters_start(c);
        double t0 = nf_now_ns();
        touch_write(r, bytes);
        double t1 = nf_now_ns();
        nf_counters_stop(c);
        close(fds[1]);
        rep->ns = t1 - t0;
        rep->minflt = nf_counters_delta(c, NF_CTR_RU_MINFLT);
        rep->perf_faults = nf_counters_available(c, NF_CTR_PERF_PAGE_FAULTS, NULL)
                               ? nf_counters_delta(c, NF_CTR_PERF_PAGE_FAULTS)
                               : -1;
    }
    if (reap(pid) != 0 && rc == 0) {
        *msg = "the child did not exit cleanly";
        rc = -1;
    }
    return rc;
}

static void fork_run(nf_state *st, void *user)
{
    const fork_case *fc = user;
    const size_t bytes = (size_t)nf_state_range(st, 0) << 20;
    const double pages = (double)(bytes / FORK_PAGE);
    const bool huge = fc->kind == FORK_LATENCY_THP;
    const bool cow = fc->kind == FORK_COW_CHILD || fc->kind == FORK_COW_PARENT;

    nf_proc_mem m0 = {0}, m1 = {0};
    nf_proc_mem_read(&m0);
    char *r = nf_region_map(bytes, huge, 0);
    if (!r) {
        nf_state_skip_with_error(st, "mmap of the resident region failed");
        return;
    }
    touch_write(r, bytes);
    int proc_rc = nf_proc_mem_read(&m1);
    if (cow) { /* hot frames for the copies */
        char *w = nf_region_map(bytes, false, 0);
        if (w) {
            touch_write(w, bytes);
            munmap(w, bytes);
        }
    }
    nf_counters c;
    nf_counters_open(&c, NF_CTR_BIT(NF_CTR_PERF_PAGE_FAULTS) | NF_CTR_BIT(NF_CTR_RU_MINFLT));

    double first_ns = 0, fork_ns = 0, reap_ns = 0, n = 0;
    double w_ns = 0, w_flt = 0, w_perf = 0;
    bool perf = true;
    const char *msg = NULL;
    if (!cow) { /* the first fork, which write-protects the parent's PTEs */
        double t0 = nf_now_ns();
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        first_ns = nf_now_ns() - t0;
        if (pid < 0 || reap(pid) != 0)
            msg = "the first fork failed";
    }
    if (!msg) {
        NF_BENCH_LOOP(st)
        {
            if (cow) {
                cow_report rep;
                if (cow_once(fc->kind, r, bytes, &c, &rep, &msg) != 0)
                    goto out;
                nf_state_set_iteration_time(st, rep.ns * 1e-9);
                w_ns += rep.ns;
                w_flt += rep.minflt;
                if (rep.perf_faults < 0)
                    perf = false;
                w_perf += rep.perf_faults;
            } else {
                double t0 = nf_now_ns();
                pid_t pid = fork();
                if (pid == 0)
                    _exit(0);
                double t1 = nf_now_ns();
                if (pid < 0 || reap(pid) != 0) {
                    msg = pid < 0 ? "fork failed" : "the child did not exit cleanly";
                    goto out;
                }
                double t2 = nf_now_ns();
                nf_state_set_iteration_time(st, (t1 - t0) * 1e-9);
                fork_ns += t1 - t0;
                reap_ns += t2 - t0;
            }
            n += 1;
        }
    }
out:
    if (msg)
        nf_state_skip_with_error(st, msg);
    else if (n > 0 && cow) {
        nf_state_counter(st, "ns_per_page", w_ns / (n * pages), NF_COUNTER_DEFAULT);
        nf_state_counter(st, "faults_per_page", w_flt / (n * pages), NF_COUNTER_DEFAULT);
        if (perf)
            nf_state_counter(st, "perf_faults_per_page", w_perf / (n * pages), NF_COUNTER_DEFAULT);
    } else if (n > 0) {
        nf_state_counter(st, "fork_ms", fork_ns / n * 1e-6, NF_COUNTER_DEFAULT);
        nf_state_counter(st, "reap_ms", reap_ns / n * 1e-6, NF_COUNTER_DEFAULT);
        nf_state_counter(st, "first_fork_ms", first_ns * 1e-6, NF_COUNTER_DEFAULT);
        nf_state_counter(st, "fork_ns_per_page", fork_ns / (n * pages), NF_COUNTER_DEFAULT);
        if (huge && proc_rc == 0 && m0.anon_huge_kib >= 0 && m1.anon_huge_kib >= 0)
            nf_state_counter(st, "thp_confirmed", (double)(m1.anon_huge_kib - m0.anon_huge_kib) / (double)(bytes >> 10),
                             NF_COUNTER_DEFAULT);
    }
    nf_counters_close(&c);
    munmap(r, bytes);
}

/* ---- registration ---- */

static const fork_case fork_cases[] = {
    {"fork/latency", FORK_LATENCY},
    {"fork/latency_thp", FORK_LATENCY_THP},
    {"fork/cow_write/child", FORK_COW_CHILD},
    {"fork/cow_write/parent", FORK_COW_PARENT},
};

/* MemAvailable in MiB from /proc/meminfo; -1 if unreadable. */
static long long mem_available_mib(void)
{
    long long kib = nf_proc_kib("/proc/meminfo", "MemAvailable");
    return kib < 0 ? -1 : kib >> 10;
}

void nf_register_fork_benches(void)
{
    static const int64_t lat_default[] = {1, 16, 256, 1024};
    static const int64_t thp_default[] = {16, 256, 1024};
    static const int64_t cow_default[] = {16, 64};
    static const int64_t lat_full[] = {4096};
    static const int64_t cow_full[] = {256, 1024};
    const bool full = nf_benches_full();
    const long long avail = mem_available_mib();
    const char *thp = nf_thp_mode();

    for (size_t i = 0; i < sizeof fork_cases / sizeof fork_cases[0]; i++) {
        const fork_case *fc = &fork_cases[i];
        bool cow = fc->kind == FORK_COW_CHILD || fc->kind == FORK_COW_PARENT;
        if (fc->kind == FORK_LATENCY_THP && (!thp || strcmp(thp, "never") == 0)) {
            nf_context_unavailable(fc->name, thp ? "THP is 'never' in /sys/kernel/mm/transparent_hugepage/enabled"
                                                 : "cannot read /sys/kernel/mm/transparent_hugepage/enabled");
            continue;
        }
        nf_bench *b = nf_bench_register(fc->name, fork_run, (void *)fc);
        nf_bench_use_manual_time(b);
        nf_bench_unit(b, cow ? NF_UNIT_MS : NF_UNIT_US);
        nf_bench_iterations(b, cow ? COW_ITERATIONS : LATENCY_ITERATIONS);
        const int64_t *d = cow ? cow_default : fc->kind == FORK_LATENCY ? lat_default : thp_default;
        size_t nd = cow ? 2 : fc->kind == FORK_LATENCY ? 4 : 3;
        for (size_t j = 0; j < nd; j++)
            nf_bench_arg(b, d[j]);
        if (!full)
            continue;
        const int64_t *x = cow ? cow_full : lat_full;
        size_t nx = cow ? 2 : 1;
        for (size_t j = 0; j < nx; j++) {
            /* the region, the hot copy frames (COW), and room to spare */
            long long need = x[j] * (cow ? 2 : 1) + 1024;
            if (avail >= 0 && avail >= need) {
                nf_bench_arg(b, x[j]);
                continue;
            }
            char name[96], why[128];
            snprintf(name, sizeof name, "%s/%lld", fc->name, (long long)x[j]);
            snprintf(why, sizeof why, "MemAvailable %lld MiB < %lld MiB needed", avail, need);
            nf_context_unavailable(name, why);
        }
    }
}
