/* tour/step_shootdown.c: step 7, a PTE change costs a TLB flush.
 *   munmap of one touched page, timed alone, with the process's only
 *     thread, then with a second thread of the process spinning on the
 *     other CPU: the kernel must interrupt that CPU to flush its TLB (the
 *     shootdown). Medians; in a child (a fresh mm).
 *   Two processes pinned to one CPU ping-pong over pipes, each sweeping
 *     its own pages (one load per page) after each switch, against one
 *     process sweeping the same pages back to back: the cost of warming
 *     the TLB (and caches) again after a switch. */
#include "tour.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notfree/clock.h"

static volatile int spin_stop;
static volatile char spin_sink;

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET((size_t)cpu, &s);
    sched_setaffinity(0, sizeof s, &s);
}

static void *spinner(void *arg)
{
    char *mem = arg;
    pin(1);
    while (!spin_stop)
        for (int i = 0; i < 16; i++)
            spin_sink += mem[i * 4096]; /* this mm stays live on CPU 1 */
    return NULL;
}

static double munmap_median(int iters)
{
    double *t = malloc((size_t)iters * sizeof *t);
    for (int i = 0; i < iters; i++) {
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p[0] = 1;
        double t0 = nf_now_ns();
        munmap(p, 4096);
        t[i] = nf_now_ns() - t0;
    }
    double m = nf_tour_median(t, (size_t)iters);
    free(t);
    return m;
}

/* mprotect to read-only of a page just written: the PTE loses its write
 * bit and the TLB entry must go (here and on every CPU the mm runs on). */
static double mprotect_median(int iters)
{
    double *t = malloc((size_t)iters * sizeof *t);
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < iters; i++) {
        mprotect(p, 4096, PROT_READ | PROT_WRITE);
        p[0] = (char)i;
        double t0 = nf_now_ns();
        mprotect(p, 4096, PROT_READ);
        t[i] = nf_now_ns() - t0;
    }
    munmap(p, 4096);
    double m = nf_tour_median(t, (size_t)iters);
    free(t);
    return m;
}

static void unmap_child(void *arg, int fd)
{
    int iters = *(const int *)arg;
    pin(0);
    double alone = munmap_median(iters), palone = mprotect_median(iters);
    char *mem = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, spinner, mem) != 0) {
        nf_tour_out(fd, "alone_ns=%.1f\n", alone);
        return;
    }
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL); /* the spinner is up on CPU 1 */
    double shared = munmap_median(iters), pshared = mprotect_median(iters);
    spin_stop = 1;
    pthread_join(th, NULL);
    nf_tour_out(fd, "alone_ns=%.1f shared_ns=%.1f mprotect_alone_ns=%.1f mprotect_shared_ns=%.1f\n", alone, shared,
                palone, pshared);
}

static double sweep(char *p, size_t pages)
{
    double t0 = nf_now_ns();
    unsigned s = 0;
    for (size_t i = 0; i < pages; i++)
        s += (unsigned char)((volatile char *)p)[i * 4096 + (i % 64) * 64];
    double t1 = nf_now_ns();
    spin_sink += (char)s;
    return (t1 - t0) / (double)pages;
}

typedef struct pp_arg {
    size_t pages;
    int rounds;
} pp_arg;

static void pingpong_child(void *arg, int fd)
{
    const pp_arg *a = arg;
    pin(0);
    char *p = mmap(NULL, a->pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    madvise(p, a->pages * 4096, MADV_NOHUGEPAGE);
    double *t = malloc((size_t)a->rounds * sizeof *t);
    sweep(p, a->pages);
    for (int i = 0; i < a->rounds; i++)
        t[i] = sweep(p, a->pages);
    double warm = nf_tour_median(t, (size_t)a->rounds);
    int ab[2], ba[2];
    if (pipe(ab) != 0 || pipe(ba) != 0)
        return;
    pid_t g = fork();
    if (g == 0) { /* the partner: its own pages, same CPU */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(ab[1]);
        close(ba[0]);
        close(fd);
        char *q =
            mmap(NULL, a->pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        char tok;
        while (read(ab[0], &tok, 1) == 1) {
            sweep(q, a->pages);
            if (write(ba[1], &tok, 1) != 1)
                break;
        }
        _exit(0);
    }
    close(ab[0]);
    close(ba[1]);
    char tok = 'x';
    for (int i = 0; i < a->rounds; i++) {
        if (write(ab[1], &tok, 1) != 1 || read(ba[0], &tok, 1) != 1)
            break;
        t[i] = sweep(p, a->pages); /* right after the partner ran */
    }
    double after = nf_tour_median(t, (size_t)a->rounds);
    close(ab[1]); /* the partner reads EOF and leaves */
    close(ba[0]);
    waitpid(g, NULL, 0);
    free(t);
    nf_tour_out(fd, "warm_ns=%.2f after_switch_ns=%.2f\n", warm, after);
}

void nf_tour_step_shootdown(nf_tour_run *r)
{
    char o1[128] = "", o2[128] = "";
    int iters = r->quick ? 500 : 3000;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double alone = NAN, shared = NAN;
    if (cpus >= 2) {
        nf_tour_did(r,
                    "a child (pinned to CPU 0) munmaps a touched page %d times alone, then %d times while a "
                    "second thread of it spins on CPU 1; median latency",
                    iters, iters);
        nf_tour_child(unmap_child, &iters, NULL, 60, o1, sizeof o1);
        alone = nf_tour_get(o1, "alone_ns");
        shared = nf_tour_get(o1, "shared_ns");
    } else {
        nf_tour_did(r, "one CPU online: no other CPU to shoot down, the munmap part is not measured");
    }
    nf_tour_figure(r, "munmap_ns_one_thread", alone, "ns", "timing");
    nf_tour_figure(r, "munmap_ns_thread_on_other_cpu", shared, "ns", "timing");
    nf_tour_figure(r, "shootdown_ratio", shared / alone, "ratio", "timing");
    double palone = nf_tour_get(o1, "mprotect_alone_ns"), pshared = nf_tour_get(o1, "mprotect_shared_ns");
    nf_tour_figure(r, "mprotect_ns_one_thread", palone, "ns", "timing");
    nf_tour_figure(r, "mprotect_ns_thread_on_other_cpu", pshared, "ns", "timing");
    nf_tour_figure(r, "mprotect_shootdown_ratio", pshared / palone, "ratio", "timing");
    pp_arg pa = {256, r->quick ? 300 : 2000};
    nf_tour_did(r,
                "two processes pinned to CPU 0 ping-pong over pipes %d times, each sweeping its own %zu pages "
                "(1 MiB) after each switch, against one process sweeping its pages back to back",
                pa.rounds, pa.pages);
    nf_tour_child(pingpong_child, &pa, NULL, 60, o2, sizeof o2);
    double warm = nf_tour_get(o2, "warm_ns"), after = nf_tour_get(o2, "after_switch_ns");
    nf_tour_figure(r, "sweep_ns_per_page_warm", warm, "ns", "timing");
    nf_tour_figure(r, "sweep_ns_per_page_after_switch", after, "ns", "timing");
    nf_tour_figure(r, "rewarm_ratio", after / warm, "ratio", "timing");
    if (alone != alone && warm != warm) {
        nf_tour_skip(r, "neither part could run: %s %s", o1, o2);
        return;
    }
    /* Holds when munmap or mprotect with a thread on another CPU costs
     * clearly more (1.2x) than alone; a nuance when only the re-warm
     * after a switch shows (1.2x). */
    int shoot = shared > 1.2 * alone || pshared > 1.2 * palone, rewarm = after > 1.2 * warm;
    nf_tour_verdict_kind v = shoot ? NF_TOUR_HOLDS : rewarm ? NF_TOUR_NUANCE : NF_TOUR_NOT_HERE;
    nf_tour_verdict(r, v,
                    "munmap of one page took %.0f ns alone and %.0f ns with a thread on the other CPU (%.2fx), "
                    "mprotect to read-only %.0f and %.0f ns (%.2fx)%s; after a switch to another process a sweep of "
                    "256 pages cost %.1f ns per page against %.1f warm (%.2fx)",
                    alone, shared, shared / alone, palone, pshared, pshared / palone,
                    shoot ? ": the shootdown interrupt"
                          : ": no shootdown cost stands out from what the calls cost here by themselves",
                    after, warm, after / warm);
}
