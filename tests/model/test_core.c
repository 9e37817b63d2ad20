/* test_core.c: the kernel model in explicit mode: faults, COW, protection,
 * stack guard, reclaim to swap, mlock, OOM, overcommit, traces, THP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notfree/model.h"
#include "notfree/tlb.h"
#include "../common/check.h"

#define PG 4096u

static nf_model *mk(size_t frames, size_t swap, int overcommit)
{
    nf_model_config c = {.frames = frames, .swap_pages = swap, .overcommit = overcommit};
    nf_model *m = nf_model_create(&c);
    if (!m) {
        perror("nf_model_create");
        exit(2);
    }
    return m;
}

static nf_model_counters mc(const nf_model *m)
{
    nf_model_counters c;
    nf_model_counters_get(m, &c);
    return c;
}
static nf_model_proc_counters pc(const nf_model_proc *p)
{
    nf_model_proc_counters c;
    nf_model_proc_counters_get(p, &c);
    return c;
}

static void demand_zero_and_zero_page(void)
{
    nf_model *m = mk(1024, 0, 0);
    nf_model_proc *p = nf_model_proc_create(m, "p");
    uint64_t a = nf_model_mmap(p, 0, 64 * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    CHECK(a != NF_MODEL_FAILED, "mmap");
    CHECK(pc(p).rss_pages == 0, "no RSS before touch");
    CHECK(pc(p).vsz_pages == 64, "vsz %llu", (unsigned long long)pc(p).vsz_pages);
    for (unsigned i = 0; i < 32; i++)
        CHECK(nf_model_access(p, a + i * PG + 8, 1) == NF_MODEL_OK, "write");
    for (unsigned i = 32; i < 64; i++)
        CHECK(nf_model_access(p, a + i * PG, 0) == NF_MODEL_OK, "read");
    nf_model_proc_counters c = pc(p);
    CHECK(c.minor_faults == 64, "minor %llu", (unsigned long long)c.minor_faults);
    CHECK(c.zero_page_maps == 32 && c.zero_mapped == 32, "zero maps");
    CHECK(c.rss_pages == 32, "rss %llu", (unsigned long long)c.rss_pages);
    /* a write over the zero page: one more minor fault, a real frame */
    CHECK(nf_model_access(p, a + 40 * PG, 1) == NF_MODEL_OK, "write after read");
    c = pc(p);
    CHECK(c.minor_faults == 65 && c.rss_pages == 33 && c.zero_mapped == 31, "zero-page COW");
    /* second touches fault no more */
    for (unsigned i = 0; i < 64; i++)
        nf_model_access(p, a + i * PG + 100, 0);
    CHECK(pc(p).minor_faults == 65, "no refault");
    /* data is stored and reads back; fresh memory reads zero */
    char buf[32] = "model memory holds this";
    CHECK(nf_model_write(p, a + PG - 8, buf, sizeof buf) == NF_MODEL_OK, "write across pages");
    char back[32] = {0};
    nf_model_read(p, a + PG - 8, back, sizeof back);
    CHECK(memcmp(buf, back, sizeof buf) == 0, "read back");
    uint64_t z = 1;
    nf_model_read(p, a + 50 * PG, &z, sizeof z);
    CHECK(z == 0, "zero page reads zero");
    /* munmap gives everything back, tables included */
    uint64_t before = mc(m).frames_used;
    CHECK(nf_model_munmap(p, a, 64 * PG) == 0, "munmap");
    CHECK(pc(p).rss_pages == 0 && pc(p).vsz_pages == 0, "after munmap");
    CHECK(mc(m).frames_used == before - 33 - 3, "frames %llu -> %llu", (unsigned long long)before,
          (unsigned long long)mc(m).frames_used);
    CHECK(nf_model_access(p, a, 0) == NF_MODEL_SEGV_MAPERR, "unmapped");
    CHECK(pc(p).segv == 1, "segv counted");
    nf_model_destroy(m);
}

static void protection_and_guard(void)
{
    nf_model *m = mk(1024, 0, 0);
    nf_model_proc *p = nf_model_proc_create(m, "p");
    uint64_t a = nf_model_mmap(p, 0, 8 * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    nf_model_access(p, a, 1);
    CHECK(nf_model_mprotect(p, a, 4 * PG, NF_MODEL_PROT_READ) == 0, "mprotect");
    CHECK(nf_model_access(p, a, 0) == NF_MODEL_OK, "read ok");
    CHECK(nf_model_access(p, a, 1) == NF_MODEL_SEGV_ACCERR, "write to read-only");
    CHECK(nf_model_access(p, a + 4 * PG, 1) == NF_MODEL_OK, "rest writable");
    nf_model_mprotect(p, a, 8 * PG, NF_MODEL_PROT_NONE);
    CHECK(nf_model_access(p, a + 4 * PG, 0) == NF_MODEL_SEGV_ACCERR, "PROT_NONE read");
    nf_model_mprotect(p, a, 8 * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE);
    uint64_t minor = pc(p).minor_faults;
    CHECK(nf_model_access(p, a, 1) == NF_MODEL_OK, "writable again");
    CHECK(pc(p).minor_faults == minor + 1, "write-protect fault reuses the frame");
    /* the stack grows down to its limit; the guard gap is a SEGV */
    uint64_t s = nf_model_mmap(p, 0, 16 * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, NF_MODEL_MAP_STACK);
    uint64_t top = s + 16 * PG;
    CHECK(nf_model_access(p, top - 8, 1) == NF_MODEL_OK, "stack top");
    CHECK(nf_model_access(p, s - 100 * PG, 1) == NF_MODEL_OK, "stack grows");
    CHECK(pc(p).vsz_pages == 8 + 116, "vsz %llu", (unsigned long long)pc(p).vsz_pages);
    CHECK(nf_model_access(p, top - NF_MODEL_STACK_LIMIT - PG, 1) == NF_MODEL_SEGV_GUARD, "guard");
    CHECK(pc(p).last_segv == NF_MODEL_SEGV_GUARD, "last segv");
    nf_model_destroy(m);
}

static void fork_cow(void)
{
    nf_model *m = mk(1024, 0, 0);
    nf_model_proc *p = nf_model_proc_create(m, "parent");
    uint64_t a = nf_model_mmap(p, 0, 32 * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    for (unsigned i = 0; i < 32; i++) {
        uint64_t v = 1000 + i;
        nf_model_write(p, a + i * PG, &v, sizeof v);
    }
    uint64_t used = mc(m).frames_used;
    nf_model_proc *c = nf_model_fork(p);
    CHECK(c != NULL, "fork");
    CHECK(pc(c).rss_pages == 32, "child rss shares");
    CHECK(mc(m).frames_used == used + 4, "fork copies only tables: %llu -> %llu", (unsigned long long)used,
          (unsigned long long)mc(m).frames_used);
    for (unsigned i = 0; i < 10; i++) {
        uint64_t v = 2000 + i;
        nf_model_write(c, a + i * PG, &v, sizeof v);
    }
    CHECK(pc(c).cow_faults == 10, "child cow %llu", (unsigned long long)pc(c).cow_faults);
    CHECK(mc(m).frames_used == used + 4 + 10, "one frame per written page");
    int same = 1;
    for (unsigned i = 0; i < 32; i++) {
        uint64_t v, w;
        nf_model_read(p, a + i * PG, &v, sizeof v);
        nf_model_read(c, a + i * PG, &w, sizeof w);
        same &= v == (uint64_t)(1000 + i) && w == (uint64_t)(i < 10 ? 2000 + i : 1000 + i);
    }
    CHECK(same, "each sees its own data");
    /* the parent's write on a page the child copied: reuse, no copy */
    nf_model_write(p, a, &same, sizeof same);
    CHECK(pc(p).cow_faults == 0, "parent reuses");
    nf_model_proc_exit(c);
    nf_model_write(p, a + 20 * PG, &same, sizeof same);
    CHECK(pc(p).cow_faults == 0 && mc(m).frames_used == used, "after the child exits");
    nf_model_destroy(m);
}

/* N data frames, 2N pages written round robin: LRU makes every access of
 * rounds after the first a major fault. */
static void reclaim_lru(void)
{
    enum { N = 64, ROUNDS = 3 };
    nf_model *m = mk(N + 5, 4 * N, 1); /* zero page + 4 tables */
    nf_model_proc *p = nf_model_proc_create(m, "p");
    uint64_t a = nf_model_mmap(p, 0, 2 * N * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    int data_ok = 1;
    for (int r = 0; r < ROUNDS; r++)
        for (unsigned i = 0; i < 2 * N; i++) {
            uint64_t v;
            if (r > 0) {
                nf_model_read(p, a + (uint64_t)i * PG + 64, &v, sizeof v);
                data_ok &= v == (uint64_t)(r - 1) * 1000 + i;
            }
            v = (uint64_t)r * 1000 + i;
            nf_model_write(p, a + (uint64_t)i * PG + 64, &v, sizeof v);
        }
    nf_model_counters c = mc(m);
    CHECK(data_ok, "data read back after swap equals what was written");
    CHECK(c.minor_faults == 2 * N, "minor %llu", (unsigned long long)c.minor_faults);
    CHECK(c.major_faults == (ROUNDS - 1) * 2 * N, "major %llu", (unsigned long long)c.major_faults);
    CHECK(c.swap_outs == N + (ROUNDS - 1) * 2 * N, "swap outs %llu", (unsigned long long)c.swap_outs);
    CHECK(c.swap_ins == c.major_faults, "swap ins");
    CHECK(pc(p).rss_pages == N && pc(p).swap_pages == N, "half in, half out");
    nf_model_destroy(m);
}

static void mlock_pins(void)
{
    enum { N = 64 };
    nf_model *m = mk(N + 5, 8 * N, 1);
    nf_model_proc *p = nf_model_proc_create(m, "p");
    uint64_t a = nf_model_mmap(p, 0, 16 * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    CHECK(nf_model_mlock(p, a, 16 * PG) == 0, "mlock");
    CHECK(pc(p).rss_pages == 16 && pc(p).locked_pages == 16, "mlock populates");
    uint64_t b = nf_model_mmap(p, 0, 4 * N * PG, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, 0);
    for (int r = 0; r < 2; r++)
        for (unsigned i = 0; i < 4 * N; i++)
            nf_model_access(p, b + (uint64_t)i * PG, 1);
    unsigned char vec[16];
    nf_model_mincore(p, a, 16 * PG, vec);
    int all = 1;
    for (unsigned i = 0; i < 16; i++)
        all &= vec[i];
    CHECK(all, "locked pages never leave");
    CHECK(mc(m).swap_outs > 0, "others were swapped");
    CHECK(nf_model_madvise(p, a, PG, NF_MODEL_MADV_DONTNEED) != 0 && errno == EINVAL, "DONTNEED on locked");
    nf_model_munlock(p, a, 16 * PG);
    for (unsigned i = 0; i < 4 * N; i++)
        nf_model_access(p, b + (uint64_t)i * PG, 1);
    nf_model_mincore(p, a, 16 * PG, vec);
    int any = 0;
    for (unsigned i = 0; i < 16; i++)
        any |= !vec[i];
    CHECK(any, "after munlock they can go");
    nf_model_destroy(m);
}

static void oom_kills_largest(void)
{
    nf_model *m = mk(256, 0, 1);
    nf_model_proc *a = nf_model_proc_create(m, "a"), *b = nf_model_proc_create(m, "b"),
                  *c = nf_model_proc_create(m, "c");
    unsigned rw = NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE;
    uint64_t va = nf_model_mmap(a, 0, 20 * PG, rw, 0), vb = nf_model_mmap(b, 0, 150 * PG, rw, 0),
             vc = nf_model_mmap(c, 0, 100 * PG, rw, 0);
    for (unsigned i = 0; i < 20; i++) {
        uint64_t v = 7 * i;
        nf_model_write(a, va + i * PG, &v, sizeof v);
    }
    for (unsigned i = 0; i < 150; i++)
        nf_model_access(b, vb + i * PG, 1);
    int ok = 1;
    for (unsigned i = 0; i < 100; i++) {
        uint64_t v = 9 * i;
        ok &= nf_model_write(c, vc + i * PG, &v, sizeof v) == NF_MODEL_OK;
    }
    CHECK(ok, "c went on");
    CHECK(mc(m).oom_kills == 1, "one kill");
    CHECK(!nf_model_proc_alive(b) && nf_model_proc_alive(a) && nf_model_proc_alive(c), "b was the largest");
    CHECK(nf_model_access(b, vb, 0) == NF_MODEL_KILLED, "b is dead");
    int intact = 1;
    for (unsigned i = 0; i < 20; i++) {
        uint64_t v;
        nf_model_read(a, va + i * PG, &v, sizeof v);
        intact &= v == (uint64_t)7 * i;
    }
    for (unsigned i = 0; i < 100; i++) {
        uint64_t v;
        nf_model_read(c, vc + i * PG, &v, sizeof v);
        intact &= v == (uint64_t)9 * i;
    }
    CHECK(intact, "the others keep their data");
    /* oom_adj -1000 protects */
    nf_model_destroy(m);
    m = mk(128, 0, 1);
    a = nf_model_proc_create(m, "big but protected");
    b = nf_model_proc_create(m, "small");
    nf_model_proc_set_oom_adj(a, -1000);
    va = nf_model_mmap(a, 0, 100 * PG, rw, NF_MODEL_MAP_POPULATE);
    vb = nf_model_mmap(b, 0, 100 * PG, rw, 0);
    nf_model_result r = NF_MODEL_OK;
    for (unsigned i = 0; i < 100 && r == NF_MODEL_OK; i++)
        r = nf_model_access(b, vb + i * PG, 1);
    CHECK(r == NF_MODEL_KILLED && nf_model_proc_alive(a), "adj -1000 spares a");
    nf_model_destroy(m);
}

static void overcommit_modes(void)
{
    unsigned rw = NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE;
    nf_model *m0 = mk(1000, 0, 0), *m1 = mk(1000, 0, 1), *m2 = mk(1000, 0, 2);
    nf_model_proc *p0 = nf_model_proc_create(m0, "p"), *p1 = nf_model_proc_create(m1, "p"),
                  *p2 = nf_model_proc_create(m2, "p");
    CHECK(nf_model_mmap(p0, 0, 800 * PG, rw, 0) != NF_MODEL_FAILED, "mode 0 grants 800 pages");
    errno = 0;
    CHECK(nf_model_mmap(p2, 0, 800 * PG, rw, 0) == NF_MODEL_FAILED && errno == ENOMEM, "mode 2 refuses (limit 500)");
    CHECK(nf_model_mmap(p2, 0, 400 * PG, rw, 0) != NF_MODEL_FAILED, "mode 2 grants under its limit");
    CHECK(nf_model_mmap(p2, 0, 200 * PG, rw, 0) == NF_MODEL_FAILED, "mode 2 counts what is committed");
    CHECK(nf_model_mmap(p2, 0, 800 * PG, NF_MODEL_PROT_READ, 0) != NF_MODEL_FAILED, "read-only is free");
    CHECK(nf_model_fork(p2) == NULL && errno == ENOMEM, "mode 2 refuses the fork");
    CHECK(nf_model_mmap(p0, 0, 100000 * PG, rw, 0) == NF_MODEL_FAILED, "mode 0 refuses > RAM + swap");
    CHECK(nf_model_mmap(p1, 0, 100000 * PG, rw, 0) != NF_MODEL_FAILED, "mode 1 grants anything");
    nf_model_destroy(m0);
    nf_model_destroy(m1);
    nf_model_destroy(m2);
}

static void madvise_brk_trace(void)
{
    unsigned rw = NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE;
    nf_model *m = mk(512, 64, 1);
    nf_model_proc *p = nf_model_proc_create(m, "p");
    uint64_t a = nf_model_mmap(p, 0, 32 * PG, rw, NF_MODEL_MAP_POPULATE);
    CHECK(pc(p).rss_pages == 32 && pc(p).minor_faults == 32, "populate");
    nf_model_madvise(p, a, 16 * PG, NF_MODEL_MADV_DONTNEED);
    CHECK(pc(p).rss_pages == 16, "DONTNEED drops");
    uint64_t v = 5;
    nf_model_read(p, a, &v, sizeof v);
    CHECK(v == 0 && pc(p).minor_faults == 33, "then reads zero, faulting again");
    nf_model_madvise(p, a + 16 * PG, 16 * PG, NF_MODEL_MADV_FREE);
    CHECK(pc(p).rss_pages == 16, "FREE is lazy");
    nf_model_madvise(p, a, 8 * PG, NF_MODEL_MADV_POPULATE_WRITE);
    CHECK(pc(p).rss_pages == 24, "POPULATE_WRITE");
    /* brk */
    uint64_t b0 = nf_model_brk(p, 0);
    CHECK(nf_model_brk(p, b0 + 10 * PG + 5) == b0 + 10 * PG + 5, "brk grows");
    CHECK(nf_model_access(p, b0 + 10 * PG, 1) == NF_MODEL_OK, "break's last page");
    CHECK(nf_model_access(p, b0 + 11 * PG, 1) == NF_MODEL_SEGV_MAPERR, "above the break");
    nf_model_brk(p, b0);
    CHECK(nf_model_access(p, b0, 1) == NF_MODEL_SEGV_MAPERR, "brk shrinks");
    /* a trace file */
    char path[] = "/tmp/nf-model-trace-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# a trace\nW %llx\nR 0x%llx\n\nw %llx\n", (unsigned long long)(a + 30 * PG),
            (unsigned long long)(a + 31 * PG), (unsigned long long)(a + 31 * PG + 8));
    fclose(f);
    uint64_t minor = pc(p).minor_faults;
    long bad = 0;
    nf_model_result last;
    CHECK(nf_model_replay_file(p, path, &bad, &last) == 3 && last == NF_MODEL_OK, "trace replayed");
    (void)minor;
    f = fopen(path, "w");
    fprintf(f, "R %llx\nX 2000\n", (unsigned long long)a);
    fclose(f);
    CHECK(nf_model_replay_file(p, path, &bad, &last) == -1 && bad == 2, "bad line %ld", bad);
    unlink(path);
    nf_model_destroy(m);
}

static void huge_pages(void)
{
    nf_model *m = mk(4096, 0, 1);
    nf_model_proc *p = nf_model_proc_create(m, "p");
    uint64_t a =
        nf_model_mmap(p, 0, 4 * NF_MODEL_HUGE_PAGE, NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE, NF_MODEL_MAP_HUGE);
    CHECK(a % NF_MODEL_HUGE_PAGE == 0, "aligned");
    for (uint64_t off = 0; off < 4 * NF_MODEL_HUGE_PAGE; off += PG)
        nf_model_access(p, a + off, 1);
    CHECK(pc(p).minor_faults == 4, "one fault per 2 MiB: %llu", (unsigned long long)pc(p).minor_faults);
    CHECK(pc(p).rss_pages == 2048, "rss");
    uint64_t v = 42;
    nf_model_write(p, a + NF_MODEL_HUGE_PAGE + 12345, &v, sizeof v);
    nf_model_munmap(p, a + NF_MODEL_HUGE_PAGE, PG); /* splits */
    v = 0;
    nf_model_read(p, a + NF_MODEL_HUGE_PAGE + 12345, &v, sizeof v);
    CHECK(v == 42 && pc(p).rss_pages == 2047, "split keeps data");
    nf_model_proc *c = nf_model_fork(p);
    nf_model_access(c, a, 1);
    CHECK(pc(c).cow_faults == 1, "COW after fork on a THP region copies 4K");
    nf_model_destroy(m);
}

static void replay_and_shared_swap(void)
{
    enum { N = 64 };
    unsigned rw = NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE;
    nf_model *m = mk(N + 16, 8 * N, 1);
    nf_model_proc *p = nf_model_proc_create(m, "p");
    uint64_t a = nf_model_mmap(p, 0, 2 * N * PG, rw, 0);
    uint64_t refs[2 * N + 1];
    for (unsigned i = 0; i < 2 * N; i++)
        refs[i] = (a + (uint64_t)i * PG) | (i % 2 ? NF_MODEL_REF_WRITE : 0);
    refs[2 * N] = a + 4 * N * PG; /* outside: stops the stream */
    nf_model_result last;
    CHECK(nf_model_replay(p, refs, 2 * N + 1, &last) == 2 * N && last == NF_MODEL_SEGV_MAPERR, "replay");
    for (unsigned i = 0; i < 2 * N; i++) {
        uint64_t v = 500 + i;
        nf_model_write(p, a + (uint64_t)i * PG, &v, sizeof v);
    }
    CHECK(pc(p).swap_pages > 0, "some pages are in swap before the fork");
    nf_model_proc *c = nf_model_fork(p);
    CHECK(c && pc(c).swap_pages == pc(p).swap_pages, "the child shares the swap entries");
    int ok = 1;
    for (unsigned i = 0; i < 2 * N; i++) {
        uint64_t v = 0, w = 0;
        nf_model_read(c, a + (uint64_t)i * PG, &w, sizeof w);
        nf_model_read(p, a + (uint64_t)i * PG, &v, sizeof v);
        ok &= v == (uint64_t)500 + i && w == (uint64_t)500 + i;
    }
    CHECK(ok, "both read back their data through swap");
    nf_model_destroy(m);
}

/* The huge zero page: loads in a THP region map it (one fault per 2 MiB,
 * no frame, RSS unchanged, mincore sees the pages); the first store
 * replaces it with a fresh 2 MiB page, or, with no room for one, splits
 * it and copies 4K from the zero page. */
static void huge_zero_page(void)
{
    unsigned rw = NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE;
    nf_model *m = mk(4096, 0, 1);
    nf_model_proc *p = nf_model_proc_create(m, "p");
    uint64_t a = nf_model_mmap(p, 0, 4 * NF_MODEL_HUGE_PAGE, rw, NF_MODEL_MAP_HUGE);
    uint64_t used0 = mc(m).frames_used, pt0 = pc(p).pt_pages;
    for (uint64_t off = 0; off < 2 * NF_MODEL_HUGE_PAGE; off += PG)
        nf_model_access(p, a + off, 0);
    CHECK(pc(p).minor_faults == 2 && pc(p).zero_page_maps == 2, "one zero-page fault per 2 MiB: %llu, %llu",
          (unsigned long long)pc(p).minor_faults, (unsigned long long)pc(p).zero_page_maps);
    CHECK(pc(p).rss_pages == 0 && pc(p).zero_mapped == 1024, "rss %llu, zero mapped %llu",
          (unsigned long long)pc(p).rss_pages, (unsigned long long)pc(p).zero_mapped);
    CHECK(mc(m).frames_used - used0 == pc(p).pt_pages - pt0, "only page tables used frames: %llu vs %llu",
          (unsigned long long)(mc(m).frames_used - used0), (unsigned long long)(pc(p).pt_pages - pt0));
    unsigned char vec[1024];
    CHECK(nf_model_mincore(p, a, 2 * NF_MODEL_HUGE_PAGE, vec) == 0, "mincore");
    int present = 0;
    for (unsigned i = 0; i < 1024; i++)
        present += vec[i];
    CHECK(present == 1024, "mincore counts the zero page: %d", present);
    uint64_t v = 1;
    nf_model_read(p, a + 7 * PG + 8, &v, sizeof v);
    CHECK(v == 0, "reads zeros");
    v = 99;
    CHECK(nf_model_write(p, a + 3 * PG, &v, sizeof v) == NF_MODEL_OK, "store");
    CHECK(pc(p).minor_faults == 3 && pc(p).cow_faults == 0 && pc(p).rss_pages == 512 && pc(p).zero_mapped == 512,
          "a store replaces the huge zero page with 2 MiB: faults %llu, rss %llu, zero %llu",
          (unsigned long long)pc(p).minor_faults, (unsigned long long)pc(p).rss_pages,
          (unsigned long long)pc(p).zero_mapped);
    for (uint64_t off = 0; off < NF_MODEL_HUGE_PAGE; off += PG)
        nf_model_access(p, a + off, 1);
    CHECK(pc(p).minor_faults == 3, "the rest of the 2 MiB page is writable: %llu",
          (unsigned long long)pc(p).minor_faults);
    v = 0;
    nf_model_read(p, a + 3 * PG, &v, sizeof v);
    CHECK(v == 99, "data kept");
    nf_model_munmap(p, a, 4 * NF_MODEL_HUGE_PAGE);
    CHECK(pc(p).rss_pages == 0 && pc(p).zero_mapped == 0, "munmap drops both");
    nf_model_destroy(m);

    m = mk(400, 0, 1); /* no room for 512 frames: the store splits */
    p = nf_model_proc_create(m, "p");
    a = nf_model_mmap(p, 0, NF_MODEL_HUGE_PAGE, rw, NF_MODEL_MAP_HUGE);
    nf_model_access(p, a, 0);
    CHECK(pc(p).zero_page_maps == 1 && pc(p).zero_mapped == 512, "huge zero page without free frames");
    v = 5;
    nf_model_write(p, a + 9 * PG, &v, sizeof v);
    CHECK(pc(p).minor_faults == 2 && pc(p).rss_pages == 1 && pc(p).zero_mapped == 511,
          "split, then a 4K copy of the zero page: faults %llu, rss %llu, zero %llu",
          (unsigned long long)pc(p).minor_faults, (unsigned long long)pc(p).rss_pages,
          (unsigned long long)pc(p).zero_mapped);
    nf_model_proc *c = nf_model_fork(p);
    v = 0;
    nf_model_read(c, a + 9 * PG, &v, sizeof v);
    CHECK(c && v == 5 && pc(c).zero_mapped == 511, "fork shares it");
    nf_model_destroy(m);
}

static void huge_under_pressure(void)
{
    nf_model *m = mk(1024 + 64, 2048, 1);
    nf_model_proc *p = nf_model_proc_create(m, "p");
    unsigned rw = NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE;
    uint64_t a = nf_model_mmap(p, 0, NF_MODEL_HUGE_PAGE, rw, NF_MODEL_MAP_HUGE);
    uint64_t v = 77;
    nf_model_write(p, a + 5 * PG, &v, sizeof v);
    CHECK(pc(p).rss_pages == 512 && pc(p).minor_faults == 1, "one THP");
    uint64_t b = nf_model_mmap(p, 0, 1024 * PG, rw, 0);
    for (unsigned i = 0; i < 1024; i++)
        nf_model_access(p, b + (uint64_t)i * PG, 1);
    CHECK(pc(p).swap_pages > 0, "pressure");
    v = 0;
    nf_model_read(p, a + 5 * PG, &v, sizeof v);
    CHECK(v == 77, "the THP's data survives split and swap");
    nf_model_destroy(m);
}

/* nf_model_replay's inline path (current proc, with a TLB) against
 * nf_model_access one by one: a random stream of reads and writes over
 * more pages than frames (demand-zero, zero page, swap-outs and major
 * faults) gives the same model counters and the same TLB counts. */
static void replay_matches_access(void)
{
    enum { PAGES = 4096, N = 60000 };
    unsigned rw = NF_MODEL_PROT_READ | NF_MODEL_PROT_WRITE;
    nf_tlb_geom g;
    char err[256];
    CHECK(nf_tlb_preset("zen4", &g, err, sizeof err) == 0, "%s", err);
    uint64_t *refs = malloc(N * sizeof *refs);
    nf_model_counters c[2];
    nf_tlb_stats ts[2];
    for (int k = 0; k < 2; k++) {
        nf_tlb *t = nf_tlb_create(&g, err, sizeof err);
        nf_model_config cfg = {.frames = PAGES / 2, .swap_pages = 2 * PAGES, .overcommit = 1, .tlb = t};
        nf_model *m = nf_model_create(&cfg);
        nf_model_proc *p = nf_model_proc_create(m, "p");
        uint64_t a = nf_model_mmap(p, 0, (uint64_t)PAGES * PG, rw, 0);
        uint64_t s = 12345;
        for (unsigned i = 0; i < N; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t page = (s >> 33) % (i < N / 2 ? PAGES : 256); /* then mostly TLB hits */
            refs[i] = (a + page * PG + ((s >> 20) % 64) * 64) | ((s >> 12) % 4 == 0 ? NF_MODEL_REF_WRITE : 0);
        }
        if (k == 0) {
            CHECK(nf_model_replay(p, refs, N, NULL) == N, "replayed");
        } else {
            for (unsigned i = 0; i < N; i++)
                nf_model_access(p, refs[i] & ~NF_MODEL_REF_WRITE, (refs[i] & NF_MODEL_REF_WRITE) != 0);
        }
        c[k] = mc(m);
        ts[k] = *nf_tlb_get_stats(t);
        nf_model_destroy(m);
        nf_tlb_destroy(t);
    }
    CHECK(c[0].major_faults > 0 && c[0].walks > 0 && c[0].accesses == N, "the stream swaps and walks");
    CHECK(memcmp(&c[0], &c[1], sizeof c[0]) == 0, "model counters: walks %llu vs %llu, minor %llu vs %llu",
          (unsigned long long)c[0].walks, (unsigned long long)c[1].walks, (unsigned long long)c[0].minor_faults,
          (unsigned long long)c[1].minor_faults);
    CHECK(memcmp(&ts[0], &ts[1], sizeof ts[0]) == 0, "TLB counts: l1 hits %llu vs %llu",
          (unsigned long long)ts[0].hits[0], (unsigned long long)ts[1].hits[0]);
    free(refs);
}

int main(void)
{
    TEST(demand_zero_and_zero_page);
    TEST(protection_and_guard);
    TEST(fork_cow);
    TEST(reclaim_lru);
    TEST(mlock_pins);
    TEST(oom_kills_largest);
    TEST(overcommit_modes);
    TEST(madvise_brk_trace);
    TEST(huge_pages);
    TEST(replay_and_shared_swap);
    TEST(replay_matches_access);
    TEST(huge_under_pressure);
    TEST(huge_zero_page);
    return check_done();
}
