/* benches/fault_scale.c: page faults when several threads of one process
 * fault at once, and the TLB shootdown munmap pays while other threads run
 * (will-it-scale's page_fault1 and tlb_flush tests are the reference).
 *
 * Glossary
 *   part       SCALE_MIB of anonymous memory one thread first-touches per
 *              iteration (one store per 4 KiB page, MADV_NOHUGEPAGE).
 *   reference  the same touch by thread 0 alone, in the same iteration,
 *              while the other threads sleep in a barrier: the one-thread
 *              rate side by side with the n-thread one, so the box's drift
 *              (minutes apart, 2x here) cancels out of the efficiency.
 *   spinner    a thread that runs in user space on its own PU, so the
 *              process's mm is live there and munmap must flush that TLB.
 *
 * fault/scale/<mode>/threads:<n>   (modes below; n threads, thread i on PU
 * base+i: notfree/pin.h)
 *   private_regions  each thread touches its own mapping (its own VMA: a
 *                    PROT_NONE guard page after each keeps the kernel from
 *                    merging neighbours). will-it-scale page_fault1.
 *   shared_region    one mapping of n parts, thread i touches part i: one
 *                    VMA shared by every faulting thread.
 *   per iteration:
 *     setup      (untimed, thread 0) mmap the parts and the reference's.
 *     reference  thread 0 alone touches the reference part, timed apart.
 *     timed      a barrier releases the n threads; each reads its counters
 *                (getrusage minflt, perf page-faults, and the PMU where
 *                there is one), clocks, touches its part, clocks, reads
 *                them again. The iteration's manual time is the wall time
 *                from the first thread's start to the last one's end.
 *     teardown   (untimed) munmap, after a second barrier.
 *   Left out of the clock: mmap and munmap (will-it-scale times them too;
 *   here the munmap cost is fault/munmap_shootdown's figure).
 *   counters:
 *     faults_per_s             all threads' faults (getrusage minflt) per
 *                              second of wall time
 *     faults_per_s_per_thread  the same / n
 *     ns_per_page              a thread's own time per page it faulted
 *                              (mean over threads): the cost of one fault
 *                              as the faulting thread sees it
 *     cpu_ns_per_page          the CPU time a thread was charged per page
 *                              (CLOCK_THREAD_CPUTIME_ID): what a fault
 *                              costs when other processes take the PU too
 *     thread_cpu_share         the threads' CPU time (CLOCK_THREAD_CPUTIME_ID)
 *                              over their wall time while touching: under 1
 *                              when a thread waited for its PU (a loaded
 *                              box) or the hypervisor took the time
 *     faults_per_page, faults_per_page_{min,max}_thread
 *                              1.00 for every thread (kernel accounting)
 *     perf_faults_per_page     the perf software event, where it opens
 *     ref_1thread_faults_per_s the reference's rate
 *     scaling_efficiency       faults_per_s / (n * ref_1thread_faults_per_s):
 *                              1 = perfect scaling, 1/n = none. At n = 1 it
 *                              shows the method's own noise.
 *     hw_<event>_per_page      where the box has a PMU (counters_tally.h)
 *
 * fault/munmap_shootdown/threads:<n>
 *   per iteration: thread 0 maps 2 * SHOOT_PAGES pages, populates them
 *   (MADV_POPULATE_WRITE) and writes each (untimed); reference: munmaps the first SHOOT_PAGES one page
 *   per call while the n-1 others sleep; timed: the others spin on their PUs
 *   (thread 0 waits until all spin) and thread 0 munmaps the other
 *   SHOOT_PAGES one page per call. Manual time: that loop.
 *   counters: ns_per_munmap, ref_ns_per_munmap (others asleep),
 *   shootdown_cost_ratio (= the two's ratio; 1 at n = 1),
 *   tlb_shootdowns_per_munmap (the "TLB:" line of /proc/interrupts summed
 *   over CPUs, around the timed loop: kernel accounting; it counts IPIs the
 *   box handled, other processes' too, so read it as an upper bound),
 *   hw_<event>_per_munmap where the box has a PMU.
 *
 * Threads: 1 and 2 by default (2-3 s per instance on this box, loaded); with
 * --full every n from 1 to the PU count (past 8: powers of two and the
 * PU count). A thread count the box has no PUs for is not registered and is
 * listed as unavailable.
 */
#include "registry.h"
#include "region.h"

#include "notfree/bench.h"
#include "notfree/clock.h"
#include "notfree/context.h"
#include "notfree/counters.h"
#include "notfree/counters_tally.h"
#include "notfree/pin.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

enum {
    SCALE_MIB = 16,         /* one thread's part */
    SHOOT_PAGES = 256,      /* munmaps per phase of a shootdown iteration */
    FULL_EVERY_N_UP_TO = 8, /* --full: every n up to here, then powers of two */
};

#define SCALE_BYTES ((size_t)SCALE_MIB << 20)
#define SCALE_PAGES (SCALE_BYTES / NF_REGION_PAGE)

typedef enum scale_mode { SM_PRIVATE, SM_SHARED, SM_SHOOTDOWN } scale_mode;

static const char *const mode_names[] = {
    [SM_PRIVATE] = "fault/scale/private_regions",
    [SM_SHARED] = "fault/scale/shared_region",
    [SM_SHOOTDOWN] = "fault/munmap_shootdown",
};

typedef struct scale_case {
    scale_mode mode;
    int threads;
} scale_case;

/* One thread's share of a run. Written by its own thread during a phase,
 * read by thread 0 after the `done` barrier; padded apart (will-it-scale's
 * rule) so the threads' stores do not share a line. */
typedef struct scale_slot {
    _Alignas(128) char *part; /* what this thread touches this iteration */
    double t0, t1;            /* this iteration's touch, ns */
    double busy_ns, cpu_ns;   /* summed over the run: wall and CPU time */
    double pages;
    nf_ctr_tally tally; /* opened on the thread itself */
    int pin_failed;
} scale_slot;

/* A run: thread 0 (the bench body) plus n-1 workers, stepping through
 * iterations together at the `go` and `done` barriers. */
typedef struct scale_run {
    scale_mode mode;
    int n;
    pthread_barrier_t go, done;
    atomic_int quit;
    pthread_mutex_t gate_lock; /* the gate: workers wait in it until */
    pthread_cond_t gate_cond;  /* every one was created (gate = 1) or */
    int gate;                  /* one could not be (gate = -1: leave) */
    atomic_int spinning;       /* shootdown: workers spinning now */
    atomic_int stop_spin;      /* shootdown: thread 0 is done */
    scale_slot *slot;          /* n of them */
} scale_run;

/* Each thread's counters: kernel accounting plus the PMU where it exists. */
#define SCALE_COUNTERS (NF_CTR_BIT(NF_CTR_RU_MINFLT) | NF_CTR_BIT(NF_CTR_PERF_PAGE_FAULTS) | NF_CTR_SET_BENCH_HW)

static void touch_part(scale_slot *s)
{
    nf_ctr_tally_start(&s->tally);
    double c0 = nf_thread_cpu_ns();
    s->t0 = nf_now_ns();
    nf_region_touch_write(s->part, SCALE_BYTES, NF_REGION_PAGE);
    s->t1 = nf_now_ns();
    double c1 = nf_thread_cpu_ns();
    nf_ctr_tally_stop(&s->tally);
    s->busy_ns += s->t1 - s->t0;
    s->cpu_ns += c1 - c0;
    s->pages += (double)SCALE_PAGES;
}

static void spin_until_stopped(scale_run *r)
{
    atomic_fetch_add(&r->spinning, 1);
    while (!atomic_load_explicit(&r->stop_spin, memory_order_relaxed))
        __asm__ volatile("" ::: "memory");
}

typedef struct worker_arg {
    scale_run *r;
    int index;
} worker_arg;

static void *worker_main(void *p)
{
    worker_arg *a = p;
    scale_run *r = a->r;
    scale_slot *s = &r->slot[a->index];
    char err[160];
    if (nf_pin_thread(a->index, err, sizeof err) != 0)
        s->pin_failed = 1;
    nf_ctr_tally_open(&s->tally, SCALE_COUNTERS);
    pthread_mutex_lock(&r->gate_lock);
    while (r->gate == 0)
        pthread_cond_wait(&r->gate_cond, &r->gate_lock);
    int gate = r->gate;
    pthread_mutex_unlock(&r->gate_lock);
    if (gate < 0) {
        nf_ctr_tally_close(&s->tally);
        return NULL;
    }
    pthread_barrier_wait(&r->done); /* ready */
    for (;;) {
        pthread_barrier_wait(&r->go);
        if (atomic_load(&r->quit))
            break;
        if (r->mode == SM_SHOOTDOWN)
            spin_until_stopped(r);
        else
            touch_part(s);
        pthread_barrier_wait(&r->done);
    }
    nf_ctr_tally_close(&s->tally);
    return NULL;
}

/* ---- the /proc/interrupts TLB line ---- */

/* The sum over CPUs of the "TLB:" line (TLB shootdown IPIs), -1 when the
 * file or the line is missing. */
static long long tlb_shootdowns(void)
{
    FILE *f = fopen("/proc/interrupts", "r");
    if (!f)
        return -1;
    char line[4096];
    long long sum = -1;
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (*p == ' ')
            p++;
        if (strncmp(p, "TLB:", 4) != 0)
            continue;
        p += 4;
        sum = 0;
        for (;;) {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p)
                break;
            sum += v;
            p = end;
        }
        break;
    }
    fclose(f);
    return sum;
}

/* ---- the two families' iterations (thread 0) ---- */

typedef struct scale_tally {
    double wall_ns, ref_ns, ref_pages, ref_faults, iterations;
    double munmaps, shootdowns;
    bool shootdowns_known;
    nf_ctr_tally ref; /* thread 0's reference phase (faults) */
} scale_tally;

/* Maps `bytes` plus a PROT_NONE guard page after them, so no neighbour
 * merges into the same VMA. NULL on failure; unmap bytes + one page. */
static char *map_guarded(size_t bytes)
{
    char *p = nf_region_map(bytes + NF_REGION_PAGE, false, 0);
    if (p && mprotect(p + bytes, NF_REGION_PAGE, PROT_NONE) != 0) {
        munmap(p, bytes + NF_REGION_PAGE);
        return NULL;
    }
    return p;
}

/* One iteration of fault/scale; 0, or -1 when a mapping failed. */
static int scale_iteration(scale_run *r, scale_tally *t, nf_state *st)
{
    const int n = r->n;
    char *shared = NULL, *ref = map_guarded(SCALE_BYTES);
    if (!ref)
        return -1;
    if (r->mode == SM_SHARED) {
        shared = nf_region_map((size_t)n * SCALE_BYTES, false, 0);
        if (!shared) {
            munmap(ref, SCALE_BYTES + NF_REGION_PAGE);
            return -1;
        }
    }
    int mapped = 0;
    for (int i = 0; i < n; i++) {
        r->slot[i].part = shared ? shared + (size_t)i * SCALE_BYTES : map_guarded(SCALE_BYTES);
        if (!r->slot[i].part)
            break;
        mapped++;
    }
    int rc = 0;
    if (mapped == n) {
        /* the reference: thread 0 alone, the others asleep in `go` */
        nf_ctr_tally_start(&t->ref);
        double a = nf_now_ns();
        nf_region_touch_write(ref, SCALE_BYTES, NF_REGION_PAGE);
        double b = nf_now_ns();
        nf_ctr_tally_stop(&t->ref);
        t->ref_ns += b - a;
        t->ref_pages += (double)SCALE_PAGES;

        pthread_barrier_wait(&r->go);
        touch_part(&r->slot[0]);
        pthread_barrier_wait(&r->done);
        double first = r->slot[0].t0, last = r->slot[0].t1;
        for (int i = 1; i < n; i++) {
            first = fmin(first, r->slot[i].t0);
            last = fmax(last, r->slot[i].t1);
        }
        nf_state_set_iteration_time(st, (last - first) * 1e-9);
        t->wall_ns += last - first;
        t->iterations += 1;
    } else {
        rc = -1;
    }
    for (int i = 0; i < mapped && !shared; i++)
        munmap(r->slot[i].part, SCALE_BYTES + NF_REGION_PAGE);
    if (shared)
        munmap(shared, (size_t)n * SCALE_BYTES);
    munmap(ref, SCALE_BYTES + NF_REGION_PAGE);
    return rc;
}

/* munmap of `pages` single pages from p on; the ns it took. */
static double unmap_each(char *p, size_t pages)
{
    double a = nf_now_ns();
    for (size_t i = 0; i < pages; i++)
        munmap(p + i * NF_REGION_PAGE, NF_REGION_PAGE);
    return nf_now_ns() - a;
}

/* One iteration of fault/munmap_shootdown; 0, or -1 when mmap failed. */
static int shootdown_iteration(scale_run *r, scale_tally *t, nf_state *st)
{
    const size_t bytes = 2 * (size_t)SHOOT_PAGES * NF_REGION_PAGE;
    /* MADV_POPULATE_WRITE after MADV_NOHUGEPAGE (MAP_POPULATE would fill
     * before the madvise, in huge pages on a THP `always` box); where it
     * fails (Linux < 5.14) the touch below faults the pages instead. */
    char *p = nf_region_map(bytes, false, 0);
    if (!p)
        return -1;
    madvise(p, bytes, MADV_POPULATE_WRITE);
    nf_region_touch_write(p, bytes, NF_REGION_PAGE); /* in the TLB, dirty */
    t->ref_ns += unmap_each(p, SHOOT_PAGES);         /* others asleep */

    atomic_store(&r->spinning, 0);
    atomic_store(&r->stop_spin, 0);
    pthread_barrier_wait(&r->go);
    while (atomic_load(&r->spinning) < r->n - 1)
        __asm__ volatile("" ::: "memory");
    long long s0 = tlb_shootdowns();
    nf_ctr_tally_start(&r->slot[0].tally);
    double ns = unmap_each(p + (size_t)SHOOT_PAGES * NF_REGION_PAGE, SHOOT_PAGES);
    nf_ctr_tally_stop(&r->slot[0].tally);
    long long s1 = tlb_shootdowns();
    atomic_store(&r->stop_spin, 1);
    pthread_barrier_wait(&r->done);

    nf_state_set_iteration_time(st, ns * 1e-9);
    t->wall_ns += ns;
    t->munmaps += SHOOT_PAGES;
    t->iterations += 1;
    if (s0 >= 0 && s1 >= s0)
        t->shootdowns += (double)(s1 - s0);
    else
        t->shootdowns_known = false;
    return 0;
}

/* ---- reporting ---- */

static void scale_report(nf_state *st, const scale_run *r, const scale_tally *t)
{
    const int n = r->n;
    nf_ctr_tally all = r->slot[0].tally;
    double busy = 0, cpu = 0, pages = 0, fpp_min = INFINITY, fpp_max = -INFINITY;
    for (int i = 0; i < n; i++) {
        const scale_slot *s = &r->slot[i];
        if (i)
            nf_ctr_tally_merge(&all, &s->tally);
        busy += s->busy_ns;
        cpu += s->cpu_ns;
        pages += s->pages;
        double fpp = nf_ctr_tally_per(&s->tally, NF_CTR_RU_MINFLT, s->pages);
        fpp_min = fmin(fpp_min, fpp);
        fpp_max = fmax(fpp_max, fpp);
    }
    double faults = all.sum[NF_CTR_RU_MINFLT];
    double rate = faults / (t->wall_ns * 1e-9);
    double ref_rate = t->ref.sum[NF_CTR_RU_MINFLT] / (t->ref_ns * 1e-9);
    nf_state_counter(st, "faults_per_s", rate, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "faults_per_s_per_thread", rate / n, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "ns_per_page", busy / pages, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "faults_per_page", faults / pages, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "faults_per_page_min_thread", fpp_min, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "faults_per_page_max_thread", fpp_max, NF_COUNTER_DEFAULT);
    double perf = nf_ctr_tally_per(&all, NF_CTR_PERF_PAGE_FAULTS, pages);
    if (!isnan(perf))
        nf_state_counter(st, "perf_faults_per_page", perf, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "cpu_ns_per_page", cpu / pages, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "thread_cpu_share", cpu / busy, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "ref_1thread_faults_per_s", ref_rate, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "scaling_efficiency", rate / (n * ref_rate), NF_COUNTER_DEFAULT);
    nf_ctr_tally_report_hw(st, &all, pages, "page");
}

static void shootdown_report(nf_state *st, const scale_run *r, const scale_tally *t)
{
    double ns = t->wall_ns / t->munmaps, ref = t->ref_ns / t->munmaps;
    nf_state_counter(st, "ns_per_munmap", ns, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "ref_ns_per_munmap", ref, NF_COUNTER_DEFAULT);
    nf_state_counter(st, "shootdown_cost_ratio", ns / ref, NF_COUNTER_DEFAULT);
    if (t->shootdowns_known)
        nf_state_counter(st, "tlb_shootdowns_per_munmap", t->shootdowns / t->munmaps, NF_COUNTER_DEFAULT);
    nf_ctr_tally_report_hw(st, &r->slot[0].tally, t->munmaps, "munmap");
}

/* ---- the run ---- */

/* Touch and free what a run will fault, so the host backs the frames
 * (the `hot` of fault.c). Once per process for the largest size so far:
 * the runs follow each other, each keeping the frames hot for the next, and
 * libbenchmark calls a body two or three times while it sizes the run. */
static void prewarm(size_t bytes)
{
    static size_t done; /* the bench body runs on one thread at a time */
    if (bytes <= done)
        return;
    done = bytes;
    char *w = nf_region_map(bytes, false, 0);
    if (w) {
        nf_region_touch_write(w, bytes, NF_REGION_PAGE);
        munmap(w, bytes);
    }
}

static void scale_bench(nf_state *st, void *user)
{
    const scale_case *sc = user;
    const int n = sc->threads;
    scale_run r;
    memset(&r, 0, sizeof r);
    r.mode = sc->mode;
    r.n = n;
    r.slot = aligned_alloc(128, (size_t)n * sizeof *r.slot);
    pthread_t *tid = calloc((size_t)n, sizeof *tid);
    worker_arg *args = calloc((size_t)n, sizeof *args);
    if (!r.slot || !tid || !args) {
        free(r.slot), free(tid), free(args);
        nf_state_skip_with_error(st, "out of memory for the run's threads");
        return;
    }
    memset(r.slot, 0, (size_t)n * sizeof *r.slot);
    pthread_mutex_init(&r.gate_lock, NULL);
    pthread_cond_init(&r.gate_cond, NULL);
    pthread_barrier_init(&r.go, NULL, (unsigned)n);
    pthread_barrier_init(&r.done, NULL, (unsigned)n);
    nf_ctr_tally_open(&r.slot[0].tally, SCALE_COUNTERS);
    scale_tally t;
    memset(&t, 0, sizeof t);
    t.shootdowns_known = true;
    nf_ctr_tally_open(&t.ref, NF_CTR_BIT(NF_CTR_RU_MINFLT));

    int started = 1;
    for (int i = 1; i < n; i++, started++) {
        args[i] = (worker_arg){&r, i};
        if (pthread_create(&tid[i], NULL, worker_main, &args[i]) != 0)
            break;
    }
    /* The barriers count n: with fewer threads they would wait forever,
     * so the workers wait at the gate until all n exist. */
    pthread_mutex_lock(&r.gate_lock);
    r.gate = started < n ? -1 : 1;
    pthread_cond_broadcast(&r.gate_cond);
    pthread_mutex_unlock(&r.gate_lock);
    if (started < n) {
        for (int i = 1; i < started; i++)
            pthread_join(tid[i], NULL);
        nf_state_skip_with_error(st, "pthread_create failed");
        goto out_nothreads;
    }
    pthread_barrier_wait(&r.done); /* every worker pinned, counters open */
    bool pinned = true;
    for (int i = 1; i < n; i++)
        pinned = pinned && !r.slot[i].pin_failed;
    if (!pinned) {
        nf_state_skip_with_error(st, "pinning a worker thread failed");
        goto out;
    }
    if (sc->mode != SM_SHOOTDOWN)
        prewarm((size_t)(n + 1) * SCALE_BYTES);

    NF_BENCH_LOOP(st)
    {
        int rc = sc->mode == SM_SHOOTDOWN ? shootdown_iteration(&r, &t, st) : scale_iteration(&r, &t, st);
        if (rc != 0) {
            nf_state_skip_with_error(st, "mmap of the regions failed");
            goto out;
        }
    }
    if (t.iterations > 0) {
        /* the workers sleep in `go`: their slots are stable to read */
        if (sc->mode == SM_SHOOTDOWN)
            shootdown_report(st, &r, &t);
        else
            scale_report(st, &r, &t);
    }
out:
    atomic_store(&r.quit, 1);
    pthread_barrier_wait(&r.go);
    for (int i = 1; i < n; i++)
        pthread_join(tid[i], NULL);
out_nothreads:
    nf_ctr_tally_close(&r.slot[0].tally);
    nf_ctr_tally_close(&t.ref);
    pthread_barrier_destroy(&r.go);
    pthread_barrier_destroy(&r.done);
    pthread_cond_destroy(&r.gate_cond);
    pthread_mutex_destroy(&r.gate_lock);
    free(r.slot), free(tid), free(args);
}

/* ---- registration ---- */

/* The thread counts to register, ascending, into out (at most cap). */
static int thread_counts(int pus, bool full, int *out, int cap)
{
    int k = 0;
    if (!full) {
        for (int n = 1; n <= 2 && n <= pus && k < cap; n++)
            out[k++] = n;
        return k;
    }
    for (int n = 1; n <= pus && k < cap; n = n < FULL_EVERY_N_UP_TO ? n + 1 : n * 2)
        out[k++] = n;
    if (k < cap && out[k - 1] != pus)
        out[k++] = pus;
    return k;
}

void nf_register_fault_scale_benches(void)
{
    char err[256];
    int pus = nf_pin_init(err, sizeof err) == 0 ? nf_pin_pu_count() : 1;
    if (pus < 1)
        pus = 1;
    int counts[64];
    int k = thread_counts(pus, nf_benches_full(), counts, 64);
    /* Lives as long as the process, as the registrations do. */
    scale_case *cases = calloc(3 * (size_t)k, sizeof *cases);
    if (!cases) {
        fprintf(stderr, "notfree: fault/scale: out of memory at registration\n");
        abort();
    }
    for (int m = 0; m < 3; m++) {
        for (int j = 0; j < k; j++) {
            scale_case *c = &cases[m * k + j];
            *c = (scale_case){(scale_mode)m, counts[j]};
            char name[96];
            snprintf(name, sizeof name, "%s/threads:%d", mode_names[m], counts[j]);
            nf_bench *b = nf_bench_register(name, scale_bench, c);
            nf_bench_use_manual_time(b);
            nf_bench_unit(b, NF_UNIT_MS);
        }
        if (!nf_benches_full() && pus < 2) {
            char name[96], why[96];
            snprintf(name, sizeof name, "%s/threads:2", mode_names[m]);
            snprintf(why, sizeof why, "%d PU: each thread needs a PU of its own", pus);
            nf_context_unavailable(name, why);
        }
    }
    if (tlb_shootdowns() < 0)
        nf_context_unavailable("fault/munmap_shootdown:tlb_shootdowns_per_munmap", "/proc/interrupts has no TLB line");
}
