/* test_real.c: the same workload on real memory and in the model.
 *   minor faults: getrusage's ru_minflt around the touches vs the model's
 *   RSS: mincore's resident count vs the model's rss_pages
 *   MADV_DONTNEED: both fall alike
 *   fork: the child's writes: real minflt in the child vs model COW faults
 *   reclaim: the real kernel shows no major faults where the model does
 * The touching code is built without ASan instrumentation so shadow
 * memory adds no faults of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notfree/model.h"
#include "../common/check.h"

#define PG 4096u
#define NOASAN __attribute__((no_sanitize("address"), noinline))

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static long majflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_majflt;
}

NOASAN static void touch(volatile char *p, size_t pages, size_t step)
{
    for (size_t i = 0; i < pages; i += step)
        p[i * PG] = (char)i;
}

static size_t resident(void *p, size_t pages)
{
    unsigned char vec[4096];
    size_t n = 0;
    if (pages > sizeof vec || mincore(p, pages * PG, vec) != 0)
        return (size_t)-1;
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    return n;
}

static size_t model_resident(nf_model_proc *p, uint64_t a, size_t pages)
{
    unsigned char vec[4096];
    size_t n = 0;
    nf_model_mincore(p, a, pages * PG, vec);
    for (size_t i = 0; i < pages; i++)
        n += vec[i];
    return n;
}

static nf_model_proc_counters pc(const nf_model_proc *p)
{
    nf_model_proc_counters c;
    nf_model_proc_counters_get(p, &c);
    return c;
}

enum { N = 1024 };

static void faults_rss_dontneed(void)
{
    nf_model_config cfg = {.frames = 4 * N, .overcommit = 1};
    nf_model *m = nf_model_create(&cfg);
    nf_model_proc *mp = nf_model_proc_create(m, "p");
    for (size_t step = 1; step <= 4; step *= 2) {
        char *r = mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        madvise(r, N * PG, MADV_NOHUGEPAGE);
        uint64_t a = nf_model_mmap(mp, 0, N * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
        uint64_t m0 = pc(mp).minor_faults;
        long f0 = minflt();
        touch(r, N, step);
        long real = minflt() - f0;
        for (size_t i = 0; i < N; i += step)
            nf_model_access(mp, a + i * PG, 1);
        long model = (long)(pc(mp).minor_faults - m0);
        CHECK(model == (long)(N / step), "model minor %ld", model);
        CHECK(labs(real - model) <= 2, "step %zu: real minflt %ld, model %ld", step, real, model);
        size_t rr = resident(r, N), mr = model_resident(mp, a, N);
        CHECK(rr == mr && pc(mp).rss_pages == mr, "resident: mincore %zu, model %zu, rss %llu", rr, mr,
              (unsigned long long)pc(mp).rss_pages);
        madvise(r, N / 2 * PG, MADV_DONTNEED);
        nf_model_madvise(mp, a, N / 2 * PG, NF_MODEL_MADV_DONTNEED);
        rr = resident(r, N);
        mr = model_resident(mp, a, N);
        CHECK(rr == mr && rr == N / step / 2, "after DONTNEED: mincore %zu, model %zu", rr, mr);
        f0 = minflt();
        m0 = pc(mp).minor_faults;
        touch(r, N, step);
        real = minflt() - f0; /* before the model runs: its own pool pages fault too */
        for (size_t i = 0; i < N; i += step)
            nf_model_access(mp, a + i * PG, 1);
        model = (long)(pc(mp).minor_faults - m0);
        CHECK(labs(real - model) <= 2 && model == (long)(N / step / 2), "refault after DONTNEED: real %ld, model %ld",
              real, model);
        munmap(r, N * PG);
        nf_model_munmap(mp, a, N * PG);
        CHECK(pc(mp).rss_pages == 0, "model rss after munmap");
    }
    nf_model_destroy(m);
}

static void fork_cow_real(void)
{
    enum { K = 300 };
    char *r = mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise(r, N * PG, MADV_NOHUGEPAGE);
    touch(r, N, 1);
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        long f0 = minflt();
        touch(r, K, 1);
        long d = minflt() - f0;
        ssize_t w = write(fds[1], &d, sizeof d);
        _exit(w == sizeof d ? 0 : 1);
    }
    long real = -1;
    ssize_t got = read(fds[0], &real, sizeof real);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    close(fds[1]);
    munmap(r, N * PG);

    nf_model_config cfg = {.frames = 4 * N, .overcommit = 1};
    nf_model *m = nf_model_create(&cfg);
    nf_model_proc *mp = nf_model_proc_create(m, "parent");
    uint64_t a = nf_model_mmap(mp, 0, N * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    for (size_t i = 0; i < N; i++)
        nf_model_access(mp, a + i * PG, 1);
    nf_model_proc *ch = nf_model_fork(mp);
    for (size_t i = 0; i < K; i++)
        nf_model_access(ch, a + i * PG, 1);
    CHECK(got == sizeof real, "child reported");
    CHECK(pc(ch).cow_faults == K, "model COW faults %llu", (unsigned long long)pc(ch).cow_faults);
    /* The child's own first writes after fork fault too: its stack page (and
     * under ASan that page's shadow) is shared copy-on-write with the parent;
     * a few such faults ride along with the K. */
    CHECK(real >= K - 2 && real <= K + 8, "real child minflt %ld for %d pages written", real, K);
    CHECK(pc(ch).minor_faults == pc(ch).cow_faults, "COW faults are minor faults");
    nf_model_destroy(m);
}

/* The model with 64 frames swaps; the real box (no memory pressure) does
 * not: same round-robin work, majflt stays 0. */
static void reclaim_vs_real(void)
{
    enum { F = 64 };
    char *r = mmap(NULL, 2 * F * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long j0 = majflt();
    for (int round = 0; round < 3; round++)
        touch(r, 2 * F, 1);
    long real_major = majflt() - j0;
    munmap(r, 2 * F * PG);
    nf_model_config cfg = {.frames = F + 5, .swap_pages = 4 * F, .overcommit = 1};
    nf_model *m = nf_model_create(&cfg);
    nf_model_proc *mp = nf_model_proc_create(m, "p");
    uint64_t a = nf_model_mmap(mp, 0, 2 * F * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 2 * F; i++)
            nf_model_access(mp, a + (uint64_t)i * PG, 1);
    CHECK(real_major == 0, "real majflt %ld", real_major);
    CHECK(pc(mp).major_faults == 2 * 2 * F, "model major %llu", (unsigned long long)pc(mp).major_faults);
    nf_model_destroy(m);
}

int main(void)
{
    TEST(faults_rss_dontneed);
    TEST(fork_cow_real);
    TEST(reclaim_vs_real);
    return check_done();
}
