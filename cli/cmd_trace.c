/* cli/cmd_trace.c: `notfree trace`: record (cmd_trace_record.c), stats
 * and replay (cmd_trace_replay.c) of allocation traces
 * (notfree/trace.h, docs/TRACE.md). This file: the dispatch, the help,
 * the shared errors, and `trace stats`. */
#include "commands.h"
#include "cmd_trace.h"

#include "notfree/json.h"
#include "notfree/trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(f, "usage: notfree trace record --out FILE [--process largest|main] -- PROGRAM [ARGS...]\n"
               "       notfree trace stats FILE [--json]\n"
               "       notfree trace replay FILE --allocator NAME[,NAME...] [--touch none|pages|full]\n"
               "                            [--no-check] [--reps N]\n\n"
               "record   runs PROGRAM with the recording drop-in (libnotfree-trace.so) preloaded\n"
               "         and writes its malloc, calloc, realloc, free, memalign, posix_memalign\n"
               "         and aligned_alloc calls (valloc and pvalloc as memalign, reallocarray as\n"
               "         realloc) to FILE: op, size, alignment, result id, thread (docs/TRACE.md).\n"
               "         Every process image the program starts is recorded; FILE keeps one:\n"
               "         --process largest (default: the image with the most calls, e.g. cc1\n"
               "         under gcc) or main (the program itself). The others are listed.\n"
               "stats    calls by kind, requested sizes, peak live bytes, block lifetimes (in\n"
               "         events from birth to free), threads and cross-thread frees (--json:\n"
               "         the same as JSON on stdout).\n"
               "replay   replays FILE natively (the real page source) through each allocator:\n"
               "         bins, slab, shard (a heap of its own), or system (this process's\n"
               "         malloc), each in a child process of its own, and prints the replay's\n"
               "         time (CLOCK_MONOTONIC), its peak RSS (VmHWM, reset by\n"
               "         /proc/self/clear_refs just before the replay) and its growth over the\n"
               "         RSS before, whether the replay was exact (the same calls of each kind,\n"
               "         the same peak live bytes as the trace), and the contents checksum.\n"
               "  --touch   what replay writes into each block at birth: pages (default: the\n"
               "            first and last 8 bytes and one byte in every 4 KiB, so each page of\n"
               "            the block is written once; the model's policy too), full (every\n"
               "            byte), none\n"
               "  --no-check  do not read the written bytes back before each free\n"
               "  --reps N  repetitions per allocator (default 3; the median time is shown)\n\n"
               "Multithreaded traces are replayed in the recorded global order on one thread:\n"
               "the order is exact, the concurrency is not reproduced (notfree compare --trace\n"
               "runs one copy of the trace per thread for that).\n"
               "Exit: 0 ok; 1 the program could not be recorded, or a replay found a damaged\n"
               "block or a failed call; 2 bad flags, or a file that is not a valid trace (the\n"
               "message names the byte offset).\n");
}

void nf_cmd_trace_help(FILE *f) { help(f); }

int nf_trace_bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "notfree trace: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(notfree trace --help shows the flags)\n");
    return 2;
}

nf_trace *nf_trace_open(const char *path, int *rc)
{
    char err[512];
    nf_trace *t = NULL;
    int r = nf_trace_load(path, &t, err, sizeof err);
    if (r == 0)
        return t;
    fprintf(stderr, "notfree trace: %s: %s\n", path, err);
    *rc = 2;
    return NULL;
}

const char *nf_trace_fmt_bytes(char *buf, size_t len, uint64_t b)
{
    if (b >= 10ULL << 30)
        snprintf(buf, len, "%.1f GiB", (double)b / (1 << 30));
    else if (b >= 10ULL << 20)
        snprintf(buf, len, "%.1f MiB", (double)b / (1 << 20));
    else if (b >= 10ULL << 10)
        snprintf(buf, len, "%.1f KiB", (double)b / (1 << 10));
    else
        snprintf(buf, len, "%llu B", (unsigned long long)b);
    return buf;
}

static void bar(double frac)
{
    int n = (int)(frac * 40 + 0.5);
    for (int i = 0; i < n; i++)
        putchar('#');
}

static void print_sizes(const nf_trace_stats *s)
{
    uint64_t births = 0;
    for (unsigned k = 0; k < NF_TRACE_SIZE_BUCKETS; k++)
        births += s->size_hist[k];
    printf("sizes (blocks born, by requested size):\n");
    for (unsigned k = 0; k < NF_TRACE_SIZE_BUCKETS; k++) {
        if (!s->size_hist[k])
            continue;
        char range[64];
        uint64_t lo = nf_trace_size_bucket_low(k);
        if (k == 0)
            snprintf(range, sizeof range, "0 B");
        else if (k == NF_TRACE_SIZE_BUCKETS - 1)
            snprintf(range, sizeof range, ">= 4 GiB");
        else if (lo < 1024)
            snprintf(range, sizeof range, "%llu-%llu B", (unsigned long long)lo, (unsigned long long)(2 * lo - 1));
        else if (lo < (1 << 20))
            snprintf(range, sizeof range, "%llu-%llu KiB", (unsigned long long)lo >> 10, (unsigned long long)lo >> 9);
        else
            snprintf(range, sizeof range, "%llu-%llu MiB", (unsigned long long)lo >> 20, (unsigned long long)lo >> 19);
        double frac = births ? (double)s->size_hist[k] / (double)births : 0;
        printf("  %-14s %10llu %5.1f%% ", range, (unsigned long long)s->size_hist[k], 100 * frac);
        bar(frac);
        putchar('\n');
    }
}

static void print_lifetimes(const nf_trace_stats *s)
{
    static const char *const names[NF_TRACE_LIFE_BUCKETS] = {"< 10",    "10-99",   "100-999", "1e3-1e4",
                                                             "1e4-1e5", "1e5-1e6", "1e6-1e7", ">= 1e7"};
    uint64_t total = s->end_live_blocks;
    for (unsigned k = 0; k < NF_TRACE_LIFE_BUCKETS; k++)
        total += s->life_hist[k];
    printf("lifetimes (events from a block's birth to its free):\n");
    for (unsigned k = 0; k < NF_TRACE_LIFE_BUCKETS; k++) {
        double frac = total ? (double)s->life_hist[k] / (double)total : 0;
        printf("  %-14s %10llu %5.1f%% ", names[k], (unsigned long long)s->life_hist[k], 100 * frac);
        bar(frac);
        putchar('\n');
    }
    double frac = total ? (double)s->end_live_blocks / (double)total : 0;
    printf("  %-14s %10llu %5.1f%% ", "never freed", (unsigned long long)s->end_live_blocks, 100 * frac);
    bar(frac);
    putchar('\n');
}

static void print_threads(const nf_trace *t, const nf_trace_stats *s)
{
    printf("threads: %u; cross-thread frees: %llu\n", s->nthreads, (unsigned long long)s->cross_thread_frees);
    for (uint32_t i = 0; i < s->nthreads && i < 16; i++)
        printf("  thread %-6u %10llu events %5.1f%%\n", i, (unsigned long long)s->thread_calls[i],
               t->nevents ? 100.0 * (double)s->thread_calls[i] / (double)t->nevents : 0);
    if (s->nthreads > 16)
        printf("  (%u more threads)\n", s->nthreads - 16);
}

/* The same figures as JSON on stdout (through jansson). */
static void stats_json(const char *path, const nf_trace *t, const nf_trace_stats *s)
{
    json_t *j = json_object(), *calls = json_object(), *sizes = json_array(), *live = json_object(),
           *life = json_array(), *threads = json_array();
    nf_json_set_str(j, "file", path);
    nf_json_set_int(j, "version", NF_TRACE_VERSION);
    nf_json_set_int(j, "bytes", (long long)t->file_bytes);
    nf_json_set_str(j, "command", t->command);
    nf_json_set_int(j, "events", (long long)t->nevents);
    nf_json_set_int(j, "blocks_born", t->nids);
    nf_json_set_int(j, "threads", t->nthreads);
    for (unsigned k = 0; k < NF_TRACE_NOPS; k++)
        nf_json_set_int(calls, nf_trace_op_name(k), (long long)s->calls[k]);
    json_object_set_new(j, "calls", calls);
    nf_json_set_int(j, "null_results", (long long)s->null_results);
    nf_json_set_int(j, "free_null", (long long)s->free_null);
    for (unsigned k = 0; k < NF_TRACE_SIZE_BUCKETS; k++) {
        if (!s->size_hist[k])
            continue;
        json_t *b = json_object();
        nf_json_set_int(b, "min_bytes", (long long)nf_trace_size_bucket_low(k));
        nf_json_set_int(b, "births", (long long)s->size_hist[k]);
        json_array_append_new(sizes, b);
    }
    json_object_set_new(j, "sizes", sizes); /* a bucket holds [min_bytes, 2 * min_bytes) */
    nf_json_set_int(j, "bytes_requested", (long long)s->bytes_requested);
    nf_json_set_int(live, "peak_bytes", (long long)s->peak_live_bytes);
    nf_json_set_int(live, "peak_blocks", (long long)s->peak_live_blocks);
    nf_json_set_int(live, "never_freed_bytes", (long long)s->end_live_bytes);
    nf_json_set_int(live, "never_freed_blocks", (long long)s->end_live_blocks);
    json_object_set_new(j, "live", live);
    long long below = 10;
    for (unsigned k = 0; k < NF_TRACE_LIFE_BUCKETS; k++, below *= 10) {
        json_t *b = json_object();
        if (k < NF_TRACE_LIFE_BUCKETS - 1)
            nf_json_set_int(b, "below_events", below);
        else
            json_object_set_new(b, "below_events", json_null());
        nf_json_set_int(b, "freed", (long long)s->life_hist[k]);
        json_array_append_new(life, b);
    }
    json_object_set_new(j, "lifetimes", life);
    nf_json_set_int(j, "cross_thread_frees", (long long)s->cross_thread_frees);
    for (uint32_t i = 0; i < s->nthreads; i++)
        json_array_append_new(threads, json_integer((json_int_t)s->thread_calls[i]));
    json_object_set_new(j, "thread_events", threads);
    json_dumpf(j, stdout, NF_JSON_FLAGS | JSON_INDENT(2));
    putchar('\n');
    json_decref(j);
}

static int stats(int argc, char **argv)
{
    int json = argc == 3 && !strcmp(argv[2], "--json");
    if (argc == 3 && !strcmp(argv[1], "--json")) {
        json = 1;
        argv[1] = argv[2];
    }
    if (argc < 2 || (argc == 2 && argv[1][0] == '-'))
        return nf_trace_bad("stats: which FILE?");
    if (argc > 3 || (argc == 3 && !json))
        return nf_trace_bad("stats: one FILE and --json at most");
    int rc = 0;
    nf_trace *t = nf_trace_open(argv[1], &rc);
    if (!t)
        return rc;
    nf_trace_stats s;
    if (nf_trace_stats_compute(t, &s) != 0) {
        nf_trace_free(t);
        fprintf(stderr, "notfree trace: out of memory\n");
        return 1;
    }
    if (json) {
        stats_json(argv[1], t, &s);
        nf_trace_stats_free(&s);
        nf_trace_free(t);
        return 0;
    }
    printf("trace: %s (version %d, %llu bytes, %.2f bytes per event)\n", argv[1], NF_TRACE_VERSION,
           (unsigned long long)t->file_bytes, t->nevents ? (double)t->file_bytes / (double)t->nevents : 0);
    printf("command: %s\n", t->command);
    printf("events: %llu  blocks born: %u  threads: %u\n", (unsigned long long)t->nevents, t->nids, t->nthreads);
    printf("calls:\n");
    for (unsigned k = 0; k < NF_TRACE_NOPS; k++)
        printf("  %-14s %10llu\n", nf_trace_op_name(k), (unsigned long long)s.calls[k]);
    printf("  NULL results: %llu; free(NULL) and realloc(NULL, n): %llu\n", (unsigned long long)s.null_results,
           (unsigned long long)s.free_null);
    print_sizes(&s);
    char b1[32], b2[32], b3[32];
    printf("requested: %s in all\n", nf_trace_fmt_bytes(b1, sizeof b1, s.bytes_requested));
    printf("live: peak %s (%llu bytes), peak blocks %llu; never freed %s in %llu blocks\n",
           nf_trace_fmt_bytes(b2, sizeof b2, s.peak_live_bytes), (unsigned long long)s.peak_live_bytes,
           (unsigned long long)s.peak_live_blocks, nf_trace_fmt_bytes(b3, sizeof b3, s.end_live_bytes),
           (unsigned long long)s.end_live_blocks);
    print_lifetimes(&s);
    print_threads(t, &s);
    nf_trace_stats_free(&s);
    nf_trace_free(t);
    return 0;
}

int nf_cmd_trace(int argc, char **argv)
{
    if (argc < 2)
        return nf_trace_bad("which subcommand: record, stats or replay?");
    if (!strcmp(argv[1], "record"))
        return nf_trace_record_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stats"))
        return stats(argc - 1, argv + 1);
    if (!strcmp(argv[1], "replay"))
        return nf_trace_replay_main(argc - 1, argv + 1);
    return nf_trace_bad("unknown subcommand '%s' (record, stats, replay)", argv[1]);
}
