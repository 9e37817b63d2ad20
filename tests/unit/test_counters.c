/* test_counters: the counters count what the kernel does.
 *
 * First touch: N private anonymous pages (no THP, no mTHP: MADV_NOHUGEPAGE),
 * one byte written per page, fault exactly once each: perf page-faults,
 * perf minor-faults and getrusage minflt all rise by N, RSS by N * page.
 * MAP_POPULATE: the kernel faults the pages in through GUP, which counts
 * minflt (per page) but fires no perf page-fault event (the event lives in
 * the CPU page-fault handler; GUP calls handle_mm_fault with no registers).
 * Margin: +-2 for stray faults of the test itself (stack, libc).
 */
#include "../common/check.h"
#include "notfree/counters.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { N = 256, MARGIN = 2 };
enum { NF_MADV_POPULATE_WRITE = 23 }; /* linux/mman.h, 5.14 */

static size_t page;

/* Not instrumented: ASan would fault in shadow pages of its own. */
__attribute__((no_sanitize_address, noinline)) static void touch(volatile char *p, size_t pages)
{
    for (size_t i = 0; i < pages; i++)
        p[i * page] = 1;
}

static void test_names(void)
{
    for (int i = 0; i < NF_CTR_COUNT; i++) {
        const char *a = nf_counter_name((nf_counter_id)i);
        CHECK(a && a[0], "counter %d has no name", i);
        CHECK(strcmp(a, "unknown") != 0, "counter %d is unknown", i);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(a, nf_counter_name((nf_counter_id)j)) != 0, "%s twice (%d, %d)", a, i, j);
        const char *src = nf_counter_source_name(nf_counter_source_of((nf_counter_id)i));
        CHECK(src && src[0], "counter %s has no source name", a);
        CHECK(nf_counter_is_gauge((nf_counter_id)i) == ((NF_CTR_SET_PROC >> i) & 1), "gauge flag of %s", a);
    }
    CHECK_STR(nf_counter_name(NF_CTR_PERF_PAGE_FAULTS), "perf_page_faults");
    CHECK_STR(nf_counter_name(NF_CTR_RSS_KIB), "rss_kib");
}

static void test_first_touch(void)
{
    nf_counters c;
    nf_counters_open(&c, NF_CTR_SET_ALL);
    static const nf_counter_id need[] = {NF_CTR_PERF_PAGE_FAULTS, NF_CTR_PERF_MINOR_FAULTS, NF_CTR_RU_MINFLT,
                                         NF_CTR_RSS_KIB};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        const char *why;
        CHECK(nf_counters_available(&c, need[i], &why), "%s unavailable: %s", nf_counter_name(need[i]), why);
    }
    char *p = mmap(NULL, N * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap");
    if (p == MAP_FAILED)
        return;
    CHECK(madvise(p, N * page, MADV_NOHUGEPAGE) == 0, "madvise NOHUGEPAGE");

    nf_counters_start(&c);
    touch(p, N);
    nf_counters_stop(&c);

    double pf = nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS);
    double minor = nf_counters_delta(&c, NF_CTR_PERF_MINOR_FAULTS);
    double major = nf_counters_delta(&c, NF_CTR_PERF_MAJOR_FAULTS);
    double ru = nf_counters_delta(&c, NF_CTR_RU_MINFLT);
    double rss = nf_counters_delta(&c, NF_CTR_RSS_KIB);
    printf("first touch of %d pages: perf page-faults %.0f (%.3f/page), perf minor %.0f, "
           "perf major %.0f, ru_minflt %.0f, rss +%.0f KiB\n",
           N, pf, pf / N, minor, major, ru, rss);
    CHECK_NEAR(pf, N, MARGIN);
    CHECK_NEAR(minor, N, MARGIN);
    CHECK_NEAR(major, 0, 0);
    CHECK_NEAR(ru, N, MARGIN);
    CHECK_NEAR(rss, (double)(N * page) / 1024.0, 0.1 * (double)(N * page) / 1024.0);
    CHECK(nf_counters_value(&c, NF_CTR_RSS_KIB) >= rss, "rss gauge below its own rise");
    CHECK(nf_counters_value(&c, NF_CTR_VSZ_KIB) >= (double)(N * page) / 1024.0, "vsz below the mapping");

    /* Giving the pages back: RSS falls by as much, no faults. */
    nf_counters_start(&c);
    CHECK(madvise(p, N * page, MADV_DONTNEED) == 0, "madvise DONTNEED");
    nf_counters_stop(&c);
    rss = nf_counters_delta(&c, NF_CTR_RSS_KIB);
    printf("MADV_DONTNEED of %d pages: rss %.0f KiB, perf page-faults %.0f\n", N, rss,
           nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS));
    CHECK_NEAR(rss, -((double)(N * page) / 1024.0), 0.1 * (double)(N * page) / 1024.0);
    CHECK_NEAR(nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS), 0, MARGIN);

    /* Touching again faults again, once per page. */
    nf_counters_start(&c);
    touch(p, N);
    nf_counters_stop(&c);
    CHECK_NEAR(nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS), N, MARGIN);
    CHECK_NEAR(nf_counters_delta(&c, NF_CTR_RU_MINFLT), N, MARGIN);
    munmap(p, N * page);
    nf_counters_close(&c);
}

static void test_populate(void)
{
    nf_counters c;
    nf_counters_open(&c, NF_CTR_SET_PERF_SW | NF_CTR_SET_RUSAGE | NF_CTR_SET_PROC);
    /* MAP_POPULATE cannot be preceded by MADV_NOHUGEPAGE; 1 MiB cannot
     * hold an aligned 2 MiB THP, so these are 4 KiB pages unless mTHP is
     * on for all mappings (then the test says so by failing). */
    nf_counters_start(&c);
    char *p = mmap(NULL, N * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    nf_counters_stop(&c);
    CHECK(p != MAP_FAILED, "mmap MAP_POPULATE");
    if (p == MAP_FAILED)
        return;
    double pf = nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS);
    double ru = nf_counters_delta(&c, NF_CTR_RU_MINFLT);
    double rss = nf_counters_delta(&c, NF_CTR_RSS_KIB);
    printf("MAP_POPULATE of %d pages: perf page-faults %.0f, ru_minflt %.0f (%.3f/page), "
           "rss +%.0f KiB\n",
           N, pf, ru, ru / N, rss);
    CHECK_NEAR(pf, 0, MARGIN);
    CHECK_NEAR(ru, N, MARGIN);
    CHECK_NEAR(rss, (double)(N * page) / 1024.0, 0.1 * (double)(N * page) / 1024.0);

    /* Already resident: touching faults no more. */
    nf_counters_start(&c);
    touch(p, N);
    nf_counters_stop(&c);
    CHECK_NEAR(nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS), 0, MARGIN);
    CHECK_NEAR(nf_counters_delta(&c, NF_CTR_RU_MINFLT), 0, MARGIN);
    munmap(p, N * page);

    /* MADV_POPULATE_WRITE (5.14+): the same GUP path, after NOHUGEPAGE. */
    p = mmap(NULL, N * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap");
    if (p == MAP_FAILED)
        return;
    madvise(p, N * page, MADV_NOHUGEPAGE);
    nf_counters_start(&c);
    int rc = madvise(p, N * page, NF_MADV_POPULATE_WRITE);
    nf_counters_stop(&c);
    if (rc == 0) {
        printf("MADV_POPULATE_WRITE of %d pages: perf page-faults %.0f, ru_minflt %.0f\n", N,
               nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS), nf_counters_delta(&c, NF_CTR_RU_MINFLT));
        CHECK_NEAR(nf_counters_delta(&c, NF_CTR_PERF_PAGE_FAULTS), 0, MARGIN);
        CHECK_NEAR(nf_counters_delta(&c, NF_CTR_RU_MINFLT), N, MARGIN);
    } else {
        printf("MADV_POPULATE_WRITE: not on this kernel\n");
    }
    munmap(p, N * page);
    nf_counters_close(&c);
}

static void test_hardware(void)
{
    nf_counters c;
    nf_counters_open(&c, NF_CTR_SET_PERF_HW);
    int avail = 0;
    for (int i = 0; i < NF_CTR_COUNT; i++) {
        if (!((NF_CTR_SET_PERF_HW >> i) & 1))
            continue;
        const char *why = NULL;
        bool ok = nf_counters_available(&c, (nf_counter_id)i, &why);
        CHECK(why != NULL, "no reason pointer");
        if (ok) {
            avail++;
            CHECK(c.fd[i] >= 0, "available %s without an fd", nf_counter_name((nf_counter_id)i));
        } else {
            CHECK(why && why[0], "%s unavailable without a reason", nf_counter_name((nf_counter_id)i));
            CHECK(c.fd[i] < 0, "unavailable counter holds an fd");
            printf("%s: unavailable: %s\n", nf_counter_name((nf_counter_id)i), why);
        }
    }
    nf_counters_start(&c);
    volatile double x = 1;
    for (int i = 0; i < 100000; i++)
        x = x * 1.000001 + 1;
    nf_counters_stop(&c);
    if (nf_counters_available(&c, NF_CTR_PERF_INSTRUCTIONS, NULL)) {
        double ins = nf_counters_delta(&c, NF_CTR_PERF_INSTRUCTIONS);
        printf("instructions for 100000 iterations: %.0f\n", ins);
        CHECK(ins >= 100000, "instructions %g", ins);
    } else {
        /* never zero: NAN marks what the box cannot give */
        CHECK(isnan(nf_counters_delta(&c, NF_CTR_PERF_INSTRUCTIONS)), "unavailable gives a number");
    }
    printf("hardware counters available: %d of 6\n", avail);
    /* not requested: unavailable, said so */
    const char *why;
    CHECK(!nf_counters_available(&c, NF_CTR_RU_MINFLT, &why), "unrequested counter available");
    CHECK_STR(why, "not requested");
    nf_counters_close(&c);
}

static void test_proc_mem(void)
{
    nf_proc_mem m;
    CHECK(nf_proc_mem_read(&m) == 0, "nf_proc_mem_read");
    CHECK(m.rss_kib > 0 && m.vsz_kib >= m.rss_kib, "rss %lld vsz %lld", (long long)m.rss_kib, (long long)m.vsz_kib);
    CHECK(m.anon_huge_kib >= 0 && m.lazyfree_kib >= 0 && m.locked_kib >= 0, "gauges");
    /* mlock: Locked rises by the locked size (root or RLIMIT_MEMLOCK permitting) */
    char *p = mmap(NULL, N * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* The raw syscall: ASan's mlock interceptor does nothing and says 0. */
    if (p != MAP_FAILED && syscall(SYS_mlock, p, N * page) == 0) {
        nf_proc_mem after;
        nf_proc_mem_read(&after);
        CHECK_NEAR(after.locked_kib - m.locked_kib, (double)(N * page) / 1024.0, 0.1 * (double)(N * page) / 1024.0);
        syscall(SYS_munlock, p, N * page);
    }
    if (p != MAP_FAILED)
        munmap(p, N * page);
}

int main(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    TEST(test_names);
    TEST(test_first_touch);
    TEST(test_populate);
    TEST(test_hardware);
    TEST(test_proc_mem);
    return check_done();
}
