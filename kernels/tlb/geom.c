/* kernels/tlb/geom.c: TLB geometries (notfree/tlb.h's nf_tlb_geom): the
 * checks a geometry must pass before nf_tlb_create builds it, the entries
 * and reach of a level for a page size, and the one line per array that
 * `notfree model` prints.
 */
#include <notfree/tlb.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_ENTRIES (1u << 20)
#define MAX_WAYS 4096u

static const char *const size_name[NF_PG_NSIZES] = {"4K", "2M", "1G"};

int nf_tlb_geom_check(const nf_tlb_geom *g, char *err, size_t cap)
{
#define FAIL(...)                            \
    do {                                     \
        if (err && cap)                      \
            snprintf(err, cap, __VA_ARGS__); \
        return -1;                           \
    } while (0)
    if (!g)
        FAIL("no geometry");
    if (g->nlevels < 1 || g->nlevels > NF_TLB_MAX_LEVELS)
        FAIL("%s: %d TLB levels; the model has 1 or 2", g->name, g->nlevels);
    for (int l = 0; l < g->nlevels; l++) {
        const nf_tlb_level_geom *lv = &g->level[l];
        if (lv->narrays < 1 || lv->narrays > NF_TLB_MAX_ARRAYS)
            FAIL("%s: L%d has %d arrays; 1 to %d allowed", g->name, l + 1, lv->narrays, NF_TLB_MAX_ARRAYS);
        uint32_t seen = 0;
        for (int a = 0; a < lv->narrays; a++) {
            const nf_tlb_array_geom *ar = &lv->array[a];
            if (ar->entries == 0 || ar->entries > MAX_ENTRIES)
                FAIL("%s: L%d array %d: %u entries; 1 to %u allowed", g->name, l + 1, a, ar->entries, MAX_ENTRIES);
            if (ar->ways > ar->entries)
                FAIL("%s: L%d array %d: %u ways but only %u entries", g->name, l + 1, a, ar->ways, ar->entries);
            if (ar->ways && ar->entries % ar->ways)
                FAIL("%s: L%d array %d: %u entries are not a whole number of %u-way sets", g->name, l + 1, a,
                     ar->entries, ar->ways);
            uint32_t ways = ar->ways ? ar->ways : ar->entries;
            if (ways > MAX_WAYS)
                FAIL("%s: L%d array %d: %u ways; at most %u (a fully associative array counts its entries)", g->name,
                     l + 1, a, ways, MAX_WAYS);
            if (!ar->sizes || (ar->sizes & ~NF_PGBIT_ALL))
                FAIL("%s: L%d array %d: page sizes mask 0x%x; a non-empty subset of 4K, 2M, 1G", g->name, l + 1, a,
                     ar->sizes);
            if (ar->sizes & seen)
                FAIL("%s: L%d: two arrays hold the same page size", g->name, l + 1);
            if (ar->repl != NF_REPL_LRU && ar->repl != NF_REPL_PLRU)
                FAIL("%s: L%d array %d: unknown replacement %d", g->name, l + 1, a, (int)ar->repl);
            seen |= ar->sizes;
        }
        if (l == 0 && !(seen & NF_PGBIT(NF_PG_4K)))
            FAIL("%s: L1 holds no 4K pages", g->name);
    }
    for (int p = 0; p < NF_PWC_N; p++)
        if (g->pwc_entries[p] > 4096)
            FAIL("%s: page-walk cache %d: %u entries; at most 4096", g->name, p, g->pwc_entries[p]);
    return 0;
#undef FAIL
}

uint32_t nf_tlb_geom_entries(const nf_tlb_geom *g, int level, nf_page_size sz)
{
    if (level < 0 || level >= g->nlevels || (unsigned)sz >= NF_PG_NSIZES)
        return 0;
    for (int a = 0; a < g->level[level].narrays; a++)
        if (g->level[level].array[a].sizes & NF_PGBIT(sz))
            return g->level[level].array[a].entries;
    return 0;
}

uint64_t nf_tlb_geom_reach(const nf_tlb_geom *g, int level, nf_page_size sz)
{
    return (uint64_t)nf_tlb_geom_entries(g, level, sz) << nf_page_shift(sz);
}

static void fmt_bytes(char *buf, size_t cap, uint64_t b)
{
    if (b >= (1ull << 30) && b % (1ull << 30) == 0)
        snprintf(buf, cap, "%llu GiB", (unsigned long long)(b >> 30));
    else if (b >= (1ull << 20) && b % (1ull << 20) == 0)
        snprintf(buf, cap, "%llu MiB", (unsigned long long)(b >> 20));
    else
        snprintf(buf, cap, "%llu KiB", (unsigned long long)(b >> 10));
}

void nf_tlb_geom_print(const nf_tlb_geom *g, FILE *f, int indent)
{
    for (int l = 0; l < g->nlevels; l++)
        for (int a = 0; a < g->level[l].narrays; a++) {
            const nf_tlb_array_geom *ar = &g->level[l].array[a];
            char sizes[16] = "", assoc[32], reach[64] = "";
            for (int s = 0; s < NF_PG_NSIZES; s++)
                if (ar->sizes & NF_PGBIT(s)) {
                    char r[24];
                    if (sizes[0])
                        strcat(sizes, "/");
                    strcat(sizes, size_name[s]);
                    fmt_bytes(r, sizeof r, (uint64_t)ar->entries << nf_page_shift((nf_page_size)s));
                    size_t n = strlen(reach);
                    snprintf(reach + n, sizeof reach - n, "%s%s %s", n ? ", " : "", size_name[s], r);
                }
            if (ar->ways == 0 || ar->ways == ar->entries)
                snprintf(assoc, sizeof assoc, "fully associative");
            else
                snprintf(assoc, sizeof assoc, "%u-way", ar->ways);
            fprintf(f, "%*sL%d%s %5u entries, %-17s %-8s %-4s reach %s\n", indent, "", l + 1, l == 0 ? "d" : " ",
                    ar->entries, assoc, sizes, ar->repl == NF_REPL_LRU ? "LRU" : "PLRU", reach);
        }
    static const char *const pwc_name[NF_PWC_N] = {"PML4E", "PDPTE", "PDE"};
    fprintf(f, "%*spage-walk caches:", indent, "");
    bool any = false;
    for (int p = 0; p < NF_PWC_N; p++)
        if (g->pwc_entries[p]) {
            fprintf(f, " %s %u", pwc_name[p], g->pwc_entries[p]);
            any = true;
        }
    fprintf(f, "%s; ASID/PCID %s\n", any ? "" : " none", g->asid ? "on" : "off");
}
