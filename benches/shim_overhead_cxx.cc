// benches/shim_overhead_cxx.cc: the native C++ twin of shim/overhead_c
// (see shim_overhead.c): the same body, libbenchmark's own loop.
#include <benchmark/benchmark.h>

#include <cstdint>

extern "C" void nf_register_shim_cxx_bench(void);

static void overhead_cxx(benchmark::State &state)
{
    std::uint64_t v = 42;
    for (auto _ : state)
        benchmark::DoNotOptimize(v);
}

extern "C" void nf_register_shim_cxx_bench(void)
{
    benchmark::RegisterBenchmark("shim/overhead_cxx", overhead_cxx);
}
