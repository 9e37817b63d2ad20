/* tour/step_threshold.c: step 2, brk below the threshold, mmap above. One
 * fresh notfree-tour-malloc per (allocator, size) makes one malloc of
 * that size between two markers; compare's counter says whether brk or
 * mmap served it. Then glibc alone: where its threshold sits (a binary
 * search between 64 KiB and 1 MiB), that it moves after a mapped block
 * is freed (the dynamic threshold), and with M_MMAP_THRESHOLD. A chart
 * (plots/tour_threshold.gp) when gnuplot is there. */
#include "syscalls.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { SYS_MMAP = 0, SYS_BRK = 3 }; /* indexes in nf_cmp_sys_names */

/* 0 none, 1 brk, 2 mmap, 3 both; -1 not counted. */
static int kind_of(const nf_tour_run *r, const nf_cmp_alloc *a, char *const args[])
{
    long long total, c[NF_CMP_NSYS];
    char err[256];
    if (nf_tour_count_calls(r, a, args, &total, c, err, sizeof err) != 0)
        return -1;
    return (c[SYS_BRK] > 0) | (c[SYS_MMAP] > 0) << 1;
}

static const char *const kind_name[] = {"none", "brk", "mmap", "brk+mmap"};

/* gnuplot run directly (no shell between: paths may hold anything). */
static int chart(nf_tour_run *r, const char *dat, char *png, size_t cap)
{
#if NF_PLOTS
    char base[1024], expr[2700], script[1200];
    snprintf(base, sizeof base, "%.900s/%.100s-threshold", r->report_dir, r->stamp);
    char host[64] = "unknown host";
    gethostname(host, sizeof host - 1);
    snprintf(expr, sizeof expr, "datafile=\"%.1200s\"; outbase=\"%s\"; host=\"%.60s\"", dat, base, host);
    snprintf(script, sizeof script, "%.1100s/plots/tour_threshold.gp", NF_SOURCE_DIR);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        execlp("gnuplot", "gnuplot", "-e", expr, script, (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    snprintf(png, cap, "%.1100s.png", base);
    return 0;
#else
    (void)r, (void)dat, (void)png, (void)cap;
    return -1;
#endif
}

void nf_tour_step_threshold(nf_tour_run *r)
{
    nf_cmp_alloc a[16];
    int n = nf_tour_allocs(a, 16);
    int glibc = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(a[i].name, "glibc"))
            glibc = i;
    if (glibc < 0 || !a[glibc].available) {
        nf_tour_skip(r, "glibc's malloc could not be resolved");
        return;
    }
    /* 16 B to 64 MiB by 4x; --quick: glibc, jemalloc and bins by 16x. */
    char dat[4096];
    snprintf(dat, sizeof dat, "%s/%s-threshold.dat", r->report_dir, r->stamp);
    FILE *f = fopen(dat, "w");
    nf_tour_did(r,
                "one fresh process per allocator and size (16 B to 64 MiB) makes one malloc; the counter "
                "says which call served it%s",
                r->quick ? " (--quick: glibc, jemalloc, bins, by 16x)" : "");
    int row = 0;
    for (int i = 0; i < n; i++) {
        if (!a[i].available ||
            (r->quick && strcmp(a[i].name, "glibc") && strcmp(a[i].name, "jemalloc") && strcmp(a[i].name, "bins")))
            continue;
        char line[512] = "";
        size_t used = 0;
        for (int lg = 4; lg <= 26; lg += r->quick ? 4 : 2) {
            char sz[32];
            snprintf(sz, sizeof sz, "%llu", 1ull << lg);
            char *args[] = {"size", sz, NULL};
            int k = kind_of(r, &a[i], args);
            if (k < 0)
                continue;
            if (f)
                fprintf(f, "%d\t%d\t%d\t%s\n", row, lg, k, a[i].name);
            used += (size_t)snprintf(line + used, used < sizeof line ? sizeof line - used : 0, " 2^%d:%s", lg,
                                     kind_name[k]);
        }
        nf_tour_did(r, "%s:%s", a[i].name, line);
        row++;
    }
    if (f)
        fclose(f);
    nf_tour_register_file(dat);
    /* glibc's threshold: the smallest size its first malloc maps. */
    unsigned long long lo = 64 << 10, hi = 1 << 20;
    char sz[32];
    while (hi - lo > 64) {
        unsigned long long mid = (lo + hi) / 2;
        snprintf(sz, sizeof sz, "%llu", mid);
        char *args[] = {"size", sz, NULL};
        int k = kind_of(r, &a[glibc], args);
        if (k < 0)
            break;
        if (k & 2)
            hi = mid;
        else
            lo = mid;
    }
    nf_tour_did(r, "glibc: binary search for the smallest first malloc served by mmap (64-byte resolution)");
    nf_tour_figure(r, "glibc_threshold_bytes", (double)hi, "bytes", "syscall counter");
    char *dyn[] = {"dynamic", "262144", NULL};
    int kd = kind_of(r, &a[glibc], dyn);
    nf_tour_did(r, "glibc: malloc(256 KiB), free it, malloc(256 KiB) again: the second was served by %s",
                kd >= 0 ? kind_name[kd] : "(not counted)");
    nf_tour_figure(r, "glibc_256k_after_free_mmapped", kd < 0 ? NAN : (kd & 2) != 0, "bool", "syscall counter");
    char *opt[] = {"mallopt", "1048576", "524288", NULL};
    int ko = kind_of(r, &a[glibc], opt);
    nf_tour_did(r, "glibc: mallopt(M_MMAP_THRESHOLD, 1 MiB), then malloc(512 KiB): served by %s",
                ko >= 0 ? kind_name[ko] : "(not counted)");
    nf_tour_figure(r, "glibc_512k_under_mallopt_1m_mmapped", ko < 0 ? NAN : (ko & 2) != 0, "bool", "syscall counter");
    char png[4096];
    if (chart(r, dat, png, sizeof png) == 0)
        nf_tour_chart(r, png);
    else
        nf_tour_did(r, "no chart: gnuplot is not there (or failed)");
    nf_tour_remove_file(dat);
    /* Just above 128 KiB: mapped (the threshold as documented), or
     * carved from the heap's top chunk with no call at all? */
    snprintf(sz, sizeof sz, "%d", (128 << 10) + 512);
    char *above[] = {"size", sz, NULL};
    int ka = kind_of(r, &a[glibc], above);
    nf_tour_did(r, "glibc: malloc(128 KiB + 512) as the first call: served by %s", ka >= 0 ? kind_name[ka] : "?");
    /* Holds when the switch is at 128 KiB (within 64 bytes and the chunk
     * header) and both ways of moving it work; a nuance when a request
     * above it is still served from the top chunk. */
    int near = hi >= (128 << 10) - 64 && hi <= (128 << 10) + 128;
    int within8k = hi >= (128 << 10) - 64 && hi <= (136 << 10);
    int moves = kd == 1 || kd == 0, opt_moves = ko == 1 || ko == 0;
    nf_tour_verdict_kind v = !within8k || !moves || !opt_moves ? NF_TOUR_NOT_HERE
                             : near                            ? NF_TOUR_HOLDS
                                                               : NF_TOUR_NUANCE;
    char why[320] = "";
    if (v == NF_TOUR_NUANCE)
        snprintf(why, sizeof why,
                 ", not at 131072: malloc(128 KiB + 512) was served by %s and no mmap: the same first call first "
                 "took a 132 KiB heap with brk for its tcache and carved the block from that top chunk (the "
                 "threshold decides only when the top is too small)",
                 ka >= 0 ? kind_name[ka] : "?");
    nf_tour_verdict(r, v,
                    "glibc's first malloc switched from brk to mmap at %.0f bytes%s; after a 256 KiB mapped block "
                    "was freed the next 256 KiB came from %s%s, and under M_MMAP_THRESHOLD = 1 MiB a 512 KiB block "
                    "came from %s; the other allocators follow their own rules (see the chart)",
                    (double)hi, why, kd >= 0 ? kind_name[kd] : "?", moves ? " (the threshold moved up)" : "",
                    ko >= 0 ? kind_name[ko] : "?");
}
