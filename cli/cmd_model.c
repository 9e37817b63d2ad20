/* cli/cmd_model.c: `notfree model`: run a generated address stream through
 * the kernel model (TLB of a named geometry, page table, faults, reclaim)
 * and print what it counted.
 *
 * The region is one anonymous read-write mapping of the working set in one
 * model process, untouched before the run: the first visit to each page is
 * a demand-zero fault, as in a real program. Every figure is the model's.
 *
 * Parse, plan, run, report. The plan bounds what the run can make real
 * (nf_model_footprint of the frames and slots it can reach: at most one
 * page per access) and refuses a run whose bound exceeds half of the
 * box's MemAvailable unless --force. A run that lasts over 2 s shows its
 * progress on stderr when stderr is a terminal (see progress_show).
 */
#include "commands.h"
#include "model_alloc.h"

#include <notfree/model.h>
#include <notfree/patterns.h>
#include <notfree/tlb.h>

#include <notfree/json.h>

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_WS ((uint64_t)64 << 20)
#define DEFAULT_ACCESSES 1000000ull
/* The share of MemAvailable a run may bound itself to without --force. */
#define BUDGET_NUM 1
#define BUDGET_DEN 2
#define PROGRESS_AFTER_NS 2000000000ull /* runs longer than this show progress */
#define PROGRESS_EVERY_NS 250000000ull  /* at most 4 updates a second */
#define VA_SLACK ((uint64_t)4 << 30)    /* model address space beyond the working set */
/* The model's address space ends below 2^47 and starts at 2^44. */
#define MAX_WS (((uint64_t)1 << 47) - ((uint64_t)1 << 44) - VA_SLACK - ((uint64_t)4 << 30))

void nf_cmd_model_help(FILE *f)
{
    fprintf(f,
            "usage: notfree model --preset NAME [--pattern seq|stride|random|chase] [--ws SIZE]\n"
            "                     [--accesses N] [--page 4k|2m] [--frames N] [--swap SIZE] [--json]\n"
            "                     [--reads] [--stride PAGES] [--seed N] [--force]\n"
            "       notfree model --allocator A[,A...] --workload W[,W...] [--preset P[,P...]]\n"
            "                     [--ops N] [--seed N] [--threads 1] [--json] [--chart FILE]\n"
            "       notfree model --allocator A[,A...] --trace FILE [--preset P[,P...]]\n"
            "                     [--json] [--chart FILE]\n"
            "       notfree model --list-presets [--json]\n\n"
            "Runs an address stream through the kernel model: the TLBs of a CPU's geometry,\n"
            "the page table, demand paging, reclaim to swap, OOM. Prints the model's counts.\n\n"
            "  --preset NAME    skylake, goldencove, zen3, zen4, or host (this CPU, from CPUID)\n"
            "  --pattern P      seq, stride, random (pages independently uniform), chase (one\n"
            "                   random cycle through the pages); each visit touches a random\n"
            "                   cache line of the page (default random)\n"
            "  --ws SIZE        working set, a whole number of pages (default 64M)\n"
            "  --accesses N     accesses to replay (default %llu)\n"
            "  --page 4k|2m     page size; 2m maps the region with THP (default 4k)\n"
            "  --frames N       physical frames of the model (4 KiB each; page tables count);\n"
            "                   default: enough for the working set and its page tables\n"
            "  --swap SIZE      swap space (default 0: no swap; OOM when frames run out)\n"
            "  --reads          loads instead of stores (untouched pages then map the zero page)\n"
            "  --stride PAGES   the stride of --pattern stride (default 16)\n"
            "  --seed N         the pattern's seed (default 1)\n"
            "  --json           one JSON object instead of the table\n"
            "  --list-presets   the presets and their geometry (with --json: one JSON object)\n"
            "  --force          run even when the model may need more than half of the\n"
            "                   memory available (MemAvailable in /proc/meminfo)\n\n"
            "SIZE: a number of bytes with an optional binary suffix K, M, G or T (64K, 2M, 1G).\n"
            "The model's own memory grows with what the run reaches (at most one page per\n"
            "access): a run whose bound exceeds half of MemAvailable is refused (exit 2)\n"
            "unless --force. Runs over 2 s show their progress on stderr when it is a\n"
            "terminal. NOTFREE_MEMINFO names a file to read instead of /proc/meminfo.\n"
            "Errors (unknown preset, bad size, impossible geometry) exit with status 2.\n\n"
            "Allocators on the model (--allocator): each workload (the comparison's, see\n"
            "`notfree compare --help`) runs on one thread with a heap of each allocator (bins,\n"
            "slab, shard; not system: it takes no page source) sitting on a model process in\n"
            "live mode: every access the workload and the allocator make to the heap's pages\n"
            "is seen by the model when it must be (a fault, an L1 TLB miss, a first store).\n"
            "One row per allocator, workload and preset: model page faults (demand-zero, COW,\n"
            "zero page, swap-in), RSS and VSZ (peak and at the end), page-table pages, VMAs,\n"
            "the allocator's page calls, L1/L2 TLB misses, walks and walk references (totals\n"
            "and per 1,000 operations), wall time and time per trapped access.\n"
            "  --preset P,...   TLB presets (default zen4); each runs live in its own child\n"
            "                   process, all with the same access stream\n"
            "  --ops N          operations (default per workload, each under 30 s here:\n"
            "                   small-churn 20000, random-mix 10000, large 150, trim 5000)\n"
            "  --threads 1      live mode serves one thread (the model is single-threaded)\n"
            "  --chart FILE     also draw model_alloc: FILE's base name + .png and .svg\n"
            "  --trace FILE     instead of --workload: replay a trace recorded with `notfree trace\n"
            "                   record` (docs/TRACE.md) through each allocator, every call in the\n"
            "                   recorded global order on one thread (a multithreaded program's\n"
            "                   calls too); operations are the trace's calls. Touch policy: each\n"
            "                   block returned gets its first and last 8 bytes (all of a smaller\n"
            "                   one) and one byte in every 4 KiB from its start written at birth,\n"
            "                   so each of its pages is written once; before each free and\n"
            "                   realloc those bytes are read back (a changed block fails the run).\n"
            "                   Blocks the program never freed are freed at the replay's end,\n"
            "                   before the final figures (as a workload's are). A trace that\n"
            "                   cannot be read, or is corrupt or truncated (refused with the\n"
            "                   byte offset), exits 2\n"
            "A trapped access costs 0.1-0.3 ms: runs over 2 s show progress on stderr.\n",
            DEFAULT_ACCESSES);
}

int nf_model_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "notfree model: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (notfree model --help for usage)\n");
    return 2;
}

/* Bytes with an optional K/M/G/T (binary) suffix; "KiB"-style and "B" accepted. */
static int parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    case 't':
    case 'T':
        shift = 40;
        end++;
        break;
    default:
        break;
    }
    if (shift && (!strcmp(end, "iB") || !strcmp(end, "ib")))
        end += 2;
    else if (!strcmp(end, "B") || !strcmp(end, "b"))
        end++;
    if (*end)
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int nf_model_parse_count(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static void list_presets_text(void)
{
    const char *const *names = nf_tlb_preset_names();
    for (int i = 0; names[i]; i++) {
        nf_tlb_geom g;
        char err[512];
        if (nf_tlb_preset(names[i], &g, err, sizeof err) != 0) {
            printf("%s\n  unavailable: %s\n\n", names[i], err);
            continue;
        }
        printf("%s: %s\n", g.name, g.cpu);
        nf_tlb_geom_print(&g, stdout, 2);
        printf("  source: %s\n\n", g.source);
    }
}

/* {"presets": [{name, cpu, levels: [[arrays]], pwc, asid, source} or
 * {name, available: false, reason}]} */
static void list_presets_json(void)
{
    static const char *const size_names[NF_PG_NSIZES] = {"4K", "2M", "1G"};
    const char *const *names = nf_tlb_preset_names();
    json_t *presets = json_array();
    for (int i = 0; names[i]; i++) {
        nf_tlb_geom g;
        char err[512];
        json_t *p = json_object();
        nf_json_set_str(p, "name", names[i]);
        if (nf_tlb_preset(names[i], &g, err, sizeof err) != 0) {
            json_object_set_new(p, "available", json_false());
            nf_json_set_str(p, "reason", err);
            json_array_append_new(presets, p);
            continue;
        }
        json_object_set_new(p, "available", json_true());
        nf_json_set_str(p, "cpu", g.cpu);
        json_t *levels = json_array();
        for (int l = 0; l < g.nlevels; l++) {
            json_t *arrays = json_array();
            for (int a = 0; a < g.level[l].narrays; a++) {
                const nf_tlb_array_geom *ar = &g.level[l].array[a];
                bool full = ar->ways == 0 || ar->ways == ar->entries;
                json_t *sizes = json_array();
                for (int sz = 0; sz < NF_PG_NSIZES; sz++)
                    if (ar->sizes & NF_PGBIT(sz))
                        json_array_append_new(sizes, json_string(size_names[sz]));
                json_array_append_new(arrays, json_pack("{s:I, s:I, s:b, s:o, s:s}", "entries", (json_int_t)ar->entries,
                                                        "ways", (json_int_t)(full ? ar->entries : ar->ways),
                                                        "fully_associative", full, "page_sizes", sizes, "replacement",
                                                        ar->repl == NF_REPL_LRU ? "LRU" : "PLRU"));
            }
            json_array_append_new(levels, arrays);
        }
        json_object_set_new(p, "levels", levels);
        json_object_set_new(p, "pwc",
                            json_pack("{s:I, s:I, s:I}", "pml4e", (json_int_t)g.pwc_entries[NF_PWC_PML4E], "pdpte",
                                      (json_int_t)g.pwc_entries[NF_PWC_PDPTE], "pde",
                                      (json_int_t)g.pwc_entries[NF_PWC_PDE]));
        json_object_set_new(p, "asid", json_boolean(g.asid));
        nf_json_set_str(p, "source", g.source);
        json_array_append_new(presets, p);
    }
    json_t *o = json_pack("{s:o}", "presets", presets);
    json_dumpf(o, stdout, NF_JSON_FLAGS | JSON_INDENT(1));
    fputc('\n', stdout);
    json_decref(o);
}

typedef struct opts {
    const char *preset, *pattern_name;
    nf_pattern_kind pattern;
    uint64_t ws, accesses, frames, swap, stride, seed;
    unsigned page_shift;
    bool json, reads, frames_set, force, list;
} opts;

static void print_json(const opts *o, const nf_tlb_stats *ts, const nf_model_counters *mc,
                       const nf_model_proc_counters *pc, uint64_t done, const char *stopped)
{
    json_t *j = json_object();
    nf_json_set_str(j, "preset", o->preset);
    nf_json_set_str(j, "pattern", o->pattern_name);
    struct {
        const char *key;
        uint64_t v;
    } u[] = {
        {"ws_bytes", o->ws},
        {"page_bytes", (uint64_t)1 << o->page_shift},
        {"accesses", done},
        {"l1_hits", ts->hits[0]},
        {"l1_misses", ts->misses[0]},
        {"l2_hits", ts->hits[1]},
        {"l2_misses", ts->misses[1]},
        {"walks", ts->walks},
        {"walk_refs", ts->walk_refs},
        {"pwc_hits", ts->pwc_hits},
        {"minor_faults", mc->minor_faults},
        {"major_faults", mc->major_faults},
        {"cow_faults", mc->cow_faults},
        {"zero_page_maps", mc->zero_page_maps},
        {"swap_outs", mc->swap_outs},
        {"swap_ins", mc->swap_ins},
        {"oom_kills", mc->oom_kills},
        {"rss_pages", pc->rss_pages},
        {"vsz_pages", pc->vsz_pages},
        {"pt_pages", pc->pt_pages},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        nf_json_set_int(j, u[i].key, (long long)u[i].v);
    nf_json_set_real(j, "walk_rate", done ? (double)ts->walks / (double)done : 0.0);
    nf_json_set_int(j, "frames", (long long)mc->frames_total);
    nf_json_set_int(j, "frames_used", (long long)mc->frames_used);
    nf_json_set_int(j, "swap_pages", (long long)mc->swap_total);
    nf_json_set_str(j, "stopped", stopped);
    json_dumpf(j, stdout, NF_JSON_FLAGS);
    fputc('\n', stdout);
    json_decref(j);
}

static void print_table(const opts *o, const nf_tlb_geom *g, const nf_tlb_stats *ts, const nf_model_counters *mc,
                        const nf_model_proc_counters *pc, uint64_t done, const char *stopped)
{
    double n = done ? (double)done : 1.0;
    printf("preset %s (%s), pattern %s, ws %" PRIu64 " bytes in %" PRIu64 "-byte pages, %" PRIu64 " %s\n", o->preset,
           g->cpu, o->pattern_name, o->ws, (uint64_t)1 << o->page_shift, done, o->reads ? "loads" : "stores");
    nf_tlb_geom_print(g, stdout, 2);
    printf("\nTLB (model)\n");
    printf("  L1 hits      %12" PRIu64 "  %6.2f%%\n", ts->hits[0], 100.0 * (double)ts->hits[0] / n);
    printf("  L1 misses    %12" PRIu64 "  %6.2f%%\n", ts->misses[0], 100.0 * (double)ts->misses[0] / n);
    printf("  L2 hits      %12" PRIu64 "  %6.2f%%\n", ts->hits[1], 100.0 * (double)ts->hits[1] / n);
    printf("  L2 misses    %12" PRIu64 "  %6.2f%%\n", ts->misses[1], 100.0 * (double)ts->misses[1] / n);
    printf("  walks        %12" PRIu64 "  %6.2f%% of accesses\n", ts->walks, 100.0 * (double)ts->walks / n);
    printf("  walk refs    %12" PRIu64 "  %6.2f per walk\n", ts->walk_refs,
           ts->walks ? (double)ts->walk_refs / (double)ts->walks : 0.0);
    printf("  PWC hits     %12" PRIu64 "\n", ts->pwc_hits);
    printf("\nkernel (model)\n");
    printf("  minor faults %12" PRIu64 "  (COW %" PRIu64 ", zero page %" PRIu64 ")\n", mc->minor_faults, mc->cow_faults,
           mc->zero_page_maps);
    printf("  major faults %12" PRIu64 "\n", mc->major_faults);
    printf("  swap out/in  %12" PRIu64 " / %" PRIu64 "\n", mc->swap_outs, mc->swap_ins);
    printf("  OOM kills    %12" PRIu64 "\n", mc->oom_kills);
    printf("  RSS          %12" PRIu64 " pages, VSZ %" PRIu64 " pages, page tables %" PRIu64 " pages\n", pc->rss_pages,
           pc->vsz_pages, pc->pt_pages);
    printf("  frames       %12" PRIu64 " (%" PRIu64 " used), swap %" PRIu64 " pages\n", mc->frames_total,
           mc->frames_used, mc->swap_total);
    if (stopped)
        printf("\nstopped early: %s\n", stopped);
}

/* ---- parse ---- */

/* Fills o from argv; 0, or the exit status of a usage error. */
static int parse(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        static const char *const valued[] = {"--preset", "--pattern", "--ws",   "--swap", "--accesses",
                                             "--frames", "--stride",  "--seed", "--page", NULL};
        static const char *const bare[] = {"--json", "--reads", "--force", "--list-presets", NULL};
        bool known = false, takes = false;
        for (int k = 0; valued[k]; k++)
            takes |= !strcmp(a, valued[k]);
        for (int k = 0; bare[k]; k++)
            known |= !strcmp(a, bare[k]);
        if (!known && !takes)
            return nf_model_usage_error("unknown flag '%s'", a);
        if (takes && !v)
            return nf_model_usage_error("%s needs a value", a);
        if (!strcmp(a, "--json"))
            o->json = true;
        else if (!strcmp(a, "--reads"))
            o->reads = true;
        else if (!strcmp(a, "--force"))
            o->force = true;
        else if (!strcmp(a, "--list-presets"))
            o->list = true;
        else if (!strcmp(a, "--preset"))
            o->preset = v;
        else if (!strcmp(a, "--pattern")) {
            if (nf_pattern_parse(v, &o->pattern) != 0)
                return nf_model_usage_error("unknown pattern '%s' (seq, stride, random, chase)", v);
            o->pattern_name = nf_pattern_name(o->pattern);
        } else if (!strcmp(a, "--ws")) {
            if (parse_size(v, &o->ws) != 0 || o->ws == 0)
                return nf_model_usage_error("bad --ws '%s': a size such as 4096, 64K, 256M, 1G, 1T", v);
        } else if (!strcmp(a, "--swap")) {
            if (parse_size(v, &o->swap) != 0)
                return nf_model_usage_error("bad --swap '%s': a size such as 0, 64M, 1G, 1T", v);
        } else if (!strcmp(a, "--accesses")) {
            if (nf_model_parse_count(v, &o->accesses) != 0 || o->accesses == 0)
                return nf_model_usage_error("bad --accesses '%s': a positive whole number", v);
        } else if (!strcmp(a, "--frames")) {
            if (nf_model_parse_count(v, &o->frames) != 0 || o->frames == 0)
                return nf_model_usage_error("bad --frames '%s': a positive whole number of 4 KiB frames", v);
            o->frames_set = true;
        } else if (!strcmp(a, "--stride")) {
            if (nf_model_parse_count(v, &o->stride) != 0 || o->stride == 0)
                return nf_model_usage_error("bad --stride '%s': a positive number of pages", v);
        } else if (!strcmp(a, "--seed")) {
            if (nf_model_parse_count(v, &o->seed) != 0)
                return nf_model_usage_error("bad --seed '%s': a whole number", v);
        } else if (!strcmp(a, "--page")) {
            if (!strcmp(v, "4k") || !strcmp(v, "4K"))
                o->page_shift = 12;
            else if (!strcmp(v, "2m") || !strcmp(v, "2M"))
                o->page_shift = 21;
            else
                return nf_model_usage_error("bad --page '%s': 4k or 2m", v);
        }
        if (takes)
            i++;
    }
    return 0;
}

/* ---- plan ---- */

/* "1.5 GiB" */
static void fmt_bytes(char *buf, size_t cap, uint64_t b)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%" PRIu64 " bytes", b);
    else
        snprintf(buf, cap, "%.1f %s", v, unit[u]);
}

/* MemAvailable in bytes (from NOTFREE_MEMINFO or /proc/meminfo), or -1
 * with the reason in why. */
static long long mem_available(char *why, size_t cap)
{
    const char *path = getenv("NOTFREE_MEMINFO");
    if (!path || !*path)
        path = "/proc/meminfo";
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[256];
    long long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1)
            break;
    fclose(f);
    if (kib < 0) {
        snprintf(why, cap, "no MemAvailable line in %s", path);
        return -1;
    }
    return kib * 1024;
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* An upper bound on the real memory of this run: every access reaches at
 * most one new page (512 with 2 MiB pages), and its tables; frame bytes
 * become real for the tables, and for every frame once reclaim (swap)
 * writes frames out and reuses them; plus the chase permutation. */
static uint64_t run_bound(const opts *o)
{
    uint64_t pages = o->ws / NF_MODEL_PAGE;
    uint64_t per = o->page_shift == 21 ? 512 : 1;
    uint64_t touch = o->accesses > pages / per ? pages : o->accesses * per;
    uint64_t tables = min64(o->ws / NF_MODEL_HUGE_PAGE + 1, o->accesses) +
                      min64(o->ws / ((uint64_t)1 << 30) + 1, o->accesses) + 2 + 1;
    uint64_t frames = min64(o->frames, touch + tables + 1);
    uint64_t written = min64(frames, tables + (o->swap ? touch : 0));
    uint64_t slots = min64(o->swap / NF_MODEL_PAGE, touch);
    uint64_t chase = o->pattern == NF_PAT_CHASE ? 2 * sizeof(uint32_t) * (o->ws >> o->page_shift) : 0;
    return nf_model_footprint(frames, written, slots) + chase;
}

/* Checks what parse could not, sets the default frames and refuses a run
 * that may not fit; 0 or an exit status. */
static int plan(opts *o, nf_tlb_geom *g)
{
    char err[512];
    if (!o->preset)
        return nf_model_usage_error("%s", "--preset NAME is required (--list-presets shows them)");
    if (nf_tlb_preset(o->preset, g, err, sizeof err) != 0)
        return nf_model_usage_error("%s", err);
    uint64_t page = (uint64_t)1 << o->page_shift;
    if (o->ws < page || o->ws % page) {
        char msg[128];
        snprintf(msg, sizeof msg, "--ws %" PRIu64 " is not a whole number of %s pages", o->ws,
                 o->page_shift == 12 ? "4 KiB" : "2 MiB");
        return nf_model_usage_error("%s", msg);
    }
    if (o->swap % NF_MODEL_PAGE)
        return nf_model_usage_error("%s", "--swap is not a whole number of 4 KiB pages");
    if (o->swap / NF_MODEL_PAGE > NF_MODEL_MAX_FRAMES)
        return nf_model_usage_error("%s", "--swap is larger than the model's 16 TiB of swap slots");
    /* Page tables: one PT per 2 MiB, one PD per 1 GiB, a PDP, the root;
     * plus the zero page and slack. */
    uint64_t need = o->ws / NF_MODEL_PAGE + o->ws / (2u << 20) + o->ws / (1u << 30) + 64;
    if (o->ws > MAX_WS || (!o->frames_set && need > NF_MODEL_MAX_FRAMES))
        return nf_model_usage_error("%s", "--ws is larger than the model can map (about 16 TiB of 4 KiB frames)");
    if (!o->frames_set)
        o->frames = need;
    if (o->frames < 16)
        return nf_model_usage_error("%s",
                                    "--frames must be at least 16 (the zero page and page tables live there too)");
    if (o->frames > NF_MODEL_MAX_FRAMES)
        return nf_model_usage_error("%s", "--frames is more than the model's 4294967294");

    uint64_t bound = run_bound(o);
    long long avail = mem_available(err, sizeof err);
    if (avail < 0) {
        fprintf(stderr, "notfree model: cannot check the model's size against available memory (%s)\n", err);
        return 0;
    }
    uint64_t budget = (uint64_t)avail / BUDGET_DEN * BUDGET_NUM;
    if (bound > budget && !o->force) {
        char b[32], a[32];
        fmt_bytes(b, sizeof b, bound);
        fmt_bytes(a, sizeof a, (uint64_t)avail);
        fprintf(stderr,
                "notfree model: this run may need up to %s of real memory for the model, more than half of the "
                "%s available (MemAvailable); use a smaller --ws, --accesses or --swap, or --force\n",
                b, a);
        return 2;
    }
    return 0;
}

/* ---- run ---- */

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Progress on stderr: a line rewritten in place at most 4 times a second,
 * once the command has lasted 2 s, only when stderr is a terminal (logs
 * and pipes stay clean); its last state stays on its own line at the end.
 * Two phases can take that long: building a chase cycle over many pages,
 * and the accesses. */
typedef struct progress {
    bool tty, shown;
    uint64_t start, next; /* ns */
    const char *what;     /* the unit of the current phase */
} progress;

static void progress_show(progress *pr, uint64_t done, uint64_t total, bool last)
{
    if (!pr->tty || (last && !pr->shown))
        return;
    uint64_t t = now_ns();
    if (!last && t < pr->next)
        return;
    pr->next = t + PROGRESS_EVERY_NS;
    pr->shown = true;
    fprintf(stderr, "\r\033[Knotfree model: %" PRIu64 " of %" PRIu64 " %s (%.0f%%), %.1f s%s", done, total, pr->what,
            100.0 * (double)done / (double)total, (double)(t - pr->start) / 1e9, last ? "\n" : "");
}

static void chase_progress(void *arg, uint64_t done, uint64_t total) { progress_show(arg, done, total, false); }

/* The replay; returns the accesses done and sets *stopped when it ended early. */
static uint64_t run(const opts *o, nf_model_proc *p, nf_pattern *pat, progress *pr, const char **stopped)
{
    uint64_t done = 0;
    *stopped = NULL;
    pr->what = "accesses";
    while (done < o->accesses) {
        uint64_t chunk = min64(o->accesses - done, 1u << 16);
        for (uint64_t k = 0; k < chunk; k++, done++) {
            nf_model_result r = nf_model_access(p, nf_pattern_next(pat), !o->reads);
            if (r != NF_MODEL_OK) {
                *stopped = r == NF_MODEL_KILLED
                               ? "the process was OOM-killed (frames ran out and nothing could be reclaimed)"
                               : nf_model_result_name(r);
                progress_show(pr, done, o->accesses, true);
                return done;
            }
        }
        progress_show(pr, done, o->accesses, false);
    }
    progress_show(pr, done, o->accesses, true);
    return done;
}

int nf_cmd_model(int argc, char **argv)
{
    opts o = {.preset = NULL,
              .pattern_name = "random",
              .pattern = NF_PAT_RANDOM,
              .ws = DEFAULT_WS,
              .accesses = DEFAULT_ACCESSES,
              .page_shift = 12,
              .seed = 1};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--allocator") || !strcmp(argv[i], "--workload") || !strcmp(argv[i], "--trace"))
            return nf_cmd_model_alloc(argc, argv);
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    if (o.list) {
        if (o.json)
            list_presets_json();
        else
            list_presets_text();
        return 0;
    }
    progress pr = {.tty = isatty(2) == 1, .start = now_ns(), .what = ""};
    pr.next = pr.start + PROGRESS_AFTER_NS;
    nf_tlb_geom g;
    rc = plan(&o, &g);
    if (rc)
        return rc;

    char err[512];
    nf_tlb *tlb = nf_tlb_create(&g, err, sizeof err);
    if (!tlb)
        return nf_model_usage_error("%s", err);
    nf_model_config cfg = {
        .frames = (size_t)o.frames,
        .swap_pages = (size_t)(o.swap / NF_MODEL_PAGE),
        .overcommit = 1,
        .va_size = o.ws + VA_SLACK,
        .tlb = tlb,
    };
    nf_model *m = nf_model_create(&cfg);
    if (!m) {
        fprintf(stderr, "notfree model: cannot create the model (%s frames, %s): %s\n",
                o.frames_set ? "given" : "default", o.swap ? "with swap" : "no swap", strerror(errno));
        nf_tlb_destroy(tlb);
        return errno == EINVAL ? 2 : 1;
    }
    nf_model_proc *p = nf_model_proc_create(m, "replay");
    unsigned flags = o.page_shift == 21 ? NF_MODEL_MAP_HUGE : 0;
    uint64_t base = p ? nf_model_mmap(p, 0, o.ws, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, flags) : NF_MODEL_FAILED;
    if (base == NF_MODEL_FAILED) {
        fprintf(stderr, "notfree model: cannot map the %" PRIu64 "-byte working set in the model: %s\n", o.ws,
                strerror(errno));
        rc = 1;
        goto out;
    }
    nf_pattern pat;
    pr.what = "pages of the chase cycle";
    if (nf_pattern_init_progress(&pat, o.pattern, base, o.ws, o.page_shift, o.stride, o.seed, chase_progress, &pr) !=
        0) {
        fprintf(stderr, "notfree model: out of memory for the %s pattern\n", o.pattern_name);
        rc = 1;
        goto out;
    }
    nf_tlb_reset_stats(tlb);
    const char *stopped;
    uint64_t done = run(&o, p, &pat, &pr, &stopped);
    nf_pattern_fini(&pat);

    /* ---- report ---- */
    nf_model_counters mc;
    nf_model_proc_counters pc;
    nf_model_counters_get(m, &mc);
    nf_model_proc_counters_get(p, &pc);
    const nf_tlb_stats *ts = nf_tlb_get_stats(tlb);
    if (o.json)
        print_json(&o, ts, &mc, &pc, done, stopped);
    else
        print_table(&o, &g, ts, &mc, &pc, done, stopped);
out:
    nf_model_destroy(m);
    nf_tlb_destroy(tlb);
    return rc;
}
