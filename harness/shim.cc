// harness/shim.cc: the only C++ in notfree. It implements
// include/notfree/bench.h over libbenchmark (Google Benchmark 1.7.1).
//
// Three rules hold here:
//  1. No C++ exception crosses into C. Every extern "C" entry catches:
//     registration failures abort with a message (a half-registered suite
//     would silently measure less), failures inside a run become
//     SkipWithError on that run.
//  2. The measured loop does not call C++ per iteration: nf_state_batch
//     hands the C loop all of the run's iterations at once through
//     KeepRunningBatch, so the C loop costs what a C++ range-for costs.
//  3. Every thread of a bench is pinned before the C body runs, and the
//     binding read back from the kernel goes into the run's label; a
//     binding that is not the one asked for fails the run.

#include "notfree/bench.h"
#include "notfree/context.h"
#include "notfree/counters.h"
#include "notfree/outfile.h"
#include "notfree/pin.h"

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

// libbenchmark 1.7.1 exports its flags but declares them in an internal
// header; these are the types it defines them with (src/benchmark.cc).
namespace benchmark
{
extern std::string FLAGS_benchmark_format;
extern std::string FLAGS_benchmark_out;
extern std::string FLAGS_benchmark_out_format;
extern std::string FLAGS_benchmark_color;
extern std::string FLAGS_benchmark_filter;
extern bool FLAGS_benchmark_counters_tabular;
extern bool FLAGS_benchmark_list_tests;
} // namespace benchmark

// The state a C body sees: libbenchmark's State plus what the shim adds.
// Invariant: `s` outlives this object (both live for one instance-thread).
struct nf_state {
    benchmark::State *s;
    int nargs;           // arguments each instance of the family has
    bool batch_started;  // nf_state_batch handed out the iterations
    std::string pu_desc; // the binding read back, e.g. "PU L#1 (P#1)"
};

namespace
{

[[noreturn]] void die(const char *what, const char *detail)
{
    std::fprintf(stderr, "notfree: %s: %s\n", what, detail ? detail : "");
    std::abort();
}

benchmark::internal::Benchmark *B(nf_bench *b)
{
    if (!b)
        die("bench registration", "null bench handle");
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}

nf_bench *H(benchmark::internal::Benchmark *b) { return reinterpret_cast<nf_bench *>(b); }

// Runs a registration step; a failure there aborts the program.
template <class F> nf_bench *reg(const char *what, F f)
{
    try {
        return f();
    } catch (const std::exception &e) {
        die(what, e.what());
    } catch (...) {
        die(what, "unknown C++ exception");
    }
}

// Runs a state step; a failure there ends the run with an error.
template <class F> void guard(nf_state *st, const char *what, F f)
{
    try {
        f();
    } catch (const std::exception &e) {
        std::string msg = std::string(what) + ": " + e.what();
        st->s->SkipWithError(msg.c_str());
    } catch (...) {
        st->s->SkipWithError(what);
    }
}

// What the shim keeps per registered family. libbenchmark requires every
// instance of a family to have the same number of arguments, so one count
// per family bounds range(i) (State::range only asserts). Records live as
// long as the process, as libbenchmark's own families do.
struct family {
    nf_bench_fn fn;
    void *user;
    int nargs;
};
std::map<benchmark::internal::Benchmark *, family *> &families()
{
    // Never destroyed: it stays reachable at exit, as the families must.
    static auto *m = new std::map<benchmark::internal::Benchmark *, family *>;
    return *m;
}

void note_args(nf_bench *b, int n)
{
    auto it = families().find(B(b));
    if (it != families().end())
        it->second->nargs = n;
}

// Custom statistics: libbenchmark takes a plain function pointer with no
// user data, so each registered C statistic gets its own trampoline slot.
nf_stat_fn g_stats[NF_STAT_MAX];
int g_nstats;

template <int I> double stat_tramp(const std::vector<double> &v) { return g_stats[I](v.data(), v.size()); }

template <int... I> struct stat_table {
    static constexpr benchmark::StatisticsFunc *fns[] = {&stat_tramp<I>...};
};
using stats16 = stat_table<0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15>;
static_assert(sizeof(stats16::fns) / sizeof(stats16::fns[0]) == NF_STAT_MAX, "one trampoline per statistic slot");

// Where run results go besides the reporters.
nf_run_cb g_run_cb;
void *g_run_cb_user;
bool g_progress;
nf_ready_cb g_ready_cb;
void *g_ready_cb_user;

// What makes libbenchmark's JSON valid when the run stops after a step:
// JSONReporter writes "benchmarks": [ in the context, each run as a whole
// object, the comma before the next one, and "\n  ]\n}\n" in Finalize.
const char k_json_partial_closing[] = "\n  ],\n  \"partial\": true\n}\n";

// The body libbenchmark calls: pin, read the binding back, run C.
void run_c_body(benchmark::State &s, const family *fam)
{
    nf_state st{&s, fam->nargs, false, std::string()};
    char err[256], desc[128];
    int want = nf_pin_pu_for_thread(s.thread_index());
    if (nf_pin_thread(s.thread_index(), err, sizeof err) != 0) {
        s.SkipWithError(err);
        return;
    }
    int got = nf_pin_current(desc, sizeof desc);
    if (got != want) {
        std::string m = "pinning: asked for PU " + std::to_string(want) + ", bound to " + desc;
        s.SkipWithError(m.c_str());
        return;
    }
    st.pu_desc = desc;
    s.SetLabel(st.pu_desc);
    try {
        fam->fn(&st, fam->user);
    } catch (...) {
        // C code does not throw; a C++ bench (shim/overhead_cxx) might.
        s.SkipWithError("C++ exception escaped the bench body");
    }
}

// ---------------------------------------------------------------------
// Reporting: a proxy around libbenchmark's own reporters that (a) puts
// the notfree context into JSON output, (b) counts errored runs, (c)
// hands each run to the C callback and prints progress, (d) for the
// --benchmark_out file, hands each whole step to notfree/outfile.h
// instead of the stream libbenchmark opened.

class ProxyReporter : public benchmark::BenchmarkReporter
{
  public:
    // `primary`: the display reporter, which alone reports progress and
    // feeds the run callback (the file reporter sees the same runs).
    // `to_outfile`: the text goes to the open nf_outfile, one step at a time.
    ProxyReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner, bool json, bool primary, bool to_outfile = false)
        : inner_(std::move(inner)), json_(json), primary_(primary), to_outfile_(to_outfile)
    {
    }

    bool ReportContext(const Context &c) override
    {
        inner_->SetErrorStream(&GetErrorStream());
        if (!json_) {
            inner_->SetOutputStream(&out());
            bool ok = inner_->ReportContext(c);
            if (primary_)
                print_console_context();
            step(false);
            return ok;
        }
        // JSON: let libbenchmark write its context, then add ours as
        // "notfree": {...} as the first key of "context".
        std::ostringstream tmp;
        inner_->SetOutputStream(&tmp);
        bool ok = inner_->ReportContext(c);
        std::string text = tmp.str();
        const std::string key = "\"context\": {";
        size_t at = text.find(key);
        char *ctx = nf_context_json();
        if (at != std::string::npos && ctx) {
            at += key.size();
            text.insert(at, std::string("\n    \"notfree\": ") + ctx + ",");
        }
        std::free(ctx);
        out() << text;
        inner_->SetOutputStream(&out());
        step(false);
        return ok;
    }

    void ReportRuns(const std::vector<Run> &runs) override
    {
        inner_->ReportRuns(runs);
        if (!runs.empty())
            step(true);
        for (const Run &r : runs) {
            if (r.error_occurred)
                errors_++;
            else if (r.run_type == Run::RT_Iteration)
                ok_++;
            if (g_run_cb && primary_)
                call_cb(r);
        }
        // One line per bench: its repetitions and its aggregates come in
        // two calls, under one run name.
        if (g_progress && primary_ && !runs.empty() && runs.front().run_name.str() != last_done_) {
            last_done_ = runs.front().run_name.str();
            done_++;
            auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
            std::fprintf(stderr, "notfree: [%zu/%zu] %s done (%.0f s elapsed)\n", done_, total_, last_done_.c_str(),
                         secs);
        }
    }

    void Finalize() override
    {
        inner_->Finalize();
        step(true, false);
    }

    size_t errors() const { return errors_; }
    void set_total(size_t n) { total_ = n; }

  private:
    std::ostream &out() { return to_outfile_ ? buf_ : GetOutputStream(); }

    // One whole step written: to the outfile, with what closes the file
    // if the run stops here (`keep`: a bench has finished).
    void step(bool keep, bool open_array = true)
    {
        if (!to_outfile_)
            return;
        std::string text = buf_.str();
        buf_.str("");
        nf_outfile_write(text.data(), text.size(), json_ && open_array ? k_json_partial_closing : nullptr,
                         keep ? 1 : 0);
    }

    // The console gets the context's short form; the JSON keeps it whole.
    void print_console_context()
    {
        char *sum = nf_context_summary();
        if (sum)
            GetErrorStream() << sum;
        std::free(sum);
    }

    static void call_cb(const Run &r)
    {
        std::vector<nf_run_counter> cs;
        for (const auto &kv : r.counters) {
            double v = kv.second.value;
            // Apply the per-iteration and rate flags as reporters do.
            // libbenchmark has already finalised counters by now.
            cs.push_back(nf_run_counter{kv.first.c_str(), v});
        }
        std::string name = r.benchmark_name();
        nf_run_result res;
        res.name = name.c_str();
        res.aggregate = r.aggregate_name.c_str();
        res.time_unit = benchmark::GetTimeUnitString(r.time_unit);
        res.real_time = r.GetAdjustedRealTime();
        res.cpu_time = r.GetAdjustedCPUTime();
        res.iterations = r.iterations;
        res.threads = r.threads;
        res.repetition_index = r.repetition_index;
        res.label = r.report_label.c_str();
        res.error = r.error_occurred;
        res.error_message = r.error_message.c_str();
        res.ncounters = cs.size();
        res.counters = cs.data();
        g_run_cb(&res, g_run_cb_user);
    }

    std::unique_ptr<benchmark::BenchmarkReporter> inner_;
    bool json_;
    bool primary_;
    bool to_outfile_;
    std::ostringstream buf_; // the step being written, when to_outfile_
    size_t errors_ = 0, ok_ = 0, done_ = 0, total_ = 0;
    std::string last_done_; // the run name progress last counted
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

// A reporter that only collects names, for --list and for progress totals.
class ListReporter : public benchmark::BenchmarkReporter
{
  public:
    bool ReportContext(const Context &) override { return true; }
    void ReportRuns(const std::vector<Run> &) override {}
};

std::unique_ptr<benchmark::BenchmarkReporter> make_reporter(const std::string &fmt, bool console_ok, bool *json)
{
    *json = false;
    if (fmt == "json") {
        *json = true;
        return std::unique_ptr<benchmark::BenchmarkReporter>(new benchmark::JSONReporter);
    }
    if (fmt == "csv") {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        return std::unique_ptr<benchmark::BenchmarkReporter>(new benchmark::CSVReporter);
#pragma GCC diagnostic pop
    }
    if (fmt == "console" && console_ok) {
        int opts = 0;
        const std::string &c = benchmark::FLAGS_benchmark_color;
        bool color = (c == "true" || c == "yes" || c == "1" || c == "force") || (c == "auto" && isatty(STDOUT_FILENO));
        if (color)
            opts |= benchmark::ConsoleReporter::OO_Color;
        if (benchmark::FLAGS_benchmark_counters_tabular)
            opts |= benchmark::ConsoleReporter::OO_Tabular;
        return std::unique_ptr<benchmark::BenchmarkReporter>(
            new benchmark::ConsoleReporter(static_cast<benchmark::ConsoleReporter::OutputOptions>(opts)));
    }
    return nullptr;
}

void usage(FILE *f, const char *prog)
{
    std::fprintf(f,
                 "usage: %s [--pin=PU] [--list] [--benchmark_* flags]\n"
                 "\n"
                 "Runs notfree's benches through Google Benchmark, each thread pinned to one PU.\n"
                 "\n"
                 "notfree flags:\n"
                 "  --pin=PU     bind the measuring thread to hwloc PU (logical index);\n"
                 "               thread i of a multithreaded bench gets PU+i (wrapping).\n"
                 "               Default: the last PU.\n"
                 "  --list       list the benches (as their names are emitted) and those\n"
                 "               this box cannot run, with the reason; run nothing.\n"
                 "  --help       this text.\n"
                 "\n"
                 "The Google Benchmark flags used most:\n"
                 "  --benchmark_filter=REGEX       only the benches whose names match REGEX\n"
                 "                                 (a leading '-' inverts it); an invalid\n"
                 "                                 REGEX is refused with the reason\n"
                 "  --benchmark_min_time=SECONDS   how long each bench runs at least\n"
                 "  --benchmark_repetitions=N      N runs, then median, mean, stddev, cv\n"
                 "  --benchmark_format=console|json|csv      what stdout gets\n"
                 "  --benchmark_out=FILE           also write FILE (JSON unless\n"
                 "                                 --benchmark_out_format says otherwise),\n"
                 "                                 through a temporary file renamed at the\n"
                 "                                 end; SIGINT/SIGTERM keep the benches that\n"
                 "                                 finished, marked \"partial\": true\n"
                 "\n"
                 "Exit status: 0 all ran; 1 a bench errored, the filter matched nothing or\n"
                 "FILE cannot be written; 2 a bad flag (an invalid regex among them).\n"
                 "\n"
                 "Every Google Benchmark flag is accepted (its own list):\n",
                 prog);
}

bool starts_with(const char *s, const char *p) { return std::strncmp(s, p, std::strlen(p)) == 0; }

// The bench names the filter selects, by libbenchmark's own matching.
// Returns 0, or -1 when libbenchmark refused the filter's regex (`why`
// gets its reason).
int list_names(std::vector<std::string> *out, std::string *why)
{
    // libbenchmark's list mode prints one instance name per line to the
    // display reporter's stream; capture it. Its complaints go to the
    // error stream: capture those too, to say why nothing matched.
    std::ostringstream names;
    ListReporter lr;
    lr.SetOutputStream(&names);
    std::ostringstream errs;
    lr.SetErrorStream(&errs);
    bool saved = benchmark::FLAGS_benchmark_list_tests;
    // Without this, list mode would open (and truncate) --benchmark_out,
    // or exit(1) silently when it cannot.
    std::string saved_out = benchmark::FLAGS_benchmark_out;
    benchmark::FLAGS_benchmark_list_tests = true;
    benchmark::FLAGS_benchmark_out.clear();
    benchmark::RunSpecifiedBenchmarks(&lr);
    benchmark::FLAGS_benchmark_list_tests = saved;
    benchmark::FLAGS_benchmark_out = saved_out;
    std::istringstream in(names.str());
    std::string line;
    while (std::getline(in, line))
        if (!line.empty())
            out->push_back(line);
    // libbenchmark 1.7.1: "Could not compile benchmark re: <reason>".
    const std::string e = errs.str(), tag = "Could not compile benchmark re: ";
    size_t at = e.find(tag);
    if (at == std::string::npos)
        return 0;
    *why = e.substr(at + tag.size());
    while (!why->empty() && (why->back() == '\n' || why->back() == '\r'))
        why->pop_back();
    return -1;
}

} // namespace

// ---------------------------------------------------------------------
extern "C" {

nf_bench *nf_bench_register(const char *name, nf_bench_fn fn, void *user)
{
    if (!name || !*name || !fn)
        die("nf_bench_register", "a bench needs a name and a function");
    return reg(name, [&] {
        family *fam = new family{fn, user, 0};
        auto *b = benchmark::RegisterBenchmark(name, [fam](benchmark::State &s) { run_c_body(s, fam); });
        families()[b] = fam;
        return H(b);
    });
}

nf_bench *nf_bench_arg(nf_bench *b, int64_t x)
{
    note_args(b, 1);
    return reg("Arg", [&] { return H(B(b)->Arg(x)); });
}

nf_bench *nf_bench_args(nf_bench *b, const int64_t *xs, size_t n)
{
    note_args(b, static_cast<int>(n));
    return reg("Args", [&] { return H(B(b)->Args(std::vector<int64_t>(xs, xs + n))); });
}

nf_bench *nf_bench_range(nf_bench *b, int64_t lo, int64_t hi)
{
    note_args(b, 1);
    return reg("Range", [&] { return H(B(b)->Range(lo, hi)); });
}

nf_bench *nf_bench_range_multiplier(nf_bench *b, int multiplier)
{
    return reg("RangeMultiplier", [&] { return H(B(b)->RangeMultiplier(multiplier)); });
}

nf_bench *nf_bench_ranges(nf_bench *b, const int64_t (*lohi)[2], size_t n)
{
    note_args(b, static_cast<int>(n));
    return reg("Ranges", [&] {
        std::vector<std::pair<int64_t, int64_t>> r;
        for (size_t i = 0; i < n; i++)
            r.emplace_back(lohi[i][0], lohi[i][1]);
        return H(B(b)->Ranges(r));
    });
}

nf_bench *nf_bench_arg_name(nf_bench *b, const char *name)
{
    return reg("ArgName", [&] { return H(B(b)->ArgName(name)); });
}

nf_bench *nf_bench_arg_names(nf_bench *b, const char *const *names, size_t n)
{
    return reg("ArgNames", [&] { return H(B(b)->ArgNames(std::vector<std::string>(names, names + n))); });
}

nf_bench *nf_bench_threads(nf_bench *b, int n)
{
    return reg("Threads", [&] { return H(B(b)->Threads(n)); });
}

nf_bench *nf_bench_thread_range(nf_bench *b, int lo, int hi)
{
    return reg("ThreadRange", [&] { return H(B(b)->ThreadRange(lo, hi)); });
}

nf_bench *nf_bench_min_time(nf_bench *b, double seconds)
{
    return reg("MinTime", [&] { return H(B(b)->MinTime(seconds)); });
}

nf_bench *nf_bench_iterations(nf_bench *b, int64_t n)
{
    return reg("Iterations", [&] { return H(B(b)->Iterations(n)); });
}

nf_bench *nf_bench_repetitions(nf_bench *b, int n)
{
    return reg("Repetitions", [&] { return H(B(b)->Repetitions(n)); });
}

nf_bench *nf_bench_use_real_time(nf_bench *b)
{
    return reg("UseRealTime", [&] { return H(B(b)->UseRealTime()); });
}

nf_bench *nf_bench_use_manual_time(nf_bench *b)
{
    return reg("UseManualTime", [&] { return H(B(b)->UseManualTime()); });
}

nf_bench *nf_bench_unit(nf_bench *b, nf_unit u)
{
    static const benchmark::TimeUnit map[] = {benchmark::kNanosecond, benchmark::kMicrosecond, benchmark::kMillisecond,
                                              benchmark::kSecond};
    if (static_cast<unsigned>(u) > NF_UNIT_S)
        die("Unit", "unknown time unit");
    return reg("Unit", [&] { return H(B(b)->Unit(map[u])); });
}

nf_bench *nf_bench_statistic(nf_bench *b, const char *name, nf_stat_fn fn)
{
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    if (!fn || !name)
        die("ComputeStatistics", "a statistic needs a name and a function");
    int slot = -1;
    for (int i = 0; i < g_nstats; i++)
        if (g_stats[i] == fn)
            slot = i;
    if (slot < 0) {
        if (g_nstats == NF_STAT_MAX)
            die("ComputeStatistics", "more than NF_STAT_MAX distinct statistics");
        slot = g_nstats++;
        g_stats[slot] = fn;
    }
    return reg("ComputeStatistics", [&] { return H(B(b)->ComputeStatistics(name, stats16::fns[slot])); });
}

uint64_t nf_state_batch(nf_state *st)
{
    benchmark::State &s = *st->s;
    if (!st->batch_started) {
        st->batch_started = true;
        benchmark::IterationCount n = s.max_iterations;
        if (n > 0 && s.KeepRunningBatch(n))
            return static_cast<uint64_t>(n);
        if (n <= 0)
            s.KeepRunningBatch(1); // starts and finishes the (empty) run
        return 0;
    }
    // The one batch is done: this call stops the timer and ends the run.
    s.KeepRunningBatch(1);
    return 0;
}

int64_t nf_state_range(const nf_state *st, size_t i)
{
    if (i >= static_cast<size_t>(st->nargs)) {
        // A bench asking for an argument its family does not have is a bug
        // in the bench: end its run with an error rather than read garbage.
        std::string m = "range(" + std::to_string(i) + "): the bench has " + std::to_string(st->nargs) + " argument(s)";
        st->s->SkipWithError(m.c_str());
        return 0;
    }
    return st->s->range(i);
}

int nf_state_thread_index(const nf_state *st) { return st->s->thread_index(); }
int nf_state_threads(const nf_state *st) { return st->s->threads(); }
int64_t nf_state_iterations(const nf_state *st) { return st->s->iterations(); }
void nf_state_pause(nf_state *st)
{
    guard(st, "PauseTiming", [&] { st->s->PauseTiming(); });
}
void nf_state_resume(nf_state *st)
{
    guard(st, "ResumeTiming", [&] { st->s->ResumeTiming(); });
}

void nf_state_set_iteration_time(nf_state *st, double seconds)
{
    guard(st, "SetIterationTime", [&] { st->s->SetIterationTime(seconds); });
}

void nf_state_counter(nf_state *st, const char *name, double value, int flags)
{
    guard(st, "counter",
          [&] { st->s->counters[name] = benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(flags)); });
}

void nf_state_items_processed(nf_state *st, int64_t n)
{
    guard(st, "SetItemsProcessed", [&] { st->s->SetItemsProcessed(n); });
}

void nf_state_bytes_processed(nf_state *st, int64_t n)
{
    guard(st, "SetBytesProcessed", [&] { st->s->SetBytesProcessed(n); });
}

void nf_state_label(nf_state *st, const char *label)
{
    // The binding read back stays in every label.
    guard(st, "SetLabel", [&] { st->s->SetLabel(st->pu_desc + " " + (label ? label : "")); });
}

void nf_state_skip_with_error(nf_state *st, const char *msg)
{
    try {
        st->s->SkipWithError(msg && *msg ? msg : "unspecified error");
    } catch (...) {
        die("SkipWithError", msg);
    }
}

int nf_state_error_occurred(const nf_state *st) { return st->s->error_occurred(); }

void nf_bench_on_run(nf_run_cb cb, void *user)
{
    g_run_cb = cb;
    g_run_cb_user = user;
}

void nf_bench_set_progress(int on) { g_progress = on != 0; }

void nf_bench_on_ready(nf_ready_cb cb, void *user)
{
    g_ready_cb = cb;
    g_ready_cb_user = user;
}

int nf_bench_main(int argc, char **argv)
{
    // Messages name the command that runs the benches ("notfree bench",
    // "notfree run"), as argv[0] gives it.
    const char *prog = argc > 0 && argv[0] ? argv[0] : "notfree bench";
    try {
        // Our flags first; everything else is libbenchmark's.
        std::vector<char *> rest;
        rest.push_back(argv[0]);
        int pin = -1;
        bool list = false;
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
                usage(stdout, prog);
                benchmark::PrintDefaultHelp();
                return 0;
            } else if (!std::strcmp(a, "--list")) {
                list = true;
            } else if (starts_with(a, "--pin=")) {
                char *end = nullptr;
                long v = std::strtol(a + 6, &end, 10);
                if (end == a + 6 || *end || v < 0 || v > 1 << 20) {
                    std::fprintf(stderr, "%s: --pin wants a PU number, got '%s'\n", prog, a + 6);
                    return 2;
                }
                pin = static_cast<int>(v);
            } else if (!std::strcmp(a, "--pin")) {
                std::fprintf(stderr, "%s: write --pin=PU (e.g. --pin=0)\n", prog);
                return 2;
            } else {
                rest.push_back(argv[i]);
            }
        }
        rest.push_back(nullptr);
        int rargc = static_cast<int>(rest.size()) - 1;

        char err[256];
        if (nf_pin_init(err, sizeof err) != 0) {
            std::fprintf(stderr, "%s: hwloc: %s\n", prog, err);
            return 1;
        }
        if (nf_pin_set_base(pin < 0 ? nf_pin_default_pu() : pin, err, sizeof err) != 0) {
            std::fprintf(stderr, "%s: --pin: %s\n", prog, err);
            return 2;
        }
        // The main thread too: libbenchmark runs 1-thread benches on it.
        if (nf_pin_thread(0, err, sizeof err) != 0) {
            std::fprintf(stderr, "%s: pinning: %s\n", prog, err);
            return 1;
        }
        char desc[128];
        nf_pin_current(desc, sizeof desc);
        std::string pinning = std::string("thread i bound to PU (") + std::to_string(nf_pin_base()) + " + i) mod " +
                              std::to_string(nf_pin_pu_count()) + "; main thread read back as " + desc;
        nf_context_set("pinning", pinning.c_str());
        // Debian builds libbenchmark as debug (context.library_build_type
        // says "debug"): say what that touches rather than hide it.
        nf_context_set("libbenchmark_build",
                       "libbenchmark reports library_build_type=debug (Debian's build). Timed loops are "
                       "notfree's own code, built release; the library's debug code runs only between "
                       "batches and around runs, outside the timed region of manual-time benches.");
        nf_counters_probe_all();

        // libbenchmark calls this printer, then exit(0), for a flag value it
        // refuses (e.g. --benchmark_format=yaml): that is a bad flag, so
        // say so and exit 2 first.
        benchmark::Initialize(&rargc, rest.data(), [] {
            std::fprintf(stderr, "notfree bench: a --benchmark_* flag has a value Google Benchmark refuses"
                                 " (formats: console, json, csv); see --help\n");
            std::exit(2);
        });
        if (rargc > 1) {
            for (int i = 1; i < rargc; i++)
                std::fprintf(stderr, "%s: unknown or malformed flag '%s' (see --help)\n", prog, rest[i]);
            return 2;
        }

        const std::string filter = benchmark::FLAGS_benchmark_filter;
        std::vector<std::string> names;
        std::string why;
        if (list_names(&names, &why) != 0) {
            std::fprintf(stderr, "%s: invalid regex in --benchmark_filter='%s': %s\n", prog, filter.c_str(),
                         why.c_str());
            return 2;
        }
        if (names.empty()) {
            std::fprintf(stderr, "%s: no bench matches --benchmark_filter='%s'\n", prog, filter.c_str());
            return 1;
        }
        if (list || benchmark::FLAGS_benchmark_list_tests) {
            for (const auto &n : names)
                std::printf("%s\n", n.c_str());
            // Benches and counters the box cannot give are not registered;
            // say which and why (stderr, so stdout stays a list of names).
            nf_context_unavailable_each(
                [](const char *name, const char *reason, void *) {
                    std::fprintf(stderr, "unavailable here: %s: %s\n", name, reason);
                },
                nullptr);
            return 0;
        }

        bool json = false;
        auto inner = make_reporter(benchmark::FLAGS_benchmark_format, true, &json);
        if (!inner) {
            std::fprintf(stderr, "%s: unknown --benchmark_format='%s' (console, json, csv)\n", prog,
                         benchmark::FLAGS_benchmark_format.c_str());
            return 2;
        }
        ProxyReporter display(std::move(inner), json, true);
        display.set_total(names.size());
        std::unique_ptr<ProxyReporter> file;
        const std::string out_path = benchmark::FLAGS_benchmark_out;
        if (!out_path.empty()) {
            bool fjson = false;
            auto finner = make_reporter(benchmark::FLAGS_benchmark_out_format, true, &fjson);
            if (!finner) {
                std::fprintf(stderr, "%s: unknown --benchmark_out_format='%s' (console, json, csv)\n", prog,
                             benchmark::FLAGS_benchmark_out_format.c_str());
                return 2;
            }
            file.reset(new ProxyReporter(std::move(finner), fjson, false, true));
        }
        // Every flag is valid and the benches are known: only now may the
        // caller (and we) create files.
        if (g_ready_cb) {
            int rc = g_ready_cb(names.size(), g_ready_cb_user);
            if (rc != 0)
                return rc;
        }
        if (file) {
            if (nf_outfile_open(out_path.c_str(), err, sizeof err) != 0) {
                std::fprintf(stderr, "%s: %s\n", prog, err);
                return 1;
            }
            // libbenchmark insists on opening --benchmark_out itself when
            // given a file reporter; the file reporter writes to the
            // outfile instead, so let it open a sink.
            benchmark::FLAGS_benchmark_out = "/dev/null";
        }
        size_t ran = benchmark::RunSpecifiedBenchmarks(&display, file.get());
        benchmark::FLAGS_benchmark_out = out_path;
        benchmark::Shutdown();
        if (file) {
            if (ran == 0) {
                nf_outfile_discard();
            } else if (nf_outfile_commit(err, sizeof err) != 0) {
                std::fprintf(stderr, "%s: %s\n", prog, err);
                return 1;
            }
        }
        if (ran == 0) {
            std::fprintf(stderr, "%s: no bench ran\n", prog);
            return 1;
        }
        if (display.errors() > 0) {
            std::fprintf(stderr, "%s: %zu run(s) ended with an error (see error_message)\n", prog, display.errors());
            return 1;
        }
        return 0;
    } catch (const std::exception &e) {
        nf_outfile_discard();
        std::fprintf(stderr, "%s: %s\n", prog, e.what());
        return 1;
    } catch (...) {
        nf_outfile_discard();
        std::fprintf(stderr, "%s: unknown C++ exception\n", prog);
        return 1;
    }
}

} // extern "C"
