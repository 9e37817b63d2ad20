/* test_workload_behaviors.c: each workload of `notfree compare` runs, on
 * two threads and in several rounds, through the process's malloc and
 * through heaps of shard and bins:
 *   - no damaged block, no failed malloc, operations performed;
 *   - the same seed gives the same operation count and checksum, on every
 *     allocator (the checksum sums block tags, which depend on the seed
 *     and the block ids alone), and in verify mode (every byte filled and
 *     checked); another seed runs sound too.
 * Usage: test_workload_behaviors NAME */
#include "../common/check.h"

#include "notfree/workload.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static nf_workload_result run(const char *name, const nf_mem_api *m, uint64_t seed, int verify)
{
    const nf_workload *w = nf_workload_find(name);
    REQUIREF(w, "%s: not registered", name);
    /* huge-rewrite: 3 slots a thread keep the test's memory near 150 MiB;
     * a sanitized build (NF_TEST_ITERS set, tests/alloc/meson.build) runs
     * it shorter: TSan's memset of 25 MiB blocks is slow */
    bool huge = !strcmp(name, "huge-rewrite"), sanitized = getenv("NF_TEST_ITERS") != NULL;
    unsigned slots = huge ? (sanitized ? 2 : 3) : 0;
    uint64_t ops = huge ? (sanitized ? 9 : 24) : !strcmp(name, "large") ? 300 : 30000;
    nf_workload_params p = {.threads = 2, .seed = seed, .slots = slots, .verify = verify};
    nf_workload_result r;
    int rc = nf_workload_run_ops(w, &p, m, ops, ops / 3, &r);
    CHECK(rc == 0, "%s: rc %d corrupt %llu failed %llu", name, rc, (unsigned long long)r.corrupt,
          (unsigned long long)r.failed);
    REQUIREF(r.corrupt == 0 && r.failed == 0, "%s", name);
    REQUIREF(r.ops >= 2 * ops, "%s: %llu ops", name, (unsigned long long)r.ops);
    REQUIREF(r.checksum != 0, "%s", name);
    return r;
}

static void same(const char *what, nf_workload_result a, nf_workload_result b)
{
    CHECK(a.ops == b.ops && a.checksum == b.checksum, "%s: ops %llu/%llu checksum %llx/%llx", what,
          (unsigned long long)a.ops, (unsigned long long)b.ops, (unsigned long long)a.checksum,
          (unsigned long long)b.checksum);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_workload_behaviors NAME\n");
        return 2;
    }
    const char *name = argv[1];
    nf_workload_result base = run(name, &nf_mem_libc, 7, 0);
    same("libc again", base, run(name, &nf_mem_libc, 7, 0));
    same("libc verify", base, run(name, &nf_mem_libc, 7, 1));
    run(name, &nf_mem_libc, 8, 0); /* another seed: still sound */
    static const char *const heaps[] = {"shard", "bins"};
    for (size_t i = 0; i < 2; i++) {
        const nf_allocator *a = nf_allocator_find(heaps[i]);
        REQUIRE(a);
        nf_heap *h = a->create(NULL);
        REQUIRE(h);
        nf_mem_heap_ctx ctx;
        nf_mem_api m = nf_mem_heap(&ctx, a, h);
        same(heaps[i], base, run(name, &m, 7, 0));
        same(heaps[i], base, run(name, &m, 7, 1));
        a->destroy(h);
    }
    return check_done();
}
