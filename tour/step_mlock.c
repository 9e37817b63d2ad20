/* tour/step_mlock.c: step 10, mlock. In a child: faults taken by mlock
 * itself and none at the first touch after it, VmLck, RLIMIT_MEMLOCK (and
 * whether it binds: root's CAP_IPC_LOCK bypasses it, so a child that
 * dropped to nobody tries to lock more than the limit), and
 * mlockall(MCL_CURRENT | MCL_FUTURE) populating a later mapping. */
#include "tour.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

enum { NPAGES = 1024 }; /* 4 MiB: under the usual 8 MiB RLIMIT_MEMLOCK */

static void child(void *arg, int fd)
{
    (void)arg;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = NPAGES * page;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise(p, len, MADV_NOHUGEPAGE);
    long lck0 = nf_tour_status_kib(0, "VmLck");
    long f0 = nf_tour_minflt();
    int rc = mlock(p, len);
    long f1 = nf_tour_minflt();
    for (size_t i = 0; i < len; i += page)
        p[i] = 1;
    long f2 = nf_tour_minflt();
    nf_tour_out(fd, "mlock_rc=%d mlock_faults=%ld touch_faults=%ld vmlck_delta=%ld\n", rc, f1 - f0, f2 - f1,
                nf_tour_status_kib(0, "VmLck") - lck0);
    munlock(p, len);
    /* MCL_FUTURE: a later mapping is populated at mmap time. */
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
        nf_tour_out(fd, "mlockall_errno=%d\n", errno);
        return;
    }
    long g0 = nf_tour_minflt();
    char *q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long g1 = nf_tour_minflt();
    for (size_t i = 0; i < len; i += page)
        q[i] = 1;
    long g2 = nf_tour_minflt();
    nf_tour_out(fd, "future_map_faults=%ld future_touch_faults=%ld\n", g1 - g0, g2 - g1);
    munlockall();
}

/* As nobody (no CAP_IPC_LOCK), mlock of twice RLIMIT_MEMLOCK must fail. */
static void child_unprivileged(void *arg, int fd)
{
    (void)arg;
    struct rlimit rl;
    getrlimit(RLIMIT_MEMLOCK, &rl);
    if (getuid() == 0 && setuid(65534) != 0) {
        nf_tour_out(fd, "setuid_failed=1\n");
        return;
    }
    size_t len = rl.rlim_cur == RLIM_INFINITY ? 0 : (size_t)rl.rlim_cur * 2;
    if (len == 0) {
        nf_tour_out(fd, "unlimited=1\n");
        return;
    }
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int rc = mlock(p, len);
    nf_tour_out(fd, "over_limit_rc=%d over_limit_errno=%d\n", rc, rc ? errno : 0);
}

void nf_tour_step_mlock(nf_tour_run *r)
{
    char out[1024], out2[256];
    struct rlimit rl;
    getrlimit(RLIMIT_MEMLOCK, &rl);
    nf_tour_did(r,
                "a child maps %d pages, mlocks them (faults counted), touches them; then mlockall(MCL_CURRENT | "
                "MCL_FUTURE) and a new %d-page mapping",
                NPAGES, NPAGES);
    int st = nf_tour_child(child, NULL, NULL, 60, out, sizeof out);
    if (st != 0 || nf_tour_get(out, "mlock_rc") != 0) {
        nf_tour_skip(r, "mlock failed in the child (status %d): %s", st, out);
        return;
    }
    double mf = nf_tour_get(out, "mlock_faults"), tf = nf_tour_get(out, "touch_faults");
    nf_tour_figure(r, "faults_during_mlock", mf, "faults", "rusage");
    nf_tour_figure(r, "faults_at_first_touch_after", tf, "faults", "rusage");
    nf_tour_figure(r, "vmlck_growth", nf_tour_get(out, "vmlck_delta"), "KiB", "proc");
    nf_tour_figure(r, "rlimit_memlock", rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur / 1024, "KiB",
                   "getrlimit");
    nf_tour_figure(r, "mcl_future_faults_in_mmap", nf_tour_get(out, "future_map_faults"), "faults", "rusage");
    nf_tour_figure(r, "mcl_future_faults_at_touch", nf_tour_get(out, "future_touch_faults"), "faults", "rusage");
    nf_tour_invariant(r, "faults_before_first_touch", mf >= NPAGES && tf == 0,
                      "%.0f faults in mlock for %d pages, %.0f at the first touch", mf, NPAGES, tf);
    nf_tour_did(r, "a second child drops to uid nobody (no CAP_IPC_LOCK) and mlocks twice RLIMIT_MEMLOCK");
    int st2 = nf_tour_child(child_unprivileged, NULL, NULL, 30, out2, sizeof out2);
    double over = nf_tour_get(out2, "over_limit_rc");
    nf_tour_figure(r, "over_limit_mlock_failed", st2 == 0 && over == over ? (over != 0) : NAN, "bool", "mlock");
    int binds = st2 == 0 && over == -1;
    int holds = mf >= NPAGES && tf == 0 && nf_tour_get(out, "vmlck_delta") >= NPAGES * 4 &&
                nf_tour_get(out, "future_touch_faults") == 0;
    nf_tour_verdict(r, holds ? (getuid() == 0 ? NF_TOUR_NUANCE : NF_TOUR_HOLDS) : NF_TOUR_NOT_HERE,
                    "mlock took %.0f faults for %d pages and the first touch %.0f; VmLck grew %.0f KiB; under "
                    "MCL_FUTURE a new mapping faulted %.0f times in mmap and %.0f at touch; RLIMIT_MEMLOCK %s%s",
                    mf, NPAGES, tf, nf_tour_get(out, "vmlck_delta"), nf_tour_get(out, "future_map_faults"),
                    nf_tour_get(out, "future_touch_faults"),
                    binds ? "refused twice the limit to an unprivileged child" : "was not shown to bind",
                    getuid() == 0 ? ", but root (CAP_IPC_LOCK) is not bound by it" : "");
}
