/* cli/cmd_model.c: `notfree model`: run a generated address stream through
 * the kernel model (TLB of a named geometry, page table, faults, reclaim)
 * and print what it counted.
 *
 * The region is one anonymous read-write mapping of the working set in one
 * model process, untouched before the run: the first visit to each page is
 * a demand-zero fault, as in a real program. Every figure is the model's.
 */
#include "commands.h"

#include <notfree/model.h>
#include <notfree/patterns.h>
#include <notfree/tlb.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WS ((uint64_t)64 << 20)
#define DEFAULT_ACCESSES 1000000ull

void nf_cmd_model_help(FILE *f)
{
    fprintf(f,
            "usage: notfree model --preset NAME [--pattern seq|stride|random|chase] [--ws SIZE]\n"
            "                     [--accesses N] [--page 4k|2m] [--frames N] [--swap SIZE] [--json]\n"
            "                     [--reads] [--stride PAGES] [--seed N]\n"
            "       notfree model --list-presets\n\n"
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
            "  --list-presets   the presets and their geometry\n\n"
            "SIZE: a number of bytes with an optional binary suffix K, M or G (64K, 2M, 1G).\n"
            "Errors (unknown preset, bad size, impossible geometry) exit with status 2.\n",
            DEFAULT_ACCESSES);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "notfree model: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(notfree model --help for usage)\n");
    return 2;
}

/* Bytes with an optional K/M/G (binary) suffix; "KiB"-style and "B" accepted. */
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
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
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

static int parse_count(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int list_presets(void)
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
    return 0;
}

typedef struct opts {
    const char *preset, *pattern_name;
    nf_pattern_kind pattern;
    uint64_t ws, accesses, frames, swap, stride, seed;
    unsigned page_shift;
    bool json, reads, frames_set;
} opts;

static void print_json(const opts *o, const nf_tlb_stats *ts, const nf_model_counters *mc,
                       const nf_model_proc_counters *pc, uint64_t done, const char *stopped)
{
    printf("{\"preset\": \"%s\", \"pattern\": \"%s\", \"ws_bytes\": %" PRIu64 ", \"page_bytes\": %" PRIu64
           ", \"accesses\": %" PRIu64 ",\n",
           o->preset, o->pattern_name, o->ws, (uint64_t)1 << o->page_shift, done);
    printf(" \"l1_hits\": %" PRIu64 ", \"l1_misses\": %" PRIu64 ", \"l2_hits\": %" PRIu64 ", \"l2_misses\": %" PRIu64
           ",\n",
           ts->hits[0], ts->misses[0], ts->hits[1], ts->misses[1]);
    printf(" \"walks\": %" PRIu64 ", \"walk_refs\": %" PRIu64 ", \"pwc_hits\": %" PRIu64 ",\n", ts->walks,
           ts->walk_refs, ts->pwc_hits);
    printf(" \"minor_faults\": %" PRIu64 ", \"major_faults\": %" PRIu64 ", \"cow_faults\": %" PRIu64
           ", \"zero_page_maps\": %" PRIu64 ",\n",
           mc->minor_faults, mc->major_faults, mc->cow_faults, mc->zero_page_maps);
    printf(" \"swap_outs\": %" PRIu64 ", \"swap_ins\": %" PRIu64 ", \"oom_kills\": %" PRIu64 ",\n", mc->swap_outs,
           mc->swap_ins, mc->oom_kills);
    printf(" \"rss_pages\": %" PRIu64 ", \"vsz_pages\": %" PRIu64 ", \"pt_pages\": %" PRIu64 ",\n", pc->rss_pages,
           pc->vsz_pages, pc->pt_pages);
    printf(" \"walk_rate\": %.6f, \"frames\": %" PRIu64 ", \"swap_pages\": %" PRIu64 ", \"stopped\": %s%s%s}\n",
           done ? (double)ts->walks / (double)done : 0.0, mc->frames_total, mc->swap_total, stopped ? "\"" : "",
           stopped ? stopped : "null", stopped ? "\"" : "");
}

static void print_table(const opts *o, const nf_tlb_geom *g, const nf_tlb_stats *ts, const nf_model_counters *mc,
                        const nf_model_proc_counters *pc, uint64_t done, const char *stopped)
{
    double n = done ? (double)done : 1.0;
    printf("preset %s (%s), pattern %s, ws %" PRIu64 " bytes in %" PRIu64 "-byte pages, %" PRIu64 " %s\n",
           o->preset, g->cpu, o->pattern_name, o->ws, (uint64_t)1 << o->page_shift, done,
           o->reads ? "loads" : "stores");
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
    printf("  minor faults %12" PRIu64 "  (COW %" PRIu64 ", zero page %" PRIu64 ")\n", mc->minor_faults,
           mc->cow_faults, mc->zero_page_maps);
    printf("  major faults %12" PRIu64 "\n", mc->major_faults);
    printf("  swap out/in  %12" PRIu64 " / %" PRIu64 "\n", mc->swap_outs, mc->swap_ins);
    printf("  OOM kills    %12" PRIu64 "\n", mc->oom_kills);
    printf("  RSS          %12" PRIu64 " pages, VSZ %" PRIu64 " pages, page tables %" PRIu64 " pages\n",
           pc->rss_pages, pc->vsz_pages, pc->pt_pages);
    printf("  frames       %12" PRIu64 " (%" PRIu64 " used), swap %" PRIu64 " pages\n", mc->frames_total,
           mc->frames_used, mc->swap_total);
    if (stopped)
        printf("\nstopped early: %s\n", stopped);
}

int nf_cmd_model(int argc, char **argv)
{
    opts o = {.preset = NULL, .pattern_name = "random", .pattern = NF_PAT_RANDOM, .ws = DEFAULT_WS,
              .accesses = DEFAULT_ACCESSES, .page_shift = 12, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(a, "--list-presets"))
            return list_presets();
        static const char *const valued[] = {"--preset", "--pattern", "--ws", "--swap", "--accesses",
                                             "--frames", "--stride", "--seed", "--page", NULL};
        bool known = false;
        for (int k = 0; valued[k]; k++)
            known |= !strcmp(a, valued[k]);
        if (!strcmp(a, "--json") || !strcmp(a, "--reads"))
            takes = false;
        else if (!known)
            return usage_error("unknown flag '%s'", a);
        else if (!v)
            return usage_error("%s needs a value", a);
        if (!strcmp(a, "--json"))
            o.json = true;
        else if (!strcmp(a, "--reads"))
            o.reads = true;
        else if (!strcmp(a, "--preset"))
            o.preset = v;
        else if (!strcmp(a, "--pattern")) {
            if (nf_pattern_parse(v, &o.pattern) != 0)
                return usage_error("unknown pattern '%s' (seq, stride, random, chase)", v);
            o.pattern_name = nf_pattern_name(o.pattern);
        } else if (!strcmp(a, "--ws")) {
            if (parse_size(v, &o.ws) != 0 || o.ws == 0)
                return usage_error("bad --ws '%s': a size such as 4096, 64K, 256M, 1G", v);
        } else if (!strcmp(a, "--swap")) {
            if (parse_size(v, &o.swap) != 0)
                return usage_error("bad --swap '%s': a size such as 0, 64M, 1G", v);
        } else if (!strcmp(a, "--accesses")) {
            if (parse_count(v, &o.accesses) != 0 || o.accesses == 0)
                return usage_error("bad --accesses '%s': a positive whole number", v);
        } else if (!strcmp(a, "--frames")) {
            if (parse_count(v, &o.frames) != 0 || o.frames == 0)
                return usage_error("bad --frames '%s': a positive whole number of 4 KiB frames", v);
            o.frames_set = true;
        } else if (!strcmp(a, "--stride")) {
            if (parse_count(v, &o.stride) != 0 || o.stride == 0)
                return usage_error("bad --stride '%s': a positive number of pages", v);
        } else if (!strcmp(a, "--seed")) {
            if (parse_count(v, &o.seed) != 0)
                return usage_error("bad --seed '%s': a whole number", v);
        } else if (!strcmp(a, "--page")) {
            if (!strcmp(v, "4k") || !strcmp(v, "4K"))
                o.page_shift = 12;
            else if (!strcmp(v, "2m") || !strcmp(v, "2M"))
                o.page_shift = 21;
            else
                return usage_error("bad --page '%s': 4k or 2m", v);
        } else
            return usage_error("unknown flag '%s'", a);
        if (takes)
            i++;
    }
    if (!o.preset)
        return usage_error("%s", "--preset NAME is required (--list-presets shows them)");

    nf_tlb_geom g;
    char err[512];
    if (nf_tlb_preset(o.preset, &g, err, sizeof err) != 0)
        return usage_error("%s", err);
    uint64_t page = (uint64_t)1 << o.page_shift;
    if (o.ws < page || o.ws % page) {
        char msg[128];
        snprintf(msg, sizeof msg, "--ws %" PRIu64 " is not a whole number of %s pages", o.ws,
                 o.page_shift == 12 ? "4 KiB" : "2 MiB");
        return usage_error("%s", msg);
    }
    if (o.swap % NF_MODEL_PAGE)
        return usage_error("%s", "--swap is not a whole number of 4 KiB pages");
    uint64_t pages4k = o.ws / NF_MODEL_PAGE;
    /* Page tables: one PT per 2 MiB, one PD per 1 GiB, a PDP, the root;
     * plus the zero page and slack. */
    uint64_t need = pages4k + o.ws / (2u << 20) + o.ws / (1u << 30) + 64;
    if (!o.frames_set)
        o.frames = need;
    if (o.frames < 16)
        return usage_error("%s", "--frames must be at least 16 (the zero page and page tables live there too)");

    nf_tlb *tlb = nf_tlb_create(&g, err, sizeof err);
    if (!tlb)
        return usage_error("%s", err);
    nf_model_config cfg = {
        .frames = (size_t)o.frames,
        .swap_pages = (size_t)(o.swap / NF_MODEL_PAGE),
        .overcommit = 1,
        .va_size = o.ws + ((uint64_t)4 << 30),
        .tlb = tlb,
    };
    nf_model *m = nf_model_create(&cfg);
    if (!m) {
        fprintf(stderr, "notfree model: cannot create the model (%s frames, %s): %s\n",
                o.frames_set ? "given" : "default", o.swap ? "with swap" : "no swap", strerror(errno));
        nf_tlb_destroy(tlb);
        return errno == EINVAL ? 2 : 1;
    }
    int rc = 0;
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
    if (nf_pattern_init(&pat, o.pattern, base, o.ws, o.page_shift, o.stride, o.seed) != 0) {
        fprintf(stderr, "notfree model: out of memory for the %s pattern\n", o.pattern_name);
        rc = 1;
        goto out;
    }
    nf_tlb_reset_stats(tlb);
    const char *stopped = NULL;
    uint64_t done = 0;
    for (; done < o.accesses; done++) {
        nf_model_result r = nf_model_access(p, nf_pattern_next(&pat), !o.reads);
        if (r != NF_MODEL_OK) {
            stopped = nf_model_result_name(r);
            if (r == NF_MODEL_KILLED)
                stopped = "the process was OOM-killed (frames ran out and nothing could be reclaimed)";
            break;
        }
    }
    nf_pattern_fini(&pat);
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
