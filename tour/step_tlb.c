/* tour/step_tlb.c: step 6, the walk and the TLB. The model first: a
 * 4-level walk reads 4 entries (PML4E, PDPTE, PDE, PTE); walk caches
 * let a walk skip the upper levels. Then the real knees: a pointer chase
 * over N pages (one 64-byte line per page, random cyclic order, so the
 * data fits the caches while the pages outgrow the TLB), ns per load,
 * against the reach of the model's TLB for this CPU (the "host" preset
 * from CPUID, else Skylake's). */
#include "tour.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "notfree/clock.h"
#include "notfree/tlb.h"

/* Walk references per walk for a random page stream over ws bytes. */
static double model_refs(const nf_tlb_geom *g, uint64_t ws, int pwc, double *miss_rate)
{
    nf_tlb_geom geo = *g;
    if (!pwc)
        memset(geo.pwc_entries, 0, sizeof geo.pwc_entries);
    char err[128];
    nf_tlb *t = nf_tlb_create(&geo, err, sizeof err);
    if (!t)
        return 0.0 / 0.0;
    uint64_t pages = ws >> 12, x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (i == 50000)
            nf_tlb_reset_stats(t); /* warm */
        nf_tlb_access(t, 0, 0x100000000000ull + (x % pages) * 4096, NF_PG_4K);
    }
    const nf_tlb_stats *s = nf_tlb_get_stats(t);
    double refs = s->walks ? (double)s->walk_refs / (double)s->walks : 0;
    if (miss_rate)
        *miss_rate = (double)s->walks / (double)s->lookups;
    nf_tlb_destroy(t);
    return refs;
}

/* ns per dependent load of a random cycle over the first n pages of p. */
static double chase(char *p, size_t n, size_t loads)
{
    size_t *order = malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    uint64_t x = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = n - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = x % (i + 1), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    /* Page k's line sits at (k % 64) * 64 so lines spread over cache sets. */
    for (size_t i = 0; i < n; i++) {
        size_t a = order[i], b = order[(i + 1) % n];
        *(char **)(p + a * 4096 + (a % 64) * 64) = p + b * 4096 + (b % 64) * 64;
    }
    char **q = (char **)(p + order[0] * 4096 + (order[0] % 64) * 64);
    free(order);
    for (size_t i = 0; i < n; i++) /* warm */
        q = (char **)*q;
    double t0 = nf_now_ns();
    for (size_t i = 0; i < loads; i++)
        q = (char **)*q;
    double t1 = nf_now_ns();
    __asm__ volatile("" : : "r"(q));
    return (t1 - t0) / (double)loads;
}

void nf_tour_step_tlb(nf_tour_run *r)
{
    nf_tlb_geom g;
    char err[256];
    const char *preset = "host";
    if (nf_tlb_preset("host", &g, err, sizeof err) != 0) {
        nf_tour_did(r, "the host's TLB geometry is not readable (%s): the Skylake preset instead", err);
        preset = "skylake";
        if (nf_tlb_preset("skylake", &g, err, sizeof err) != 0) {
            nf_tour_skip(r, "no TLB preset: %s", err);
            return;
        }
    }
    uint64_t l1 = nf_tlb_geom_reach(&g, 0, NF_PG_4K), l2 = g.nlevels > 1 ? nf_tlb_geom_reach(&g, 1, NF_PG_4K) : l1;
    nf_tour_did(r,
                "model (%s preset, %s): random 4 KiB pages over 256 MiB, 150,000 accesses after warm-up, walk "
                "caches off then on",
                preset, g.cpu);
    double miss;
    double refs_nopwc = model_refs(&g, 256u << 20, 0, &miss);
    /* CPUID does not describe walk caches: borrow a preset's when the
     * host's geometry has none. */
    nf_tlb_geom gp = g;
    const char *pwc_from = preset;
    if (!g.pwc_entries[0] && !g.pwc_entries[1] && !g.pwc_entries[2] &&
        nf_tlb_preset("skylake", &gp, err, sizeof err) == 0) {
        pwc_from = "skylake";
        memcpy(gp.level, g.level, sizeof g.level);
        gp.nlevels = g.nlevels;
        nf_tour_did(r,
                    "the %s geometry has no walk caches (CPUID does not describe them): Skylake's, on the same "
                    "TLB levels",
                    preset);
    }
    double refs_pwc = model_refs(&gp, 256u << 20, 1, NULL);
    nf_tour_figure(r, "model_refs_per_walk_no_pwc", refs_nopwc, "refs", "model");
    nf_tour_figure(r, "model_refs_per_walk_pwc", refs_pwc, "refs", "model");
    nf_tour_figure(r, "model_walks_per_access_256m", miss, "ratio", "model");
    nf_tour_figure(r, "l1_dtlb_reach", (double)(l1 >> 10), "KiB", "model");
    nf_tour_figure(r, "l2_tlb_reach", (double)(l2 >> 10), "KiB", "model");

    size_t maxpages = r->quick ? 8192 : 16384, loads = r->quick ? 400000 : 2000000;
    char *p = mmap(NULL, maxpages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        nf_tour_skip(r, "mmap of the chase buffer failed");
        return;
    }
    madvise(p, maxpages * 4096, MADV_NOHUGEPAGE); /* 4 KiB pages: the reach counted in 4K entries */
    memset(p, 0, maxpages * 4096);
    nf_tour_did(r,
                "real: a pointer chase over 16 to %zu pages (one line per page, random cycle, 4 KiB pages), "
                "%zu loads each",
                maxpages, loads);
    double base = 0, knee1 = 0, knee2 = 0, prev = 0;
    for (size_t n = 16; n <= maxpages; n *= 2) {
        double ns = chase(p, n, loads);
        char name[64];
        snprintf(name, sizeof name, "chase_ns_%zu_pages", n);
        nf_tour_figure(r, name, ns, "ns", "timing");
        if (n == 16)
            base = ns;
        /* A knee: the first size at 1.4x the smallest, then the first at
         * 1.4x the first knee's. */
        if (!knee1 && ns > 1.4 * base)
            knee1 = (double)n * 4;
        else if (knee1 && !knee2 && ns > 1.4 * prev && prev > 1.4 * base)
            knee2 = (double)n * 4;
        prev = ns;
    }
    munmap(p, maxpages * 4096);
    nf_tour_figure(r, "real_first_knee", knee1 ? knee1 : NAN, "KiB", "timing");
    nf_tour_figure(r, "real_second_knee", knee2 ? knee2 : NAN, "KiB", "timing");
    /* Holds when the model's walk reads 4 entries without walk caches
     * and fewer with them, and the real first knee lies within a factor
     * of 4 of one of the TLB reaches. */
    int model_ok = refs_nopwc > 3.99 && refs_nopwc < 4.01 && refs_pwc < refs_nopwc;
    double l1k = (double)l1 / 1024, l2k = (double)l2 / 1024;
    int near = knee1 && ((knee1 >= l1k / 4 && knee1 <= l1k * 4) || (knee1 >= l2k / 4 && knee1 <= l2k * 4));
    nf_tour_verdict(r,
                    !model_ok ? NF_TOUR_NOT_HERE
                    : near    ? NF_TOUR_HOLDS
                              : NF_TOUR_NUANCE,
                    "model: %.2f memory references per walk without walk caches, %.2f with %s's; real chase: time "
                    "per load first rose at %.0f KiB of pages%s, against an L1 dTLB reach of %llu KiB and an L2 "
                    "reach of %llu KiB (%s)%s",
                    refs_nopwc, refs_pwc, pwc_from, knee1, knee2 ? " and again later (see the figures)" : "",
                    (unsigned long long)(l1 >> 10), (unsigned long long)(l2 >> 10), preset,
                    near ? ""
                         : "; the knee is not near either reach here (a guest's nested paging and shared "
                           "caches move it)");
}
