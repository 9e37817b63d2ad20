#!/usr/bin/env bash
# tests/shim/shim_test.sh CASE PROBE NOTFREE SRCDIR
# Runs the shim probe (or the real notfree binary) and checks what the
# shim must produce. Each case fails with a message saying what was wrong.
set -euo pipefail
case_="$1" probe="$2" notfree="$3" src="$4"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL [$case_]: $*" >&2; exit 1; }
# run FILTER [flags...]: JSON to $tmp/out.json, stderr to $tmp/err, rc to $rc
run() {
  local f="$1"; shift
  set +e
  "$probe" --benchmark_filter="$f" --benchmark_format=json "$@" >"$tmp/out.json" 2>"$tmp/err"
  rc=$?
  set -e
}
q() { jq -r "$1" "$tmp/out.json"; }
# interrupt SIGNAL: runs t/args then t/slow (30 s) with --benchmark_out
# $tmp/p.json, sends SIGNAL once t/args is written (in the temporary
# file), and waits; rc gets the exit status. Job control gives the probe
# the default SIGINT a background job would otherwise lack.
interrupt() {
  local sig="$1" pid i
  rm -f "$tmp/p.json"
  set -m
  "$probe" --benchmark_filter='^t/(args/|slow)' --benchmark_format=json \
    --benchmark_out="$tmp/p.json" >"$tmp/out.json" 2>"$tmp/err" &
  pid=$!
  set +m
  for i in $(seq 1 300); do
    grep -qs 't/args' "$tmp"/.p.json.*.tmp && break
    sleep 0.1
  done
  kill -"$sig" "$pid"
  set +e; wait "$pid"; rc=$?; set -e
}
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
expect_true() { [ "$(q "$1")" = "true" ] || fail "$2 (jq: $1)"; }

case "$case_" in
args)
  run '^t/args/'
  expect_eq "$rc" 0 "exit status"
  expect_eq "$(q '.benchmarks[0].name')" "t/args/a:3/b:5/iterations:10" "emitted name"
  expect_eq "$(q '.benchmarks[0].sum')" "8" "range(0)+range(1)"
  expect_eq "$(q '.benchmarks[0].iterations')" "10" "Iterations(10)" ;;
counters)
  run '^t/counters'
  expect_eq "$rc" 0 "exit status"
  expect_eq "$(q '.benchmarks[0].user')" "1234" "user pointer"
  expect_eq "$(q '.benchmarks[0].per_iter')" "2" "kAvgIterations"
  expect_eq "$(q '.benchmarks[0].inverted')" "0.25" "kInvert"
  expect_eq "$(q '.benchmarks[0].loops')" "1000" "batched loop ran every iteration"
  expect_true '.benchmarks[0].items_per_second > 0' "SetItemsProcessed gives items_per_second"
  expect_true '.benchmarks[0].bytes_per_second > 0' "SetBytesProcessed gives bytes_per_second"
  expect_true '.benchmarks[0].label | test("^PU L#[0-9]+.* probe-label$")' "label keeps the binding, then ours" ;;
manual)
  run '^t/manual'
  expect_eq "$rc" 0 "exit status"
  expect_eq "$(q '.benchmarks[0].name')" "t/manual/iterations:5/manual_time" "emitted name"
  expect_eq "$(q '.benchmarks[0].time_unit')" "ms" "Unit(ms)"
  expect_true '(.benchmarks[0].real_time - 1.0) | fabs < 1e-9' "SetIterationTime(1 ms) per iteration" ;;
pause)
  run '^t/pause'
  expect_eq "$rc" 0 "exit status"
  expect_eq "$(q '.benchmarks[0].name')" "t/pause/iterations:3/real_time" "UseRealTime suffix"
  # 20 ms slept per iteration with the timer paused: what is left is the
  # pause/resume bookkeeping, far under the sleep.
  expect_true '.benchmarks[0].real_time < 10' "paused time excluded" ;;
threads)
  run '^t/threads'
  expect_eq "$rc" 0 "exit status ($(cat "$tmp/err"))"
  expect_eq "$(q '[.benchmarks[].name] | join(",")')" \
    "t/threads/iterations:100/threads:1,t/threads/iterations:100/threads:2" "ThreadRange(1,2)"
  expect_eq "$(q '.benchmarks[1].index_sum')" "1" "thread indices 0+1"
  expect_eq "$(q '.benchmarks[1].nthreads')" "2" "kAvgThreads over 2 threads"
  expect_true '[.benchmarks[].error_occurred // false] | all(. == false)' "every thread pinned and read back" ;;
stats)
  run '^t/stats'
  expect_eq "$rc" 0 "exit status"
  expect_eq "$(q '[.benchmarks[] | select(.run_type=="iteration")] | length')" "3" "Repetitions(3)"
  expect_true '[.benchmarks[] | select(.aggregate_name=="max")] | length == 1' "custom statistic 'max'"
  expect_true '[.benchmarks[] | select(.aggregate_name=="median")] | length == 1' "median aggregate" ;;
skip)
  run '^t/skip$'
  expect_eq "$rc" 1 "a bench that errors makes the run exit 1"
  expect_true '.benchmarks[0].error_occurred == true' "error_occurred"
  expect_eq "$(q '.benchmarks[0].error_message')" "probe: skipped on purpose" "error_message"
  grep -q "ended with an error" "$tmp/err" || fail "stderr does not say a run errored" ;;
context)
  run '^t/args/'
  for k in topology cpu_model kernel_release thp_mode overcommit_mode swap_total_kib \
           counters_available unavailable pinning memory_temperature tlb; do
    expect_true ".context.notfree | has(\"$k\")" "context.notfree.$k present"
  done
  expect_true '.context.notfree.topology.pus >= 1' "topology counts PUs"
  expect_eq "$(q '.context.notfree.unavailable["t/never"]')" \
    "probe: this bench is listed as unavailable on purpose" "unavailable bench with its reason"
  expect_eq "$(q '.context.notfree.thp_mode')" \
    "$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled)" "THP mode"
  expect_eq "$(q '.context.host_name')" "$(hostname)" "libbenchmark's own context kept"
  # --benchmark_out gets the same context as the display.
  run '^t/args/' --benchmark_out="$tmp/file.json"
  jq -e '.context.notfree.topology and (.benchmarks | length == 1)' "$tmp/file.json" >/dev/null \
    || fail "--benchmark_out file lacks the notfree context" ;;
flags)
  pus=$(q '.context.notfree.topology.pus' 2>/dev/null || true)
  run '^t/args/' --pin=0
  expect_eq "$rc" 0 "--pin=0 accepted"
  expect_true '.benchmarks[0].label | startswith("PU L#0")' "--pin=0 binds PU 0"
  run '^t/args/' --pin=4096
  expect_eq "$rc" 2 "--pin out of range"
  grep -q "pin" "$tmp/err" || fail "no message for a bad --pin"
  run '^t/args/' --pin=abc
  expect_eq "$rc" 2 "--pin=abc"
  run '^t/args/' --no-such-flag
  expect_eq "$rc" 2 "unknown flag"
  grep -q "no-such-flag" "$tmp/err" || fail "unknown flag not named"
  run '^t/args/' --benchmark_format=yaml
  expect_eq "$rc" 2 "bad --benchmark_format"
  "$probe" --help >"$tmp/help" || fail "--help exits non-zero"
  grep -q -- "--pin=PU" "$tmp/help" || fail "--help lacks --pin"
  grep -q -- "benchmark_filter" "$tmp/help" || fail "--help lacks libbenchmark's flags"
  "$probe" --list >"$tmp/list" 2>/dev/null || fail "--list exits non-zero"
  grep -qx "t/args/a:3/b:5/iterations:10" "$tmp/list" || fail "--list lacks t/args"
  : "$pus" ;;
filter)
  run 'matches-nothing-at-all' --benchmark_out="$tmp/none.json"
  expect_eq "$rc" 1 "a filter matching nothing is an error"
  grep -q "no bench matches" "$tmp/err" || fail "no message for an empty filter"
  [ ! -e "$tmp/none.json" ] || fail "a filter matching nothing left $(stat -c %s "$tmp/none.json")-byte --benchmark_out file"
  run '(' --benchmark_out="$tmp/none.json"
  expect_eq "$rc" 2 "an invalid regex is a bad flag"
  grep -q "invalid regex.*Mismatched '(' and ')'" "$tmp/err" || fail "no 'invalid regex' with its reason: $(cat "$tmp/err")"
  [ ! -e "$tmp/none.json" ] || fail "an invalid regex left a --benchmark_out file" ;;
out)
  run '^t/args/' --benchmark_out=/nonexistent/dir/x.json
  expect_eq "$rc" 1 "an unwritable --benchmark_out"
  grep -q "cannot write /nonexistent/dir/x.json: No such file or directory" "$tmp/err" \
    || fail "no reason for an unwritable --benchmark_out: '$(cat "$tmp/err")'"
  run '^t/args/' --benchmark_out="$tmp/ok.json"
  jq -e '.benchmarks | length == 1' "$tmp/ok.json" >/dev/null || fail "--benchmark_out not written"
  jq -e 'has("partial") | not' "$tmp/ok.json" >/dev/null || fail "a complete file is marked partial"
  [ -z "$(ls -A "$tmp" | grep '\.tmp$')" ] || fail "a temporary file is left: $(ls -A "$tmp")"
  # A FIFO (or /dev/stdout) is written in place, never renamed over; a
  # symlink is followed.
  mkfifo "$tmp/fifo"
  cat "$tmp/fifo" >"$tmp/from-fifo" &
  reader=$!
  run '^t/args/' --benchmark_out="$tmp/fifo"
  [ -p "$tmp/fifo" ] || { kill "$reader"; fail "the FIFO was replaced"; }
  wait "$reader"
  expect_eq "$rc" 0 "--benchmark_out to a FIFO"
  jq -e '.benchmarks | length == 1' "$tmp/from-fifo" >/dev/null || fail "nothing valid came through the FIFO"
  ln -s "$tmp/ok.json" "$tmp/link.json"
  run '^t/args/' --benchmark_out="$tmp/link.json"
  [ -L "$tmp/link.json" ] || fail "the symlink was replaced"
  jq -e '.benchmarks | length == 1' "$tmp/ok.json" >/dev/null || fail "the symlink's file not written" ;;
interrupt)
  for sig in INT TERM; do
    interrupt "$sig"
    want=$((128 + $(kill -l "$sig")))
    expect_eq "$rc" "$want" "SIG$sig ends the run as the signal would"
    jq -e . "$tmp/p.json" >/dev/null || fail "SIG$sig: $tmp/p.json is not valid JSON: $(tail -c 200 "$tmp/p.json")"
    jq -e '.partial == true' "$tmp/p.json" >/dev/null || fail "SIG$sig: the file is not marked partial"
    expect_eq "$(jq -r '[.benchmarks[].name] | join(",")' "$tmp/p.json")" "t/args/a:3/b:5/iterations:10" \
      "SIG$sig: the finished bench is kept, the interrupted one is not"
    jq -e '.context.notfree.topology' "$tmp/p.json" >/dev/null || fail "SIG$sig: the context is lost"
    grep -q "interrupted by SIG$sig" "$tmp/err" || fail "SIG$sig: no message: $(cat "$tmp/err")"
    [ -z "$(ls -A "$tmp" | grep '\.tmp$')" ] || fail "SIG$sig: a temporary file is left"
  done ;;
kill)
  interrupt KILL
  expect_eq "$rc" 137 "SIGKILL"
  [ ! -e "$tmp/p.json" ] || fail "SIGKILL left a final file (truncated: $(stat -c %s "$tmp/p.json") bytes)"
  ls -A "$tmp" | grep -q '^\.p\.json\.[0-9]*\.tmp$' || fail "no temporary file after SIGKILL (test setup)"
  # The next run writing the same file removes the dead run's temporary.
  run '^t/args/' --benchmark_out="$tmp/p.json"
  expect_eq "$rc" 0 "the run after"
  jq -e '.benchmarks | length == 1' "$tmp/p.json" >/dev/null || fail "the run after wrote no file"
  [ -z "$(ls -A "$tmp" | grep '\.tmp$')" ] || fail "the stale temporary file is still there"
  grep -q "removed .*left by a run that was killed" "$tmp/err" || fail "the removal is not reported" ;;
help)
  "$notfree" bench --help >"$tmp/help" || fail "notfree bench --help exits non-zero"
  expect_eq "$(head -1 "$tmp/help")" "usage: notfree bench [--pin=PU] [--list] [--benchmark_* flags]" "usage line"
  for f in --pin=PU --list --benchmark_filter=REGEX --benchmark_out=FILE --benchmark_min_time; do
    grep -q -- "$f" "$tmp/help" || fail "--help lacks $f"
  done ;;
console)
  # The console gets a short context; the JSON keeps the whole one.
  set +e
  "$probe" --benchmark_filter='^t/args/' >"$tmp/out.txt" 2>"$tmp/err"
  rc=$?
  set -e
  expect_eq "$rc" 0 "console run"
  ! grep -q 'notfree context: {' "$tmp/err" || fail "the console still gets the context JSON"
  [ "$(wc -c <"$tmp/err")" -lt 1200 ] || fail "the console context is $(wc -c <"$tmp/err") bytes"
  for w in "CPU " "kernel $(uname -r)" "hypervisor " "THP " "pinning: " "PMU "; do
    grep -q "$w" "$tmp/err" || fail "the console context lacks '$w': $(cat "$tmp/err")"
  done
  run '^t/args/'
  expect_true '.context.notfree | has("hypervisor")' "context.notfree.hypervisor" ;;
names)
  # The names notfree emits are an interface: a rename must show here.
  # Benches this box cannot run are not registered; drop them from the
  # golden list by the reasons the binary gives.
  NOTFREE_FULL=0 "$notfree" bench --list >"$tmp/names" 2>"$tmp/err" || fail "notfree bench --list failed"
  NOTFREE_FULL=0 "$notfree" bench --benchmark_filter='^shim/overhead_c$' --benchmark_format=json \
    --benchmark_min_time=0.01 >"$tmp/out.json" 2>/dev/null || fail "shim/overhead_c failed"
  q '.context.notfree.unavailable | keys[]' >"$tmp/unavail"
  grep -v -F -f <(sed 's/$/\//' "$tmp/unavail"; echo '@@none@@') "$src/bench_names.golden" \
    | grep -v -x -F -f <(cat "$tmp/unavail"; echo '@@none@@') >"$tmp/golden" || true
  diff -u "$tmp/golden" "$tmp/names" || fail "bench names changed (update tests/shim/bench_names.golden if meant)" ;;
*) fail "unknown case" ;;
esac
echo "ok [$case_]"
