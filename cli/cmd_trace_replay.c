/* cli/cmd_trace_replay.c: `notfree trace replay FILE --allocator LIST`:
 * the trace replayed natively through each allocator, each replay in a
 * child process of its own (forked after the trace is loaded, so every
 * child starts alike), in turns (A B C A B C ...).
 *
 * In the child: the replay's tables are written (nf_trace_replay_start),
 * VmHWM is reset (echo 5 > /proc/self/clear_refs), the RSS is read, the
 * replay runs, VmHWM is read again: the peak while replaying, and its
 * growth over the RSS before, which is the allocator's and its blocks'. */
#include "commands.h"
#include "cmd_trace.h"

#include "notfree/alloc.h"
#include "notfree/trace.h"
#include "notfree/workload.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct outcome {
    int ran, rc;
    nf_trace_replay_result res;
    long hwm_kib, before_kib; /* -1: unavailable */
    int hwm_reset;            /* clear_refs accepted */
} outcome;

static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t k = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && sscanf(line + k, " %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static int reset_hwm(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int ok = fd >= 0 && write(fd, "5", 1) == 1;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* In the child: one replay; the outcome goes up the pipe. */
static void child(const nf_trace *t, const char *name, const nf_trace_replay_opts *o, int fd)
{
    outcome out = {.ran = 1, .rc = -1, .hwm_kib = -1, .before_kib = -1};
    nf_mem_heap_ctx ctx;
    nf_mem_api mem = nf_mem_libc;
    const nf_allocator *a = strcmp(name, "system") ? nf_allocator_find(name) : NULL;
    nf_heap *h = a ? a->create(NULL) : NULL;
    if (a && h)
        mem = nf_mem_heap(&ctx, a, h);
    nf_trace_replay *r = (!a || h) ? nf_trace_replay_start(t, &mem, o) : NULL;
    if (r) {
        out.hwm_reset = reset_hwm();
        out.before_kib = status_kib("VmRSS:");
        nf_trace_replay_step(r, t->nevents);
        out.hwm_kib = status_kib("VmHWM:");
        out.rc = nf_trace_replay_finish(r, &out.res);
    }
    if (h)
        a->destroy(h);
    if (write(fd, &out, sizeof out) != (ssize_t)sizeof out)
        _exit(1);
    _exit(0);
}

static int run_one(const nf_trace *t, const char *name, const nf_trace_replay_opts *o, outcome *out)
{
    int p[2];
    memset(out, 0, sizeof *out);
    if (pipe(p) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        child(t, name, o, p[1]);
    }
    close(p[1]);
    ssize_t n = read(p[0], out, sizeof *out);
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof *out || !out->ran) {
        memset(out, 0, sizeof *out);
        out->rc = -1;
        if (WIFSIGNALED(st))
            fprintf(stderr, "notfree trace: %s: the replay was killed by signal %d (%s)\n", name, WTERMSIG(st),
                    strsignal(WTERMSIG(st)));
        return -1;
    }
    return 0;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One allocator's line: the median time over the reps; RSS of the median rep. */
static int report(const nf_trace *t, const nf_trace_stats *s, const char *name, outcome *o, unsigned reps)
{
    double secs[64];
    unsigned ok = 0;
    for (unsigned k = 0; k < reps; k++)
        if (o[k].ran && o[k].rc == 0)
            secs[ok++] = o[k].res.seconds;
    const outcome *first = &o[0];
    if (!first->ran) {
        printf("%-8s the replay did not finish (see above)\n", name);
        return 1;
    }
    qsort(secs, ok, sizeof *secs, by_double);
    int exact = first->res.peak_live_bytes == s->peak_live_bytes && !first->res.failed && !first->res.extra;
    for (unsigned k = 0; k < NF_TRACE_NOPS; k++)
        exact &= first->res.calls[k] == s->calls[k];
    char hwm[32] = "unavailable", growth[32] = "unavailable";
    if (first->hwm_kib >= 0 && first->hwm_reset)
        snprintf(hwm, sizeof hwm, "%ld", first->hwm_kib);
    if (first->hwm_kib >= 0 && first->before_kib >= 0 && first->hwm_reset)
        snprintf(growth, sizeof growth, "%ld", first->hwm_kib - first->before_kib);
    double med = ok ? secs[ok / 2] : NAN;
    printf("%-8s %9.4f %9.2f %12s %12s   %-5s %20llu  %s\n", name, med, ok ? (double)t->nevents / med / 1e6 : NAN, hwm,
           growth, exact ? "yes" : "NO", (unsigned long long)first->res.checksum,
           first->rc == 0       ? "ok"
           : first->res.corrupt ? "DAMAGED BLOCKS"
           : first->res.failed  ? "CALLS FAILED"
                                : "FAILED");
    if (first->rc != 0 || !exact)
        fprintf(stderr,
                "notfree trace: %s: corrupt %llu, misaligned %llu, calloc not zeroed %llu, failed %llu,"
                " extra %llu, peak live %llu (trace: %llu)\n",
                name, (unsigned long long)first->res.corrupt, (unsigned long long)first->res.misaligned,
                (unsigned long long)first->res.not_zeroed, (unsigned long long)first->res.failed,
                (unsigned long long)first->res.extra, (unsigned long long)first->res.peak_live_bytes,
                (unsigned long long)s->peak_live_bytes);
    return first->rc != 0;
}

int nf_trace_replay_main(int argc, char **argv)
{
    const char *file = NULL, *list = NULL;
    nf_trace_replay_opts o = {NF_TRACE_TOUCH_PAGES, 1};
    unsigned reps = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-check")) {
            o.check = 0;
        } else if (!strcmp(a, "--allocator") && v) {
            list = v, i++;
        } else if (!strcmp(a, "--touch") && v) {
            if (!strcmp(v, "none"))
                o.touch = NF_TRACE_TOUCH_NONE;
            else if (!strcmp(v, "pages"))
                o.touch = NF_TRACE_TOUCH_PAGES;
            else if (!strcmp(v, "full"))
                o.touch = NF_TRACE_TOUCH_FULL;
            else
                return nf_trace_bad("replay: --touch '%s': none, pages or full", v);
            i++;
        } else if (!strcmp(a, "--reps") && v) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (*end || end == v || v[0] == '-' || n < 1 || n > 64)
                return nf_trace_bad("replay: --reps '%s': a count from 1 to 64", v);
            reps = (unsigned)n, i++;
        } else if (a[0] == '-' || file) {
            return nf_trace_bad("replay: bad or incomplete flag '%s'", a);
        } else {
            file = a;
        }
    }
    if (!file)
        return nf_trace_bad("replay: which FILE?");
    if (!list)
        return nf_trace_bad("replay: --allocator NAME is required (bins, slab, shard, system)");
    char names[1024], *items[16];
    unsigned n = 0;
    snprintf(names, sizeof names, "%s", list);
    for (char *s = names, *save = NULL, *tok; (tok = strtok_r(s, ",", &save)); s = NULL) {
        if (n == 16)
            return nf_trace_bad("replay: at most 16 allocators");
        if (strcmp(tok, "system") && !nf_allocator_find(tok))
            return nf_trace_bad("replay: unknown allocator '%s' (bins, slab, shard, system)", tok);
        items[n++] = tok;
    }
    if (!n || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
        return nf_trace_bad("replay: --allocator '%s': an empty item", list);
    int rc = 0;
    nf_trace *t = nf_trace_open(file, &rc);
    if (!t)
        return rc;
    nf_trace_stats s;
    if (nf_trace_stats_compute(t, &s) != 0) {
        nf_trace_free(t);
        return 1;
    }
    outcome *out = calloc((size_t)n * reps, sizeof *out);
    if (!out) {
        nf_trace_stats_free(&s);
        nf_trace_free(t);
        return 1;
    }
    fprintf(stderr, "notfree trace: replaying %llu events x %u allocators x %u reps\n", (unsigned long long)t->nevents,
            n, reps);
    for (unsigned r = 0; r < reps; r++)
        for (unsigned k = 0; k < n; k++) {
            outcome *x = &out[k * reps + r];
            run_one(t, items[k], &o, x);
            fprintf(stderr, "[%u/%u] %-8s rep %u: %s %.3f s\n", r * n + k + 1, reps * n, items[k], r + 1,
                    x->ran && x->rc == 0 ? "ok" : "FAILED", x->res.seconds);
        }
    printf("trace: %s: %llu events, peak live %llu bytes; touch %s, check %s; replayed in order on one thread\n", file,
           (unsigned long long)t->nevents, (unsigned long long)s.peak_live_bytes,
           o.touch == NF_TRACE_TOUCH_NONE    ? "none"
           : o.touch == NF_TRACE_TOUCH_PAGES ? "pages"
                                             : "full",
           o.check ? "on" : "off");
    printf("%-8s %9s %9s %12s %12s   %-5s %20s  %s\n", "alloc", "time_s", "Mcalls/s", "peak_rss_kib", "growth_kib",
           "exact", "checksum", "verdict");
    for (unsigned k = 0; k < n; k++)
        rc |= report(t, &s, items[k], &out[k * reps], reps);
    printf("time: the median of %u replays (CLOCK_MONOTONIC); peak_rss_kib: VmHWM of the replaying process,"
           " reset before the replay; growth_kib: over its RSS just before\n",
           reps);
    free(out);
    nf_trace_stats_free(&s);
    nf_trace_free(t);
    return rc ? 1 : 0;
}
