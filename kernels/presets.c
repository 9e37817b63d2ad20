/* kernels/presets.c: named TLB geometries of real CPUs, and `host`.
 *
 * Data TLBs only (the model translates data accesses). Each preset says
 * where its figures come from. Where a vendor does not publish a figure
 * (associativity of some arrays, page-walk cache sizes) the value is an
 * assumption and the comment says so. Replacement: Intel documents
 * pseudo-LRU for its TLBs; AMD does not say, and LRU is assumed.
 *
 * Figures checked against: Intel 64 and IA-32 Architectures Optimization
 * Reference Manual (248966), Skylake client Table 2-15 (as quoted by J.
 * McCalpin on the Intel community forum, "TLB information provided by
 * cpuid doesn't make sense to me", 2022); Hennessy & Patterson, Computer
 * Architecture: A Quantitative Approach, 7th ed., Alder Lake (Golden Cove)
 * memory hierarchy; AMD Software Optimization Guides for family 17h
 * (Zen/Zen 2, via WikiChip) and 19h (Zen 3, Zen 4), partly from memory.
 */
#include <notfree/cpuinfo.h>
#include <notfree/tlb.h>

#include <string.h>

#define B4K NF_PGBIT(NF_PG_4K)
#define B2M NF_PGBIT(NF_PG_2M)
#define B1G NF_PGBIT(NF_PG_1G)

static const nf_tlb_geom presets[] = {
    /* Intel Skylake client (6th gen Core; also Skylake-SP cores).
     * Optimization manual Table 2-15: DTLB 4K 64 entries 4-way; 2M/4M 32
     * entries 4-way; 1G 4 entries 4-way (fully associative). STLB 4K+2M
     * 1536 entries 12-way shared; 1G 16 entries 4-way. Pseudo-LRU.
     * Paging-structure caches: Intel does not publish their sizes; 2 PML4E,
     * 4 PDPTE and 32 PDE entries are figures measured for Nehalem-era cores
     * in the MMU-cache literature (Barr, Cox, Rixner, ISCA 2010) and are an
     * assumption here. PCID on (Linux uses it since 4.14). */
    {
        .name = "skylake",
        .cpu = "Intel Skylake (client)",
        .nlevels = 2,
        .level =
            {
                {.narrays = 3,
                 .array = {{64, 4, B4K, NF_REPL_PLRU}, {32, 4, B2M, NF_REPL_PLRU}, {4, 0, B1G, NF_REPL_PLRU}}},
                {.narrays = 2, .array = {{1536, 12, B4K | B2M, NF_REPL_PLRU}, {16, 4, B1G, NF_REPL_PLRU}}},
            },
        .pwc_entries = {2, 4, 32},
        .asid = true,
        .source = "Intel opt. manual 248966 Table 2-15; PWC sizes assumed (Barr et al. 2010)",
    },
    /* Intel Golden Cove (Alder Lake P-core, Sapphire Rapids). Load DTLB 4K
     * 96 entries 6-way; 2M/4M 32 entries 4-way; 1G 8 entries (fully
     * associative); STLB 2048 entries 16-way for 4K, 2M and 1G, pseudo-LRU
     * (Hennessy & Patterson 7th ed., from Intel's optimization manual).
     * The separate store DTLB is not modelled. PWC sizes assumed as for
     * Skylake. */
    {
        .name = "goldencove",
        .cpu = "Intel Golden Cove (Alder Lake P-core)",
        .nlevels = 2,
        .level =
            {
                {.narrays = 3,
                 .array = {{96, 6, B4K, NF_REPL_PLRU}, {32, 4, B2M, NF_REPL_PLRU}, {8, 0, B1G, NF_REPL_PLRU}}},
                {.narrays = 1, .array = {{2048, 16, B4K | B2M | B1G, NF_REPL_PLRU}}},
            },
        .pwc_entries = {2, 4, 32},
        .asid = true,
        .source = "Intel opt. manual 248966 via Hennessy & Patterson 7th ed.; PWC sizes assumed",
    },
    /* AMD Zen 3 (family 19h, Ryzen 5000 / EPYC 7003). L1 dTLB 64 entries
     * fully associative, all page sizes. L2 dTLB 2048 entries for 4K and
     * 2M (1G pages are smashed into 2M entries there: modelled as 1G not
     * held in L2). The L2 is a skewed 12-way structure that no set/way
     * model reproduces; 16-way is assumed so 2048 entries divide evenly.
     * AMD's L2 TLB also caches PDEs; a 64-entry PDE cache and 16-entry
     * PDPTE/PML4E caches are assumed (AMD does not publish them). ASIDs on. */
    {
        .name = "zen3",
        .cpu = "AMD Zen 3",
        .nlevels = 2,
        .level =
            {
                {.narrays = 1, .array = {{64, 0, B4K | B2M | B1G, NF_REPL_LRU}}},
                {.narrays = 1, .array = {{2048, 16, B4K | B2M, NF_REPL_LRU}}},
            },
        .pwc_entries = {16, 16, 64},
        .asid = true,
        .source = "AMD SOG fam 19h (from memory); L2 ways and PWC sizes assumed",
    },
    /* AMD Zen 4 (family 19h, Ryzen 7000 / EPYC 9004). L1 dTLB 72 entries
     * fully associative, all page sizes; L2 dTLB 3072 entries for 4K, 2M
     * and 1G (Zen 4 added 1G to the L2 dTLB). Associativity assumed 12-way
     * (the Zen family's figure; 256 sets). CPUID 0x80000006 on Zen 4
     * reports 2048 L2 dTLB 4K entries, not 3072; `host` shows what CPUID
     * says. PWC as for zen3 (assumed). */
    {
        .name = "zen4",
        .cpu = "AMD Zen 4",
        .nlevels = 2,
        .level =
            {
                {.narrays = 1, .array = {{72, 0, B4K | B2M | B1G, NF_REPL_LRU}}},
                {.narrays = 1, .array = {{3072, 12, B4K | B2M | B1G, NF_REPL_LRU}}},
            },
        .pwc_entries = {16, 16, 64},
        .asid = true,
        .source = "AMD SOG fam 19h Zen 4 (from memory); L2 ways and PWC sizes assumed",
    },
};
#define NPRESETS (sizeof presets / sizeof presets[0])

static const char *const preset_names[] = {"skylake", "goldencove", "zen3", "zen4", "host", NULL};

const char *const *nf_tlb_preset_names(void) { return preset_names; }

/* Builds one level of `host` from the CPUID TLB list: data TLBs of that
 * level (kind 'd', else loads 'l', else unified 'u'); page sizes with the
 * same entries and ways share one array. */
static int host_level(const nf_cpuinfo *ci, int level, nf_tlb_level_geom *lv)
{
    static const char kinds[] = {'d', 'l', 'u'};
    static const int kib[NF_PG_NSIZES] = {4, 2048, 1048576};
    memset(lv, 0, sizeof *lv);
    for (size_t k = 0; k < sizeof kinds && lv->narrays == 0; k++)
        for (int sz = 0; sz < NF_PG_NSIZES; sz++) {
            const nf_tlb_level *e = nf_cpuinfo_tlb(ci, level, kinds[k], kib[sz]);
            if (!e && sz == NF_PG_2M) /* 2M/4M entries may be listed as 4M */
                e = nf_cpuinfo_tlb(ci, level, kinds[k], 4096);
            if (!e || e->entries <= 0)
                continue;
            uint32_t ways = e->ways > 0 && e->ways < e->entries && e->entries % e->ways == 0 ? (uint32_t)e->ways : 0;
            int a;
            for (a = 0; a < lv->narrays; a++)
                if (lv->array[a].entries == (uint32_t)e->entries && lv->array[a].ways == ways)
                    break;
            if (a == lv->narrays) {
                if (lv->narrays == NF_TLB_MAX_ARRAYS)
                    continue;
                lv->array[a] = (nf_tlb_array_geom){(uint32_t)e->entries, ways, 0, NF_REPL_LRU};
                lv->narrays++;
            }
            lv->array[a].sizes |= NF_PGBIT(sz);
        }
    return lv->narrays;
}

static int preset_host(nf_tlb_geom *out, char *err, size_t cap)
{
    const nf_cpuinfo *ci = nf_cpuinfo_get();
    if (ci->ntlb == 0) {
        snprintf(err, cap, "preset 'host': the TLB geometry of this CPU cannot be read (%s); use a named preset",
                 ci->tlb_unavailable[0] ? ci->tlb_unavailable : "CPUID reports none");
        return -1;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "host");
    snprintf(out->cpu, sizeof out->cpu, "%s", ci->model[0] ? ci->model : "this CPU");
    if (host_level(ci, 1, &out->level[0]) == 0) {
        snprintf(err, cap, "preset 'host': CPUID (%s) lists no L1 data TLB", ci->tlb_source);
        return -1;
    }
    out->nlevels = host_level(ci, 2, &out->level[1]) ? 2 : 1;
    /* CPUID says nothing about page-walk caches or replacement: none, LRU. */
    out->asid = true;
    snprintf(out->source, sizeof out->source, "%s%s%s; no PWC (CPUID does not report one)", ci->tlb_source,
             ci->note[0] ? "; " : "", ci->note);
    if (nf_tlb_geom_check(out, err, cap) != 0)
        return -1;
    return 0;
}

int nf_tlb_preset(const char *name, nf_tlb_geom *out, char *err, size_t cap)
{
    char dummy[1];
    if (!err || !cap) {
        err = dummy;
        cap = sizeof dummy;
    }
    if (name && !strcmp(name, "host"))
        return preset_host(out, err, cap);
    for (size_t i = 0; i < NPRESETS; i++)
        if (name && !strcmp(name, presets[i].name)) {
            *out = presets[i];
            return 0;
        }
    snprintf(err, cap, "unknown preset '%s'; known: skylake, goldencove, zen3, zen4, host", name ? name : "");
    return -1;
}
