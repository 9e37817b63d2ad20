/* benches/shim_overhead.c: what the C shim costs per iteration.
 *
 * shim/overhead_c runs a body of one nf_do_not_optimize through the C
 * loop (NF_BENCH_LOOP: one call into C++ per batch, none per iteration);
 * shim/overhead_cxx (shim_overhead_cxx.cc) is the same body as a native
 * C++ bench. Both run pinned to the same PU in the same process; the
 * difference of their ns per iteration is the shim's overhead. Timed:
 * the whole loop, by libbenchmark's CPU timer. Left out: registration
 * and pinning, which happen once.
 */
#include "notfree/bench.h"
#include "registry.h"

#include <stdint.h>

void nf_register_shim_cxx_bench(void); /* shim_overhead_cxx.cc */

static void overhead_c(nf_state *st, void *user)
{
    (void)user;
    uint64_t v = 42;
    NF_BENCH_LOOP(st) { nf_do_not_optimize(v); }
}

void nf_register_shim_benches(void)
{
    nf_bench_register("shim/overhead_c", overhead_c, NULL);
    nf_register_shim_cxx_bench();
}
