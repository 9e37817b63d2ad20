/* tour/step_control.c: step 13, what you control.
 *   MADV_SEQUENTIAL against MADV_RANDOM on a file mapping read once, the
 *     file dropped from the cache first (POSIX_FADV_DONTNEED, that file
 *     only): major faults and time, in a child.
 *   MADV_FREE against MADV_DONTNEED on touched anonymous memory: RSS
 *     after the advice and faults on the next touch, in a child.
 *   malloc_trim(0) on a fragmented glibc heap: RSS before and after.
 *   LD_PRELOAD: python3 running an allocation-heavy script (PYTHONMALLOC=
 *     malloc, so every object goes through malloc) under each allocator:
 *     wall time and peak RSS (wait4), against "10-30% memory savings". */
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notfree/clock.h"

static void madvise_part(nf_tour_run *r, char *summary, size_t cap)
{
    char dir[256], path[512], o1[256] = "", o2[256] = "";
    size_t len = r->quick ? (4u << 20) : (16u << 20);
    if (nf_tour_disk_dir(dir, sizeof dir) != 0) {
        snprintf(summary, cap, "MADV_SEQUENTIAL/RANDOM not measured: no disk-backed scratch directory");
        return;
    }
    snprintf(path, sizeof path, "%s/notfree-tour-%d.dat", dir, (int)getpid());
    nf_tour_file_read seq = {path, len, MADV_SEQUENTIAL, 1}, rnd = {path, len, MADV_RANDOM, 1};
    int ok =
        nf_tour_cold_file(path, len, 1) == 0 && nf_tour_child(nf_tour_read_file, &seq, NULL, 60, o1, sizeof o1) == 0 &&
        nf_tour_cold_file(path, len, 0) == 0 && nf_tour_child(nf_tour_read_file, &rnd, NULL, 60, o2, sizeof o2) == 0;
    nf_tour_remove_file(path);
    nf_tour_did(r,
                "a %zu MiB file, dropped from the cache before each read, mapped and read once in a child under "
                "MADV_SEQUENTIAL, then under MADV_RANDOM",
                len >> 20);
    double ms = nf_tour_get(o1, "pass1_major"), mr = nf_tour_get(o2, "pass1_major");
    double ts = nf_tour_get(o1, "pass1_ms"), tr = nf_tour_get(o2, "pass1_ms");
    nf_tour_figure(r, "sequential_major_faults", ok ? ms : NAN, "faults", "rusage");
    nf_tour_figure(r, "sequential_ms", ok ? ts : NAN, "ms", "timing");
    nf_tour_figure(r, "random_major_faults", ok ? mr : NAN, "faults", "rusage");
    nf_tour_figure(r, "random_ms", ok ? tr : NAN, "ms", "timing");
    snprintf(summary, cap,
             "MADV_SEQUENTIAL read %zu MiB with %.0f major faults in %.0f ms, MADV_RANDOM with %.0f in "
             "%.0f ms (%.1fx the time)",
             len >> 20, ms, ts, mr, tr, tr / ts);
}

static void free_child(void *arg, int fd)
{
    int advice = *(const int *)arg;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 16u << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise(p, len, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < len; i += page)
        p[i] = 1;
    long rss0 = nf_tour_status_kib(0, "VmRSS");
    madvise(p, len, advice);
    long rss1 = nf_tour_status_kib(0, "VmRSS");
    long f0 = nf_tour_minflt();
    for (size_t i = 0; i < len; i += page)
        p[i] = 2;
    nf_tour_out(fd, "rss_drop=%ld refaults=%ld pages=%zu\n", rss0 - rss1, nf_tour_minflt() - f0, len / page);
}

static void free_part(nf_tour_run *r, char *summary, size_t cap)
{
    int adv_free = MADV_FREE, adv_dontneed = MADV_DONTNEED;
    char o1[128] = "", o2[128] = "";
    nf_tour_child(free_child, &adv_free, NULL, 30, o1, sizeof o1);
    nf_tour_child(free_child, &adv_dontneed, NULL, 30, o2, sizeof o2);
    nf_tour_did(r, "a child touches 16 MiB, advises it (MADV_FREE, then in another child MADV_DONTNEED), reads RSS "
                   "and touches it again");
    nf_tour_figure(r, "madv_free_rss_drop", nf_tour_get(o1, "rss_drop"), "KiB", "proc");
    nf_tour_figure(r, "madv_free_refaults", nf_tour_get(o1, "refaults"), "faults", "rusage");
    nf_tour_figure(r, "madv_dontneed_rss_drop", nf_tour_get(o2, "rss_drop"), "KiB", "proc");
    nf_tour_figure(r, "madv_dontneed_refaults", nf_tour_get(o2, "refaults"), "faults", "rusage");
    snprintf(summary, cap,
             "MADV_DONTNEED dropped %.0f KiB of RSS at once and cost %.0f faults to touch again, "
             "MADV_FREE moved RSS by %+.0f KiB (its pages go only under pressure) and cost %.0f",
             nf_tour_get(o2, "rss_drop"), nf_tour_get(o2, "refaults"), -nf_tour_get(o1, "rss_drop"),
             nf_tour_get(o1, "refaults"));
}

static void trim_child(void *arg, int fd)
{
    (void)arg;
    enum { N = 40000 };
    static char *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(1000);
        memset(blocks[i], 1, 1000);
    }
    for (int i = 0; i < N; i++) /* keep one block in 64: holes everywhere, the top pinned */
        if (i % 64 != 63)
            free(blocks[i]);
    long before = nf_tour_status_kib(0, "VmRSS");
    malloc_trim(0);
    long after = nf_tour_status_kib(0, "VmRSS");
    nf_tour_out(fd, "before=%ld after=%ld\n", before, after);
}

static void trim_part(nf_tour_run *r, char *summary, size_t cap)
{
    char o[128] = "";
    nf_tour_child(trim_child, NULL, NULL, 30, o, sizeof o);
    nf_tour_did(r, "a child (glibc) mallocs 40,000 blocks of 1000 B, frees all but one in 64, calls malloc_trim(0)");
    double b = nf_tour_get(o, "before"), a = nf_tour_get(o, "after");
    nf_tour_figure(r, "trim_rss_before", b, "KiB", "proc");
    nf_tour_figure(r, "trim_rss_after", a, "KiB", "proc");
    snprintf(summary, cap, "malloc_trim(0) took a fragmented heap's RSS from %.0f to %.0f KiB", b, a);
}

static const char script[] = "import sys\n"
                             "n = int(sys.argv[1])\n"
                             "keep = []\n"
                             "for r in range(n):\n"
                             "    d = {i: str(i) * (i % 7 + 1) for i in range(2000)}\n"
                             "    l = [bytes(i % 300) for i in range(2000)]\n"
                             "    if r % 2 == 0:\n"
                             "        keep.append((d, l))\n"
                             "    if len(keep) > 60:\n"
                             "        keep.pop(0)\n"
                             "print(len(keep))\n";

/* One python3 run under a's preload: wall seconds and peak RSS (KiB). */
static int run_python(const char *py, const nf_cmp_alloc *a, int rounds, double *secs, long *rss)
{
    char arg[16];
    snprintf(arg, sizeof arg, "%d", rounds);
    double t0 = nf_now_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        nf_cmp_child_env(a->preload ? a->path : NULL);
        setenv("PYTHONMALLOC", "malloc", 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        execl(py, py, "-c", script, arg, (char *)NULL);
        _exit(127);
    }
    nf_tour_register_pid(pid);
    int st;
    struct rusage ru;
    pid_t w;
    while ((w = wait4(pid, &st, 0, &ru)) < 0 && errno == EINTR) {
    }
    nf_tour_unregister_pid(pid);
    *secs = nf_now_s() - t0;
    *rss = ru.ru_maxrss;
    return w == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void preload_part(nf_tour_run *r, char *summary, size_t cap, double *best_saving)
{
    const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : NULL;
    *best_saving = NAN;
    if (!py) {
        snprintf(summary, cap, "LD_PRELOAD not measured: /usr/bin/python3 is not there");
        return;
    }
    nf_cmp_alloc a[16];
    int n = nf_tour_allocs(a, 16);
    int rounds = r->quick ? 20 : 150;
    nf_tour_did(r,
                "python3 (PYTHONMALLOC=malloc) builds and drops dicts and lists for %d rounds under each "
                "allocator's LD_PRELOAD%s; wall time and peak RSS from wait4",
                rounds, r->quick ? " (--quick: glibc, jemalloc, mimalloc, shard)" : "");
    double glibc_s = NAN, best = NAN, warm_s;
    long warm_rss;
    for (int i = 0; i < n; i++) /* one untimed run: python's files into the page cache */
        if (!strcmp(a[i].name, "glibc"))
            run_python(py, &a[i], 1, &warm_s, &warm_rss);
    long glibc_rss = -1;
    char best_name[64] = "";
    size_t used = 0;
    summary[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (!a[i].available || (r->quick && strcmp(a[i].name, "glibc") && strcmp(a[i].name, "jemalloc") &&
                                strcmp(a[i].name, "mimalloc") && strcmp(a[i].name, "shard")))
            continue; /* --quick: four of them */
        double s;
        long rss;
        if (run_python(py, &a[i], rounds, &s, &rss) != 0)
            continue;
        char name[96];
        snprintf(name, sizeof name, "python_%.40s_s", a[i].name);
        nf_tour_figure(r, name, s, "s", "timing");
        snprintf(name, sizeof name, "python_%.40s_peak_rss", a[i].name);
        nf_tour_figure(r, name, (double)rss, "KiB", "rusage");
        if (!strcmp(a[i].name, "glibc")) {
            glibc_s = s;
            glibc_rss = rss;
            continue;
        }
        if (glibc_rss > 0) {
            double saving = 1.0 - (double)rss / (double)glibc_rss;
            if (!(saving <= best)) {
                best = saving;
                snprintf(best_name, sizeof best_name, "%.40s", a[i].name);
            }
            used += (size_t)snprintf(summary + used, used < cap ? cap - used : 0, "%s%s %+.0f%% RSS %.2fx time",
                                     used ? ", " : "", a[i].name, -100 * saving, s / glibc_s);
        }
    }
    *best_saving = best;
    char head[256];
    snprintf(head, sizeof head, "under LD_PRELOAD python3's peak RSS against glibc's %ld KiB: ", glibc_rss);
    size_t hl = strlen(head), sl = strlen(summary);
    if (hl + sl < cap) {
        memmove(summary + hl, summary, sl + 1);
        memcpy(summary, head, hl);
    }
    (void)best_name;
}

void nf_tour_step_control(nf_tour_run *r)
{
    char s1[256], s2[256], s3[160], s4[700];
    double best;
    madvise_part(r, s1, sizeof s1);
    free_part(r, s2, sizeof s2);
    trim_part(r, s3, sizeof s3);
    preload_part(r, s4, sizeof s4, &best);
    nf_tour_figure(r, "best_preload_rss_saving", 100 * best, "%", "rusage");
    /* The knobs work if: SEQUENTIAL needs fewer major faults than RANDOM,
     * DONTNEED drops RSS and refaults, trim lowers RSS; the article's
     * 10-30% savings holds if the best preload saves 10% or more. */
    double ms = 0, mr = 0;
    ms = json_real_value(json_object_get(json_object_get(r->figures, "sequential_major_faults"), "value"));
    mr = json_real_value(json_object_get(json_object_get(r->figures, "random_major_faults"), "value"));
    double tb = json_real_value(json_object_get(json_object_get(r->figures, "trim_rss_before"), "value"));
    double ta = json_real_value(json_object_get(json_object_get(r->figures, "trim_rss_after"), "value"));
    int knobs = ms < mr && ta < tb;
    nf_tour_verdict_kind v = !knobs ? NF_TOUR_NOT_HERE : best >= 0.10 ? NF_TOUR_HOLDS : NF_TOUR_NUANCE;
    nf_tour_verdict(r, v, "%s; %s; %s; %s%s", s1, s2, s3, s4,
                    v == NF_TOUR_NUANCE ? " (no preload reached the article's 10-30% saving here)" : "");
}
