/* tour/step_oom.c: step 9, the OOM killer, never the box's own: a child
 * in a memory cgroup (refused without one) grows 1 MiB at a time, each
 * page touched, reporting its /proc/self/oom_score, until the kernel
 * kills it. Handlers for the catchable signals would report if they ran. */
#include "tour.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int out_fd;

static void on_signal(int sig) { nf_tour_out(out_fd, "handler_ran=%d\n", sig); }

static void grower(void *arg, int fd)
{
    size_t max = *(const size_t *)arg, page = (size_t)sysconf(_SC_PAGESIZE);
    out_fd = fd;
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGBUS, SIGSEGV};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], on_signal);
    for (size_t mib = 1; mib <= max; mib++) {
        char *p = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            nf_tour_out(fd, "mmap_failed=1\n");
            return;
        }
        for (size_t off = 0; off < (1u << 20); off += page)
            p[off] = 1;
        char score[32] = "-1";
        FILE *f = fopen("/proc/self/oom_score", "r");
        if (f) {
            if (!fgets(score, sizeof score, f))
                score[0] = '\0';
            fclose(f);
        }
        nf_tour_out(fd, "mib=%zu score=%ld\n", mib, strtol(score, NULL, 10));
    }
    nf_tour_out(fd, "survived=1\n");
}

void nf_tour_step_oom(nf_tour_run *r)
{
    size_t limit = r->quick ? (32u << 20) : (64u << 20), max = 4 * (limit >> 20);
    nf_tour_cgroup cg;
    char why[256], out[8192];
    if (nf_tour_cgroup_make(&cg, "oom", limit, why, sizeof why) != 0) {
        nf_tour_skip(r, "refused: the OOM step runs only inside a memory cgroup, never against the box (%s)", why);
        return;
    }
    long before = nf_tour_cgroup_oom_kills(&cg);
    long adj = (long)nf_tour_read_ll("/proc/self/oom_score_adj"); /* inherited by the child */
    nf_tour_did(r,
                "memory cgroup v%d limited to %zu MiB; a child grows 1 MiB at a time (each page touched), "
                "reading /proc/self/oom_score, up to %zu MiB",
                cg.version, limit >> 20, max);
    int st = nf_tour_child(grower, &max, &cg, 60, out, sizeof out);
    long after = nf_tour_cgroup_oom_kills(&cg);
    nf_tour_cgroup_remove(&cg);
    int killed = st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    int shell_status = st < 0 ? -1 : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
    double reached = nf_tour_get_last(out, "mib"), s0 = nf_tour_get(out, "score"), s1 = nf_tour_get_last(out, "score");
    double handler = nf_tour_get(out, "handler_ran");
    nf_tour_figure(r, "killed_by_sigkill", killed, "bool", "wait status");
    nf_tour_figure(r, "shell_exit_status", shell_status, "status", "wait status");
    nf_tour_figure(r, "mib_reached", reached, "MiB", "child");
    nf_tour_figure(r, "oom_score_first", s0, "score", "proc");
    nf_tour_figure(r, "oom_score_last", s1, "score", "proc");
    nf_tour_figure(r, "oom_score_adj", (double)adj, "adj", "proc");
    nf_tour_figure(r, "cgroup_oom_kill_delta", before >= 0 && after >= 0 ? (double)(after - before) : NAN, "kills",
                   "cgroup");
    nf_tour_figure(r, "handler_ran", handler == handler, "bool", "child");
    nf_tour_invariant(r, "sigkill_and_one_kill", killed && after - before == 1,
                      "status %d (signal %d), cgroup oom_kill %ld -> %ld", shell_status,
                      st >= 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0, before, after);
    int holds = killed && after - before == 1 && handler != handler;
    nf_tour_verdict(r, holds ? NF_TOUR_HOLDS : NF_TOUR_NOT_HERE,
                    "the child reached %.0f MiB under a %zu MiB limit and ended by signal %d (status %d as a shell "
                    "says it) with %s; the cgroup's oom_kill went %ld -> %ld; its oom_score rose %.0f -> %.0f "
                    "(as /proc reports it, oom_score_adj %ld)",
                    reached, limit >> 20, st >= 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0, shell_status,
                    handler == handler ? "a handler running" : "no handler run", before, after, s0, s1, adj);
}
