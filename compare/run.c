/* compare/run.c: one timed run of the worker, in its own process,
 * under LD_PRELOAD of the allocator compared (none for glibc).
 *
 *   wall_s         fork to reaping, CLOCK_MONOTONIC (process start and
 *                  exit included: the few ms a preloaded library costs)
 *   cpu_s          user + system time of the child, from wait4's rusage
 *   ops_per_s      the worker's operations over its own timed seconds
 *                  (workload start to its last round)
 *   peak_rss_kib   the worker's own VmHWM, read by it just before exit.
 *                  Not wait4's ru_maxrss: a forked child's mm starts with
 *                  its parent's high-water mark and exec keeps the larger
 *                  in ru_maxrss, so every worker of a big process (`notfree
 *                  run` at 270 MiB) reported that process's peak.
 *   final_rss_kib  the worker's /proc/self/statm after its last round
 *   minflt/majflt  ru_minflt, ru_majflt
 *   steal_s        the "steal" column of /proc/stat's cpu line, over all
 *                  CPUs, between start and end of the run
 * A run is killed (SIGKILL) when it passes its timeout: a preloaded
 * allocator can deadlock. With job.timeline, the wait for the worker's
 * output also samples its statm (timeline.h); with job.latency_every, the
 * worker samples call latencies and its extra lines are read (latency.h). */
#include "compare.h"

#include "notfree/clock.h"
#include "notfree/spawn.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Steal time of all CPUs so far, in seconds; -1 when unreadable. */
static double steal_now(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int n = 0;
    if (f) {
        n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                   &v[7]);
        fclose(f);
    }
    return n == 8 ? (double)v[7] / (double)sysconf(_SC_CLK_TCK) : -1;
}

void nf_cmp_child_env(const char *preload)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan left running if notfree dies */
    if (preload)
        setenv("LD_PRELOAD", preload, 1);
    else
        unsetenv("LD_PRELOAD");
    unsetenv("MALLOC_PERTURB_");
    unsetenv("NOTFREE_STATS");
}

void nf_cmp_argv(const nf_cmp_job *j, char **argv, size_t cap, char bufs[][64])
{
    size_t n = 0;
    snprintf(bufs[0], 64, "%u", j->threads);
    snprintf(bufs[1], 64, "%llu", j->ops);
    argv[n++] = (char *)j->worker;
    argv[n++] = j->trace ? "--trace" : "--workload";
    argv[n++] = (char *)(j->trace ? j->trace : j->workload);
    argv[n++] = "--threads";
    argv[n++] = bufs[0];
    argv[n++] = "--ops";
    argv[n++] = bufs[1];
    if (j->alloc->preload && n + 3 < cap) {
        argv[n++] = "--expect-lib";
        argv[n++] = (char *)j->alloc->path;
    }
    if (j->verify && n + 2 < cap)
        argv[n++] = "--verify";
    if (j->latency_every && n + 3 < cap) {
        snprintf(bufs[2], 64, "%u", j->latency_every);
        argv[n++] = "--latency-every";
        argv[n++] = bufs[2];
    }
    argv[n] = NULL;
}

/* The value of key in a line of key=value words, or NULL. */
static const char *field(const char *line, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = line; (p = strstr(p, key)); p += k)
        if ((p == line || p[-1] == ' ') && p[k] == '=')
            return p + k + 1;
    return NULL;
}

int nf_cmp_parse_line(const char *line, nf_cmp_result *r, unsigned long long *corrupt, unsigned long long *failed,
                      int *mapped)
{
    unsigned long long checksum;
    int n = sscanf(line, "ops=%llu checksum=%llu corrupt=%llu failed=%llu seconds=%lf final_rss_kib=%ld mapped=%d",
                   &r->ops, &checksum, corrupt, failed, &r->seconds, &r->final_rss_kib, mapped);
    const char *v = field(line, "peak_rss_kib");
    r->peak_rss_kib = v && sscanf(v, "%ld", &r->peak_rss_kib) == 1 ? r->peak_rss_kib : -1;
    v = field(line, "bad_offset");
    if (!v || sscanf(v, "%llu", &r->bad_offset) != 1)
        r->bad_offset = 0;
    v = field(line, "bad_size");
    if (!v || sscanf(v, "%llu", &r->bad_size) != 1)
        r->bad_size = 0;
    v = field(line, "t_start");
    const char *e = field(line, "t_end");
    if (!v || !e || sscanf(v, "%lf", &r->t_start) != 1 || sscanf(e, "%lf", &r->t_end) != 1)
        r->t_start = r->t_end = 0;
    return n;
}

static int timeline_due(void *tl) { return nf_cmp_timeline_due_ms(tl); }

static void timeline_tick(void *tl) { nf_cmp_timeline_tick(tl); }

/* In the child, before exec. */
static void child_env(void *preload) { nf_cmp_child_env(preload); }

/* The last non-empty line of s, trimmed, into out. */
static void last_line(const char *s, char *out, size_t len)
{
    const char *end = s + strlen(s);
    while (end > s && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    const char *start = end;
    while (start > s && start[-1] != '\n')
        start--;
    size_t n = (size_t)(end - start) < len - 1 ? (size_t)(end - start) : len - 1;
    memcpy(out, start, n);
    out[n] = '\0';
}

int nf_cmp_run(const nf_cmp_job *j, nf_cmp_result *r)
{
    memset(r, 0, sizeof *r);
    char *argv[16], bufs[3][64];
    nf_cmp_argv(j, argv, 16, bufs);
    double steal0 = steal_now(), t0 = nf_now_s();
    nf_spawn sp;
    int rc = nf_spawn_piped(&sp, j->worker, argv, child_env, j->alloc->preload ? (void *)j->alloc->path : NULL);
    if (rc == NF_SPAWN_FORK)
        snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
    if (rc != 0)
        return -1;
    pid_t pid = sp.pid;
    if (j->timeline)
        nf_cmp_timeline_start(j->timeline, pid);
    char obuf[1 << 16] = "", ebuf[4096] = ""; /* the result line and the latency histograms */
    nf_spawn_sink out = {obuf, sizeof obuf, 0}, err = {ebuf, sizeof ebuf, 0};
    nf_spawn_ticker ticker = {timeline_due, timeline_tick, j->timeline};
    double deadline = t0 + j->timeout_s;
    int timed_out = nf_spawn_drain(&sp, &out, &err, deadline, j->timeline ? &ticker : NULL) == 1;
    /* Output closed: the worker is exiting; give it what is left of its time. */
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        pid_t w = wait4(pid, &status, timed_out ? 0 : WNOHANG, &ru);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (w == 0 && nf_now_s() >= deadline) {
            timed_out = 1;
            kill(pid, SIGKILL);
        } else if (w == 0) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    r->wall_s = nf_now_s() - t0;
    double steal1 = steal_now();
    r->steal_s = steal0 >= 0 && steal1 >= steal0 ? steal1 - steal0 : 0;
    r->disturbed = r->steal_s > NF_CMP_STEAL_FRACTION * r->wall_s;
    r->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
               (double)ru.ru_stime.tv_usec * 1e-6;
    r->minflt = ru.ru_minflt;
    r->majflt = ru.ru_majflt;

    unsigned long long corrupt = 0, failed = 0;
    int mapped = 0;
    int fields = nf_cmp_parse_line(obuf, r, &corrupt, &failed, &mapped); /* peak -1 when absent */
    if (j->timeline)
        nf_cmp_timeline_stop(j->timeline, r->t_start, r->t_end);
    if (j->latency_every)
        nf_cmp_latency_parse(obuf, &r->latency);
    char last[480];
    last_line(ebuf, last, sizeof last);
    if (timed_out) {
        snprintf(r->error, sizeof r->error, "timeout: killed after %.0f s (deadlock or far too slow)", j->timeout_s);
    } else if (WIFSIGNALED(status)) {
        snprintf(r->error, sizeof r->error, "killed by signal %d (%s)%s%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), last[0] ? ": " : "", last);
    } else if (fields == 7 && corrupt > 0 && j->verify && r->bad_size) {
        snprintf(r->error, sizeof r->error,
                 "verification: %llu damaged blocks; the first changed at byte %llu of a"
                 " %llu-byte block (the allocator corrupted data)",
                 corrupt, r->bad_offset, r->bad_size);
    } else if (fields == 7 && corrupt > 0) {
        snprintf(r->error, sizeof r->error, "checksum: %llu damaged blocks (the allocator corrupted data)", corrupt);
    } else if (fields == 7 && !mapped) {
        snprintf(r->error, sizeof r->error, "%.400s", last[0] ? last : "malloc does not resolve into the library");
    } else if (fields == 7 && failed > 0) {
        snprintf(r->error, sizeof r->error, "%llu mallocs returned NULL", failed);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || fields != 7) {
        snprintf(r->error, sizeof r->error, "worker exited with status %d%s%s",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, last[0] ? ": " : "", last);
    } else {
        r->ok = 1;
    }
    r->ops_per_s = r->ok && r->seconds > 0 ? (double)r->ops / r->seconds : 0;
    return 0;
}
