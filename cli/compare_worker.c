/* cli/compare_worker.c: notfree-workload, the program `notfree compare`
 * runs once per measurement, under LD_PRELOAD of the allocator compared.
 * It runs one workload through the process's plain malloc and free
 * (nf_mem_libc), so whatever the preload put in place serves it, then
 * prints one line on stdout:
 *
 *   ops=<n> checksum=<n> corrupt=<n> failed=<n> seconds=<s> final_rss_kib=<n> mapped=<0|1>
 *
 *   seconds        the workload from the start of its threads to the end
 *                  of its last round (CLOCK_MONOTONIC)
 *   final_rss_kib  /proc/self/statm after the last round, the workload's
 *                  blocks still live (before the final cleanup)
 *   mapped         1 when --expect-lib names a file that /proc/self/maps
 *                  shows mapped (or no --expect-lib was given)
 *
 * getppid, called just before the workload starts and after its last
 * round, marks the window the system-call counter counts (compare_syscalls.c).
 *
 * Exit: 0 ok; 1 the checksum found damaged blocks or a malloc failed;
 * 2 bad flags; 3 the expected library is not mapped. */
#include "notfree/workload.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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

/* Is a file with path (or the same inode's real path) mapped here? */
static int lib_mapped(const char *path)
{
    char real[PATH_MAX], line[PATH_MAX + 256];
    if (!realpath(path, real))
        snprintf(real, sizeof real, "%s", path);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *p = strchr(line, '/');
        if (!p)
            continue;
        p[strcspn(p, "\n")] = '\0';
        found = strcmp(p, real) == 0 || strcmp(p, path) == 0;
    }
    fclose(f);
    return found;
}

static int usage(const char *msg)
{
    fprintf(stderr, "notfree-workload: %s\n"
                    "usage: notfree-workload --workload NAME [--threads N] [--ops N_PER_THREAD]\n"
                    "                        [--round N] [--seed N] [--expect-lib PATH]\n", msg);
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

int main(int argc, char **argv)
{
    const char *name = NULL, *expect = NULL;
    uint64_t threads = 1, ops = 100000, round = 20000, seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t *num = !strcmp(a, "--threads") ? &threads : !strcmp(a, "--ops") ? &ops
                      : !strcmp(a, "--round") ? &round : !strcmp(a, "--seed") ? &seed : NULL;
        if (!strcmp(a, "--workload") && v)
            name = v;
        else if (!strcmp(a, "--expect-lib") && v)
            expect = v;
        else if (num && v && parse_u64(v, num) == 0)
            ;
        else
            return usage("bad or incomplete flag");
        i++;
    }
    const nf_workload *w = nf_workload_find(name);
    if (!w)
        return usage(name ? "unknown workload" : "--workload is required");
    if (threads < 1 || threads > 1024 || round < 1)
        return usage("--threads must be 1..1024 and --round at least 1");
    int mapped = expect ? lib_mapped(expect) : 1;
    if (!mapped) {
        printf("ops=0 checksum=0 corrupt=0 failed=0 seconds=0 final_rss_kib=0 mapped=0\n");
        fprintf(stderr, "notfree-workload: %s is not mapped in this process\n", expect);
        return 3;
    }
    nf_workload_params p = {.threads = (unsigned)threads, .seed = seed, .pin = 1};
    getppid();   /* marker: the syscall counter starts counting here */
    double t0 = now_s();
    nf_workload_run *r = nf_workload_start(w, &p, &nf_mem_libc);
    if (!r) {
        fprintf(stderr, "notfree-workload: cannot start %s: %s\n", name, strerror(errno));
        return 1;
    }
    for (uint64_t done = 0; done < ops; done += round)
        nf_workload_round(r, ops - done < round ? ops - done : round);
    double secs = now_s() - t0;
    getppid();   /* marker: ... and stops here */
    long rss = rss_kib();
    nf_workload_result res;
    int rc = nf_workload_finish(r, &res);
    printf("ops=%llu checksum=%llu corrupt=%llu failed=%llu seconds=%.6f final_rss_kib=%ld mapped=%d\n",
           (unsigned long long)res.ops, (unsigned long long)res.checksum,
           (unsigned long long)res.corrupt, (unsigned long long)res.failed, secs, rss, mapped);
    fflush(stdout);
    return rc == 0 ? 0 : 1;
}
