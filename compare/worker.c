/* compare/worker.c: notfree-workload, the program `notfree compare`
 * runs once per measurement, under LD_PRELOAD of the allocator compared.
 * It runs one workload through the process's plain malloc and free
 * (nf_mem_libc), so whatever the preload put in place serves it, then
 * prints one line on stdout:
 *
 *   ops=<n> checksum=<n> corrupt=<n> failed=<n> seconds=<s> final_rss_kib=<n> mapped=<0|1>
 *   peak_rss_kib=<n> bad_offset=<n> bad_size=<n>
 *
 *   seconds        the workload from the start of its threads to the end
 *                  of its last round (CLOCK_MONOTONIC)
 *   final_rss_kib  /proc/self/statm after the last round, the workload's
 *                  blocks still live (before the final cleanup)
 *   mapped         1 when malloc resolves into the library --expect-lib
 *                  names (dlsym(RTLD_DEFAULT) then dladdr: the malloc this
 *                  program's calls bind to), or no --expect-lib was given
 *   peak_rss_kib   VmHWM of /proc/self/status just before exit: this
 *                  process's own high-water mark since exec. Not the
 *                  parent's ru_maxrss, which also counts the pre-exec copy
 *                  of whatever process forked the worker (its whole RSS
 *                  when that is a big `notfree run`); -1 when unreadable
 *   bad_offset, bad_size   with --verify, the first damaged block: its
 *                  first changed byte and its size (0 0 when none)
 *   t_start, t_end the workload's window on CLOCK_MONOTONIC (s), the clock
 *                  the parent's RSS samples are taken on (timeline.c)
 *   block_size     the one block size of a NAME:SIZE workload (small-churn:64),
 *                  0 when the workload chose its own sizes
 *
 * --latency-every N samples one malloc and one free call in N (on average)
 * and prints three more lines (lat_sampler.h): their histograms.
 *
 * --verify fills and checks every byte of every block (the verification
 * run, untimed). --trace FILE runs a recorded trace instead of a workload
 * (compare/trace.c): --threads copies at once, --ops and --round unused;
 * seconds is the slowest copy's replay, final_rss_kib is read when every
 * copy has replayed, the blocks the program never freed still live.
 * --whoami PATH answers "is PATH the malloc?" (owner.h) and exits: the
 * check `notfree compare` and `notfree check` share.
 *
 * getppid, called just before the workload starts and after its last
 * round, marks the window the system-call counter counts (syscalls.c).
 *
 * Exit: 0 ok; 1 the checksum found damaged blocks or a malloc failed;
 * 2 bad flags; 3 malloc does not resolve into the expected library (the
 * reason on stderr). */
#include "lat_sampler.h"
#include "owner.h"

#include "notfree/clock.h"
#include "notfree/trace.h"
#include "notfree/workload.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* VmHWM of /proc/self/status in KiB, or -1. */
static long hwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* Does malloc, as this program's calls bind to it, live in path? A
 * library that is preloaded but defines no malloc (libz) leaves it in
 * libc: say where it is instead (why). */
static int malloc_in(const char *path, char *why, size_t len)
{
    char where[PATH_MAX * 2 + 64];
    if (nf_malloc_in(path, where, sizeof where))
        return 1;
    snprintf(why, len, "%s: not an allocator (it defines no malloc) or not preloaded", where);
    return 0;
}

static int usage(const char *msg)
{
    fprintf(stderr,
            "notfree-workload: %s\n"
            "usage: notfree-workload --workload NAME[:SIZE] | --trace FILE [--threads N] [--ops N_PER_THREAD]\n"
            "                        [--round N] [--seed N] [--expect-lib PATH] [--verify]\n"
            "                        [--latency-every N]\n"
            "       notfree-workload --whoami PATH\n",
            msg);
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static void read_final_rss(void *arg) { *(long *)arg = rss_kib(); }

/* --trace FILE: threads copies of the trace through mem; the line (and,
 * with lat_every, the latency lines), as for a workload. */
static int run_trace(const char *path, unsigned threads, int verify, const nf_mem_api *mem, uint64_t lat_every)
{
    long final_rss = 0;
    char err[512];
    nf_trace *t = NULL;
    if (nf_trace_load(path, &t, err, sizeof err) != 0) {
        fprintf(stderr, "notfree-workload: %s: %s\n", path, err);
        return 2;
    }
    nf_trace_replay_result res;
    getppid(); /* marker: the syscall counter starts counting here */
    double t0 = nf_now_s();
    int rc = nf_trace_bench(t, mem, threads, verify, read_final_rss, &final_rss, &res);
    double t1 = nf_now_s();
    getppid(); /* marker: ... and stops here */
    printf("ops=%llu checksum=%llu corrupt=%llu failed=%llu seconds=%.6f final_rss_kib=%ld mapped=1"
           " peak_rss_kib=%ld bad_offset=0 bad_size=0 t_start=%.6f t_end=%.6f\n",
           (unsigned long long)res.events, (unsigned long long)res.checksum,
           (unsigned long long)(res.corrupt + res.misaligned + res.not_zeroed), (unsigned long long)res.failed,
           res.seconds, final_rss, hwm_kib(), t0, t1);
    if (lat_every)
        nf_lat_sampler_print(stdout, res.seconds * (double)threads);
    fflush(stdout);
    nf_trace_free(t);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *name = NULL, *expect = NULL, *trace = NULL;
    uint64_t threads = 1, ops = 100000, round = 20000, seed = 42, lat_every = 0;
    int verify = 0;
    if (argc == 3 && !strcmp(argv[1], "--whoami"))
        return nf_whoami_main(argv[2]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--verify")) {
            verify = 1;
            continue;
        }
        uint64_t *num = !strcmp(a, "--threads")         ? &threads
                        : !strcmp(a, "--ops")           ? &ops
                        : !strcmp(a, "--round")         ? &round
                        : !strcmp(a, "--seed")          ? &seed
                        : !strcmp(a, "--latency-every") ? &lat_every
                                                        : NULL;
        if (!strcmp(a, "--workload") && v)
            name = v;
        else if (!strcmp(a, "--expect-lib") && v)
            expect = v;
        else if (!strcmp(a, "--trace") && v)
            trace = v;
        else if (num && v && parse_u64(v, num) == 0)
            ;
        else
            return usage("bad or incomplete flag");
        i++;
    }
    char why[PATH_MAX * 2 + 128];
    int mapped = expect ? malloc_in(expect, why, sizeof why) : 1;
    if (!mapped) {
        printf("ops=0 checksum=0 corrupt=0 failed=0 seconds=0 final_rss_kib=0 mapped=0 peak_rss_kib=%ld"
               " bad_offset=0 bad_size=0\n",
               hwm_kib());
        fprintf(stderr, "notfree-workload: %s\n", why);
        return 3;
    }
    size_t size = 0;
    const nf_workload *w = trace ? NULL : nf_workload_parse(name, &size);
    if (!w && !trace)
        return usage(name ? "unknown workload (or a size it does not take)" : "--workload or --trace is required");
    if (threads < 1 || threads > 1024 || round < 1 || lat_every > 1000000000)
        return usage("--threads must be 1..1024, --round at least 1, --latency-every at most 1e9");
    nf_workload_params p = {.threads = (unsigned)threads, .seed = seed, .size = size, .pin = 1, .verify = verify};
    const nf_mem_api *mem = &nf_mem_libc;
    if (lat_every && !(mem = nf_lat_sampler_start((unsigned)lat_every, (unsigned)threads))) {
        fprintf(stderr, "notfree-workload: latency sampling: out of memory\n");
        return 1;
    }
    if (trace)
        return run_trace(trace, (unsigned)threads, verify, mem, lat_every);
    getppid(); /* marker: the syscall counter starts counting here */
    double t0 = nf_now_s();
    nf_workload_run *r = nf_workload_start(w, &p, mem);
    if (!r) {
        fprintf(stderr, "notfree-workload: cannot start %s: %s\n", name, strerror(errno));
        return 1;
    }
    for (uint64_t done = 0; done < ops; done += round)
        nf_workload_round(r, ops - done < round ? ops - done : round);
    double t1 = nf_now_s(), secs = t1 - t0;
    getppid(); /* marker: ... and stops here */
    long rss = rss_kib();
    nf_workload_result res;
    int rc = nf_workload_finish(r, &res);
    printf("ops=%llu checksum=%llu corrupt=%llu failed=%llu seconds=%.6f final_rss_kib=%ld mapped=%d"
           " peak_rss_kib=%ld bad_offset=%llu bad_size=%llu t_start=%.6f t_end=%.6f block_size=%zu\n",
           (unsigned long long)res.ops, (unsigned long long)res.checksum, (unsigned long long)res.corrupt,
           (unsigned long long)res.failed, secs, rss, mapped, hwm_kib(), (unsigned long long)res.bad_offset,
           (unsigned long long)res.bad_size, t0, t1, size);
    if (lat_every)
        nf_lat_sampler_print(stdout, secs * (double)threads);
    fflush(stdout);
    return rc == 0 ? 0 : 1;
}
