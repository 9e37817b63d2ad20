/* tour/step_stack.c: step 12, the stack. A child recurses with a 4 KiB
 * frame until it hits the guard gap below RLIMIT_STACK; SIGSEGV is
 * caught on an alternate stack, which reports the depth and the growth
 * faults (rusage) taken on the way. */
#include "tour.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile long depth;
static volatile long never = -1; /* a stop the compiler cannot see through */
static volatile uintptr_t frame1, frame2;
static long faults_at_start;
static int out_fd;
static char altstack[64 * 1024];

static void on_segv(int sig)
{
    (void)sig;
    /* Dying: the formatting here is not async-signal-safe, but nothing
     * else runs in this process any more. */
    nf_tour_out(out_fd, "depth=%ld stride=%ld growth_faults=%ld\n", depth, (long)(frame1 - frame2),
                nf_tour_minflt() - faults_at_start);
    _exit(0);
}

static __attribute__((noinline)) long recurse(long n)
{
    volatile char frame[4096];
    frame[0] = (char)n;
    depth = n;
    if (n == 1)
        frame1 = (uintptr_t)frame;
    else if (n == 2)
        frame2 = (uintptr_t)frame;
    if (n == never)
        return 0;
    return recurse(n + 1) + frame[0]; /* not a tail call */
}

static void child(void *arg, int fd)
{
    (void)arg;
    out_fd = fd;
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa = {0};
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    faults_at_start = nf_tour_minflt();
    recurse(1);
}

void nf_tour_step_stack(nf_tour_run *r)
{
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (256u << 20)) {
        nf_tour_skip(r, "RLIMIT_STACK is %s: the recursion would not meet a guard page within a few seconds",
                     rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "over 256 MiB");
        return;
    }
    char out[256];
    nf_tour_did(r, "a child recurses with a 4 KiB frame until SIGSEGV, caught on an alternate stack");
    int st = nf_tour_child(child, NULL, NULL, 30, out, sizeof out);
    double d = nf_tour_get(out, "depth"), stride = nf_tour_get(out, "stride"), gf = nf_tour_get(out, "growth_faults");
    if (st != 0 || d != d) {
        nf_tour_skip(r, "the child did not report a depth (status %d): %s", st, out);
        return;
    }
    double lim = (double)rl.rlim_cur;
    nf_tour_figure(r, "rlimit_stack", lim / 1024, "KiB", "getrlimit");
    nf_tour_figure(r, "depth_at_guard", d, "frames", "child");
    nf_tour_figure(r, "frame_bytes", stride, "bytes", "child");
    nf_tour_figure(r, "depth_times_frame", d * stride / 1024, "KiB", "child");
    nf_tour_figure(r, "growth_faults", gf, "faults", "rusage");
    nf_tour_figure(r, "growth_faults_per_frame", gf / d, "faults", "rusage");
    double used = d * stride / lim;
    nf_tour_invariant(r, "depth_times_frame_near_limit", used > 0.9 && used < 1.1,
                      "%.0f frames x %.0f B = %.1f%% of RLIMIT_STACK", d, stride, 100 * used);
    /* The article: 8,000 to 16,000 frames with an 8 MB stack (frames of
     * 0.5 to 1 KiB). With 4 KiB frames the same limit gives limit/frame. */
    double article_lo = 8000, article_hi = 16000;
    nf_tour_verdict_kind v = used > 0.9 && used < 1.1 ? NF_TOUR_NUANCE : NF_TOUR_NOT_HERE;
    nf_tour_verdict(r, v,
                    "a %.0f-byte frame met the guard at depth %.0f: %.0f KiB, %.1f%% of RLIMIT_STACK (%.0f KiB), "
                    "with %.2f growth faults per frame; the article's %.0f-%.0f frames hold for frames of %.0f-%.0f "
                    "bytes, the depth is the limit divided by the frame",
                    stride, d, d * stride / 1024, 100 * used, lim / 1024, gf / d, article_lo, article_hi,
                    lim / article_hi, lim / article_lo);
}
