/* test_counters_tally: the hardware-counter path of the benches, tested on
 * a box without a PMU.
 *
 * 1. Without a PMU every hardware counter of NF_CTR_SET_BENCH_HW is
 *    unavailable with a reason, gives NAN (never 0), and the run's context
 *    lists it under `unavailable` ("counter:<name>") with that reason; on a
 *    box with a PMU the available ones count.
 * 2. nf_counters_stand_in puts the perf page-faults software event behind
 *    each hardware counter; touching N fresh pages per round, every counter
 *    then sums to exactly rounds * N: open, start, stop, the enabled/running
 *    read, the sums, the merge of two threads' tallies and the per-unit
 *    figure all run the code the hardware events run. Only the events'
 *    type and config (counters.c's table) stay untested here.
 * 3. The same through the real shim: a bench reports its tally with
 *    nf_ctr_tally_report_hw, and the JSON has hw_<event>_per_page = 1.
 */
#include "../common/check.h"
#include "notfree/bench.h"
#include "notfree/context.h"
#include "notfree/counters_tally.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { N = 256, ROUNDS = 4, BENCH_ITERATIONS = 3 };

static const nf_counter_id hw_ids[] = {
    NF_CTR_PERF_CYCLES,           NF_CTR_PERF_INSTRUCTIONS, NF_CTR_PERF_DTLB_LOAD_MISSES, NF_CTR_PERF_DTLB_STORE_MISSES,
    NF_CTR_PERF_ITLB_LOAD_MISSES,
};
#define NHW (sizeof hw_ids / sizeof hw_ids[0])

static size_t page;

/* Not instrumented: ASan would fault in shadow pages of its own. */
__attribute__((no_sanitize_address, noinline)) static void touch(volatile char *p, size_t pages)
{
    for (size_t i = 0; i < pages; i++)
        p[i * page] = 1;
}

/* N fresh pages touched inside one start/stop of t. */
static void touch_round(nf_ctr_tally *t)
{
    char *p = mmap(NULL, N * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    madvise(p, N * page, MADV_NOHUGEPAGE);
    nf_ctr_tally_start(t);
    touch(p, N);
    nf_ctr_tally_stop(t);
    munmap(p, N * page);
}

static void test_names(void)
{
    char buf[96];
    nf_ctr_tally_hw_name(NF_CTR_PERF_DTLB_LOAD_MISSES, "access", buf, sizeof buf);
    CHECK_STR(buf, "hw_dtlb_load_misses_per_access");
    nf_ctr_tally_hw_name(NF_CTR_PERF_DTLB_STORE_MISSES, "page", buf, sizeof buf);
    CHECK_STR(buf, "hw_dtlb_store_misses_per_page");
    nf_ctr_tally_hw_name(NF_CTR_PERF_CYCLES, "munmap", buf, sizeof buf);
    CHECK_STR(buf, "hw_cycles_per_munmap");
    for (size_t i = 0; i < NHW; i++)
        CHECK(NF_CTR_SET_BENCH_HW & NF_CTR_BIT(hw_ids[i]), "%s not in the bench set", nf_counter_name(hw_ids[i]));
    CHECK(nf_counter_source_of(NF_CTR_PERF_DTLB_STORE_MISSES) == NF_SRC_PERF_HARDWARE,
          "dTLB-store-misses is not a hardware event");
}

/* Before any stand-in: what this box really gives. */
static void test_unavailable_listed(void)
{
    nf_ctr_tally t;
    nf_ctr_tally_open(&t, NF_CTR_SET_BENCH_HW);
    touch_round(&t);
    nf_counters_probe_all();
    char *ctx = nf_context_json();
    REQUIRE(ctx);
    json_error_t e;
    json_t *j = json_loads(ctx, 0, &e);
    free(ctx);
    REQUIREF(j, "context JSON: %s", e.text);
    json_t *un = json_object_get(j, "unavailable");
    int missing = 0;
    for (size_t i = 0; i < NHW; i++) {
        nf_counter_id id = hw_ids[i];
        const char *why = NULL;
        bool ok = nf_counters_available(&t.set, id, &why);
        char key[64];
        snprintf(key, sizeof key, "counter:%s", nf_counter_name(id));
        const char *listed = json_string_value(json_object_get(un, key));
        if (ok) {
            CHECK(!isnan(nf_ctr_tally_per(&t, id, N)), "%s available but NAN", key);
            CHECK(listed == NULL, "%s available yet listed unavailable: %s", key, listed);
            continue;
        }
        missing++;
        CHECK(why && why[0], "%s unavailable without a reason", key);
        CHECK(isnan(nf_ctr_tally_per(&t, id, N)), "%s unavailable but gives %g", key, nf_ctr_tally_per(&t, id, N));
        CHECK(listed != NULL, "%s unavailable but not in the context's unavailable", key);
        CHECK(listed && why && strcmp(listed, why) == 0, "%s: context says \"%s\", set says \"%s\"", key,
              listed ? listed : "(null)", why ? why : "(null)");
        if (listed)
            printf("%s: %s\n", key, listed);
    }
    printf("hardware counters unavailable here: %d of %zu\n", missing, NHW);
    json_decref(j);
    nf_ctr_tally_close(&t);
    /* closed: the flags and sums stay readable */
    CHECK(t.rounds == 1, "rounds %llu", (unsigned long long)t.rounds);
}

static void stand_in_all(void)
{
    for (size_t i = 0; i < NHW; i++)
        REQUIRE(nf_counters_stand_in(hw_ids[i], NF_CTR_PERF_PAGE_FAULTS) == 0);
}

static void test_stand_in_rejects(void)
{
    CHECK(nf_counters_stand_in(NF_CTR_RU_MINFLT, NF_CTR_PERF_PAGE_FAULTS) == -1, "getrusage cannot have a stand-in");
    CHECK(nf_counters_stand_in(NF_CTR_PERF_CYCLES, NF_CTR_RSS_KIB) == -1, "a /proc gauge cannot stand in");
    CHECK(nf_counters_stand_in(NF_CTR_COUNT, NF_CTR_PERF_PAGE_FAULTS) == -1, "no such counter");
}

static void test_stand_in_counts_pages(void)
{
    nf_ctr_tally t;
    nf_ctr_tally_open(&t, NF_CTR_SET_BENCH_HW);
    for (size_t i = 0; i < NHW; i++) {
        const char *why;
        REQUIREF(nf_counters_available(&t.set, hw_ids[i], &why), "%s with a stand-in: %s", nf_counter_name(hw_ids[i]),
                 why);
    }
    for (int r = 0; r < ROUNDS; r++)
        touch_round(&t);
    nf_ctr_tally_close(&t);
    CHECK(t.rounds == ROUNDS, "rounds %llu", (unsigned long long)t.rounds);
    for (size_t i = 0; i < NHW; i++) {
        CHECK(t.sum[hw_ids[i]] == ROUNDS * N, "%s: %g events for %d pages touched", nf_counter_name(hw_ids[i]),
              t.sum[hw_ids[i]], ROUNDS * N);
        CHECK(nf_ctr_tally_per(&t, hw_ids[i], ROUNDS * N) == 1.0, "%s per page %g", nf_counter_name(hw_ids[i]),
              nf_ctr_tally_per(&t, hw_ids[i], ROUNDS * N));
    }
    CHECK(isnan(nf_ctr_tally_per(&t, NF_CTR_PERF_CYCLES, 0)), "per 0 units is a number");
}

static void *thread_round(void *p)
{
    nf_ctr_tally *t = p;
    nf_ctr_tally_open(t, NF_CTR_SET_BENCH_HW);
    touch_round(t);
    nf_ctr_tally_close(t);
    return NULL;
}

/* Each thread counts only itself; the merge adds them. */
static void test_stand_in_merge_threads(void)
{
    nf_ctr_tally a, b;
    pthread_t ta, tb;
    REQUIRE(pthread_create(&ta, NULL, thread_round, &a) == 0);
    REQUIRE(pthread_create(&tb, NULL, thread_round, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.sum[NF_CTR_PERF_DTLB_LOAD_MISSES] == N, "thread a: %g", a.sum[NF_CTR_PERF_DTLB_LOAD_MISSES]);
    nf_ctr_tally_merge(&a, &b);
    for (size_t i = 0; i < NHW; i++)
        CHECK(a.sum[hw_ids[i]] == 2 * N, "%s merged: %g for %d pages", nf_counter_name(hw_ids[i]), a.sum[hw_ids[i]],
              2 * N);
    CHECK(a.rounds == 2, "merged rounds %llu", (unsigned long long)a.rounds);
    /* a counter one side lacks is unavailable in the merge */
    b.set.avail[NF_CTR_PERF_CYCLES] = false;
    nf_ctr_tally_merge(&a, &b);
    CHECK(isnan(nf_ctr_tally_per(&a, NF_CTR_PERF_CYCLES, 1)), "merge kept a half-available counter");
}

/* ---- through the shim ---- */

static void stand_in_bench(nf_state *st, void *user)
{
    (void)user;
    nf_ctr_tally t;
    nf_ctr_tally_open(&t, NF_CTR_SET_BENCH_HW);
    double pages = 0;
    NF_BENCH_LOOP(st)
    {
        touch_round(&t);
        pages += N;
    }
    nf_ctr_tally_report_hw(st, &t, pages, "page");
    nf_ctr_tally_close(&t);
}

static void test_report_through_shim(void)
{
    char out[] = "/tmp/test_counters_tally.XXXXXX";
    int fd = mkstemp(out);
    REQUIRE(fd >= 0);
    close(fd);
    char flag[64];
    snprintf(flag, sizeof flag, "--benchmark_out=%s", out);
    char *argv[] = {"test_counters_tally", "--benchmark_filter=^t/stand_in", flag, "--benchmark_out_format=json", NULL};
    nf_bench_iterations(nf_bench_register("t/stand_in", stand_in_bench, NULL), BENCH_ITERATIONS);
    int rc = nf_bench_main(4, argv);
    CHECK(rc == 0, "nf_bench_main: %d", rc);
    json_error_t e;
    json_t *j = json_load_file(out, 0, &e);
    unlink(out);
    REQUIREF(j, "%s: %s", out, e.text);
    json_t *run = json_array_get(json_object_get(j, "benchmarks"), 0);
    REQUIRE(run);
    for (size_t i = 0; i < NHW; i++) {
        char name[96];
        nf_ctr_tally_hw_name(hw_ids[i], "page", name, sizeof name);
        json_t *v = json_object_get(run, name);
        CHECK(json_is_number(v), "%s missing from the JSON", name);
        CHECK(json_number_value(v) == 1.0, "%s = %g, want exactly 1 (one fault per page)", name, json_number_value(v));
    }
    json_decref(j);
}

int main(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    TEST(test_names);
    TEST(test_unavailable_listed);
    TEST(test_stand_in_rejects);
    stand_in_all();
    TEST(test_stand_in_counts_pages);
    TEST(test_stand_in_merge_threads);
    TEST(test_report_through_shim);
    return check_done();
}
