/* tests/trace/test_trace.c: allocation traces, end to end.
 *   format     a synthetic trace encoded, decoded, saved and loaded the
 *              same; every truncation of it refused at a byte offset
 *              within the bytes left; every single-byte change refused
 *   known      trace_known's calls recorded (notfree trace record): the
 *              exact counts, sizes, peak live bytes, one thread
 *   threads    4 threads: 5 threads in the trace, the cross-thread frees
 *   fork       --process main keeps the parent's 5 mallocs, largest the
 *              child's 50
 *   replay     each trace replayed through the process's malloc (the one
 *              it was recorded under) is exact (calls by kind, peak live
 *              bytes), and through bins, slab and shard keeps the
 *              checksum of the blocks' contents (touch pages and full)
 * usage: test_trace NOTFREE TRACE_KNOWN RECORDER_LIB|"" TMPDIR
 * Without a recorder (sanitized builds) format and the synthetic replay run. */
#include "check.h"
#include "synthetic_trace.h"

#include "notfree/alloc.h"
#include "notfree/trace.h"
#include "notfree/workload.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *notfree, *known_exe, *recorder, *tmp;

static int same_events(const nf_trace *a, const nf_trace *b)
{
    if (a->nevents != b->nevents || a->nids != b->nids || a->nthreads != b->nthreads)
        return 0;
    for (uint64_t i = 0; i < a->nevents; i++)
        if (memcmp(&a->events[i], &b->events[i], sizeof a->events[i]) != 0)
            return 0;
    return 1;
}

/* The offset a refusal names ("... at byte N: ..."), or -1. */
static long refusal_offset(const char *err)
{
    const char *p = strstr(err, "at byte ");
    return p ? strtol(p + 8, NULL, 10) : -1;
}

static void test_format(void)
{
    nf_trace *t = synthetic_trace(20000, 5000), *u = NULL;
    unsigned char *buf;
    size_t n;
    char err[512];
    REQUIRE(nf_trace_encode(t, &buf, &n) == 0);
    CHECK(n < 20000 * 8, "%zu bytes for 20000 events: not compact", n);
    REQUIRE(nf_trace_decode(buf, n, &u, err, sizeof err) == 0);
    CHECK(same_events(t, u), "decoded events differ");
    CHECK_STR(u->command, "synthetic");
    nf_trace_free(u);
    char path[4096];
    snprintf(path, sizeof path, "%s/synthetic.nft", tmp);
    REQUIRE(nf_trace_save(t, path) == 0);
    u = NULL;
    CHECK(nf_trace_load(path, &u, err, sizeof err) == 0, "load: %s", err);
    CHECK(u && same_events(t, u), "loaded events differ");
    nf_trace_free(u);
    free(buf);
    nf_trace_free(t);

    /* every truncation and every changed byte of a small trace */
    t = synthetic_trace(300, 5000);
    REQUIRE(nf_trace_encode(t, &buf, &n) == 0);
    int bad_trunc = 0, bad_flip = 0;
    for (size_t len = 0; len < n; len++) {
        u = NULL;
        int rc = nf_trace_decode(buf, len, &u, err, sizeof err);
        long off = refusal_offset(err);
        if (rc != -2 || off < 0 || (size_t)off > len || !strstr(err, "truncated")) {
            if (!bad_trunc++)
                CHECK(0, "a %zu-byte prefix of %zu: rc %d, '%s'", len, n, rc, err);
        }
        nf_trace_free(u);
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] ^= 0x55;
        u = NULL;
        int rc = nf_trace_decode(buf, n, &u, err, sizeof err);
        long off = refusal_offset(err);
        if (rc != -2 || off < 0 || (size_t)off > n) {
            if (!bad_flip++)
                CHECK(0, "byte %zu changed: rc %d, '%s'", i, rc, rc ? err : "accepted");
        }
        nf_trace_free(u);
        buf[i] ^= 0x55;
    }
    CHECK(bad_trunc == 0, "%d truncations not refused with their offset", bad_trunc);
    CHECK(bad_flip == 0, "%d changed bytes not refused", bad_flip);
    printf("  synthetic: %zu bytes for 300 events; every prefix and every changed byte refused\n", n);
    free(buf);
    nf_trace_free(t);
}

/* ---- recording ---- */
static int run(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Records trace_known ARGS into tmp/name.nft; the loaded trace or NULL. */
static nf_trace *record(const char *name, const char *process, const char *a1, const char *a2)
{
    char out[4096], err[512];
    snprintf(out, sizeof out, "%s/%s.nft", tmp, name);
    char *argv[] = {(char *)notfree, "trace", "record",          "--out",    out,        "--process",
                    (char *)process, "--",    (char *)known_exe, (char *)a1, (char *)a2, NULL};
    int rc = run(argv);
    CHECK(rc == 0, "notfree trace record %s %s: exit %d", a1, a2 ? a2 : "", rc);
    nf_trace *t = NULL;
    if (rc == 0)
        CHECK(nf_trace_load(out, &t, err, sizeof err) == 0, "%s: %s", out, err);
    return t;
}

static nf_trace *known_trace, *threads_trace;

static void test_known(void)
{
    nf_trace *t = known_trace = record("known", "largest", "known", NULL);
    REQUIRE(t);
    nf_trace_stats s;
    REQUIRE(nf_trace_stats_compute(t, &s) == 0);
    static const uint64_t want[NF_TRACE_NOPS] = {100, 10, 5, 118, 1, 3, 2};
    for (unsigned k = 0; k < NF_TRACE_NOPS; k++)
        CHECK(s.calls[k] == want[k], "%s: %llu calls, want %llu", nf_trace_op_name(k), (unsigned long long)s.calls[k],
              (unsigned long long)want[k]);
    CHECK(s.peak_live_bytes == 104950, "peak live %llu, want 104950", (unsigned long long)s.peak_live_bytes);
    CHECK(s.end_live_blocks == 0, "%llu blocks never freed", (unsigned long long)s.end_live_blocks);
    CHECK(s.nthreads == 1, "%u threads", s.nthreads);
    CHECK(s.size_hist[nf_trace_size_bucket(1000)] == 24 && s.size_hist[nf_trace_size_bucket(1024)] == 76,
          "%llu births of 512-1023 B, %llu of 1-2 KiB; want 24 and 76",
          (unsigned long long)s.size_hist[nf_trace_size_bucket(1000)],
          (unsigned long long)s.size_hist[nf_trace_size_bucket(1024)]);
    CHECK(s.free_null == 2, "free(NULL) + realloc(NULL, n): %llu, want 2", (unsigned long long)s.free_null);
    /* the aligned calls carry their alignment */
    unsigned aligned = 0;
    for (uint64_t i = 0; i < t->nevents; i++)
        if (t->events[i].op >= NF_TRACE_MEMALIGN)
            aligned += t->events[i].arg == (t->events[i].op == NF_TRACE_MEMALIGN         ? 4096u
                                            : t->events[i].op == NF_TRACE_POSIX_MEMALIGN ? 64u
                                                                                         : 128u);
    CHECK(aligned == 6, "%u of 6 aligned calls carry their alignment", aligned);
    nf_trace_stats_free(&s);
}

static void test_threads(void)
{
    nf_trace *t = threads_trace = record("threads", "largest", "threads", "4");
    REQUIRE(t);
    nf_trace_stats s;
    REQUIRE(nf_trace_stats_compute(t, &s) == 0);
    CHECK(s.nthreads == 5, "%u threads, want 5", s.nthreads);
    CHECK(s.calls[NF_TRACE_MALLOC] >= 4040, "%llu mallocs, want >= 4040", (unsigned long long)s.calls[NF_TRACE_MALLOC]);
    CHECK(s.cross_thread_frees >= 40, "%llu cross-thread frees, want >= 40", (unsigned long long)s.cross_thread_frees);
    nf_trace_stats_free(&s);
}

static void test_fork(void)
{
    nf_trace *m = record("fork-main", "main", "fork", NULL), *l = record("fork-largest", "largest", "fork", NULL);
    REQUIRE(m && l);
    nf_trace_stats s;
    REQUIRE(nf_trace_stats_compute(m, &s) == 0);
    CHECK(s.calls[NF_TRACE_MALLOC] == 5 && s.calls[NF_TRACE_FREE] == 5, "main: %llu mallocs, %llu frees; want 5, 5",
          (unsigned long long)s.calls[NF_TRACE_MALLOC], (unsigned long long)s.calls[NF_TRACE_FREE]);
    nf_trace_stats_free(&s);
    REQUIRE(nf_trace_stats_compute(l, &s) == 0);
    CHECK(s.calls[NF_TRACE_MALLOC] == 50 && s.calls[NF_TRACE_FREE] == 50,
          "largest (the child): %llu mallocs, %llu frees; want 50, 50", (unsigned long long)s.calls[NF_TRACE_MALLOC],
          (unsigned long long)s.calls[NF_TRACE_FREE]);
    nf_trace_stats_free(&s);
    nf_trace_free(m);
    nf_trace_free(l);
}

/* ---- replay ---- */
static void replay_all(const char *name, const nf_trace *t)
{
    nf_trace_stats s;
    REQUIRE(nf_trace_stats_compute(t, &s) == 0);
    static const char *const allocs[] = {"system", "bins", "slab", "shard"};
    for (nf_trace_touch touch = NF_TRACE_TOUCH_PAGES; touch <= NF_TRACE_TOUCH_FULL; touch++) {
        uint64_t sum0 = 0;
        for (unsigned k = 0; k < 4; k++) {
            const nf_allocator *a = k ? nf_allocator_find(allocs[k]) : NULL;
            nf_heap *h = a ? a->create(NULL) : NULL;
            nf_mem_heap_ctx ctx;
            nf_mem_api mem = a ? nf_mem_heap(&ctx, a, h) : nf_mem_libc;
            REQUIREF(!a || h, "%s: no heap", allocs[k]);
            nf_trace_replay_opts o = {touch, 1};
            nf_trace_replay_result r;
            int rc = nf_trace_replay_run(t, &mem, &o, &r);
            CHECK(rc == 0, "%s via %s: corrupt %llu misaligned %llu not zeroed %llu failed %llu", name, allocs[k],
                  (unsigned long long)r.corrupt, (unsigned long long)r.misaligned, (unsigned long long)r.not_zeroed,
                  (unsigned long long)r.failed);
            for (unsigned op = 0; op < NF_TRACE_NOPS; op++)
                CHECK(r.calls[op] == s.calls[op], "%s via %s: %llu %s calls, the trace has %llu", name, allocs[k],
                      (unsigned long long)r.calls[op], nf_trace_op_name(op), (unsigned long long)s.calls[op]);
            CHECK(r.peak_live_bytes == s.peak_live_bytes, "%s via %s: peak live %llu, the trace's %llu", name,
                  allocs[k], (unsigned long long)r.peak_live_bytes, (unsigned long long)s.peak_live_bytes);
            CHECK(!r.extra && !r.failed, "%s via %s: %llu extra, %llu failed", name, allocs[k],
                  (unsigned long long)r.extra, (unsigned long long)r.failed);
            if (!k)
                sum0 = r.checksum;
            CHECK(r.checksum == sum0 && sum0, "%s via %s: checksum %llu, system's %llu", name, allocs[k],
                  (unsigned long long)r.checksum, (unsigned long long)sum0);
            if (h)
                a->destroy(h);
        }
    }
    printf("  %s: %llu events replayed exactly through system, bins, slab, shard\n", name,
           (unsigned long long)t->nevents);
    nf_trace_stats_free(&s);
}

static void test_replay(void)
{
    REQUIRE(known_trace && threads_trace);
    replay_all("known", known_trace);
    replay_all("threads", threads_trace);
}

/* No recorder needed: also runs in sanitized builds. */
static void test_replay_synthetic(void)
{
    nf_trace *syn = synthetic_trace(50000, 5000);
    replay_all("synthetic", syn);
    nf_trace_free(syn);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: test_trace NOTFREE TRACE_KNOWN RECORDER_LIB|\"\" TMPDIR\n");
        return 2;
    }
    notfree = argv[1];
    known_exe = argv[2];
    recorder = argv[3];
    tmp = argv[4];
    mkdir(tmp, 0755);
    TEST(test_format);
    TEST(test_replay_synthetic);
    if (recorder[0]) {
        TEST(test_known);
        TEST(test_threads);
        TEST(test_fork);
        TEST(test_replay);
    } else {
        printf("no recorder in this build (sanitized): recording tests skipped\n");
    }
    nf_trace_free(known_trace);
    nf_trace_free(threads_trace);
    return check_done();
}
