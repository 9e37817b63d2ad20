// benches/shim_overhead_cxx.cc: the native C++ twin of shim/overhead_c
// (see shim_overhead.c): the same body, libbenchmark's own loop.
#include <benchmark/benchmark.h>

#include "notfree/pin.h"

#include <cstdint>

extern "C" void nf_register_shim_cxx_bench(void);

static void overhead_cxx(benchmark::State &state)
{
    std::uint64_t v = 42;
    for (auto _ : state)
        benchmark::DoNotOptimize(v);
    // Not run through the shim, so not pinned by it: it runs on the main
    // thread, which the shim pinned; show the binding as the C twin does.
    char desc[128];
    nf_pin_current(desc, sizeof desc);
    state.SetLabel(desc);
}

extern "C" void nf_register_shim_cxx_bench(void) { benchmark::RegisterBenchmark("shim/overhead_cxx", overhead_cxx); }
