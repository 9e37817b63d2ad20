#!/usr/bin/env bash
# tests/cli/cli_test.sh CASE NOTFREE
# `notfree run` through the real binary, on filters of one or two quick
# benches. Each case fails with a message saying what was wrong.
set -euo pipefail
case_="$1" notfree="$2"
tmp="$(mktemp -d)"
pid=
cleanup() {
  # A background run still going (a failed case): end its whole group.
  [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL [$case_]: $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
# run ARGS...: notfree run, stdout to $tmp/out, stderr to $tmp/err, rc to $rc
run() {
  set +e
  "$notfree" run "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  set -e
}
# start ARGS...: notfree run in the background, in its own process group
# (job control: its children go with it, and it gets the default SIGINT).
start() {
  set -m
  "$notfree" run "$@" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  set +m
}
# wait_for COMMAND...: polls COMMAND (30 s at most) while the run lives;
# 0 once COMMAND succeeds, 1 if the run ended first or time ran out.
wait_for() {
  local i
  for i in $(seq 1 300); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || { "$@"; return; }
    sleep 0.1
  done
  return 1
}

case "$case_" in
run-badfilter)
  # An invalid regex: refused with the reason, nothing created.
  run --filter='(' --results "$tmp/new/dir" --no-plots --no-compare
  expect_eq "$rc" 2 "exit status of an invalid --filter"
  grep -q "invalid regex.*Mismatched" "$tmp/err" || fail "no 'invalid regex' with its reason: $(cat "$tmp/err")"
  [ ! -e "$tmp/new" ] || fail "an invalid --filter created the results directory" ;;
run-nomatch)
  run --filter='^no-bench-is-named-this$' --results "$tmp/new/dir" --no-plots --no-compare
  expect_eq "$rc" 1 "exit status of a --filter matching nothing"
  grep -q "no bench matches" "$tmp/err" || fail "no message: $(cat "$tmp/err")"
  [ ! -e "$tmp/new" ] || fail "a --filter matching nothing created the results directory" ;;
run-summary)
  # rss/overcommit has 12 figures: every one is in its summary row, and
  # the time column is a plain number with a unit that fits.
  run --filter='^rss/overcommit/64/' --results "$tmp/r" --no-plots --no-compare
  expect_eq "$rc" 0 "exit status ($(tail -3 "$tmp/err"))"
  json="$(ls "$tmp"/r/*.json)"
  keys="$(jq -r '.benchmarks[0] | keys[] | select(test("^(vsz|rss)_kib_|_us$|_per_page$"))' "$json")"
  [ "$(echo "$keys" | grep -c '^vsz_kib_')" -ge 4 ] || fail "the JSON lacks the vsz_kib_* figures: $keys"
  # The row in the summary (not libbenchmark's console table above it):
  # from its name to the next row or the blank line after the table.
  sed -n '/^notfree summary (/,$p' "$tmp/out" \
    | sed -n '/^rss\/overcommit\/64\//,/^\(\S\|$\)/p' | sed '$d' >"$tmp/row"
  [ -s "$tmp/row" ] || fail "no summary row for rss/overcommit/64: $(cat "$tmp/out")"
  for k in $keys; do
    grep -q -- "$k=" "$tmp/row" || fail "the summary row lacks $k: $(cat "$tmp/row")"
  done
  head -1 "$tmp/row" | grep -Eq '^rss/overcommit/64/\S+ +[0-9]+(\.[0-9]+)? (ns|µs|ms|s)[* ] ' \
    || fail "the time column is not 'number unit': $(head -1 "$tmp/row")"
  ! grep -Eq '[0-9]e[+-][0-9]' "$tmp/row" || fail "scientific notation in the row: $(cat "$tmp/row")"
  grep -q "notfree: CPU " "$tmp/err" || fail "no short context on the console"
  ! grep -q "notfree context: {" "$tmp/err" || fail "the console still gets the context JSON" ;;
run-progress)
  # One progress line per bench, repetitions and aggregates included.
  run --filter='^shim/overhead_c$' --benchmark_min_time=0.01 --benchmark_repetitions=3 \
    --results "$tmp/r" --no-plots --no-compare
  expect_eq "$rc" 0 "exit status ($(tail -3 "$tmp/err"))"
  expect_eq "$(grep -c 'notfree: \[[0-9]*/[0-9]*\] .* done' "$tmp/err")" 1 "progress lines for one bench"
  grep -q 'notfree: \[1/1\] shim/overhead_c done' "$tmp/err" || fail "progress: $(grep done "$tmp/err")" ;;
run-compare)
  # --filter filters the benches only: the closing comparison still starts
  # (only --no-compare skips it). Seen starting, the run is ended.
  start --filter='^shim/overhead_c$' --benchmark_min_time=0.01 --results "$tmp/r" --no-plots
  wait_for grep -q "quick allocator comparison" "$tmp/err" \
    || fail "--filter skipped the closing comparison: $(tail -5 "$tmp/err")"
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid= ;;
run-interrupt)
  # SIGTERM while the second bench runs: the JSON holds the first, is
  # valid and says it is partial; no temporary file is left.
  start --filter='^shim/overhead_cx*$' --benchmark_min_time=2 --results "$tmp/r" --no-plots --no-compare
  first_done() { cat "$tmp"/r/.*.tmp 2>/dev/null | grep -q '"shim/overhead_c"'; }
  wait_for first_done \
    || fail "the first bench never reached the temporary file: $(tail -5 "$tmp/err")"
  kill -TERM "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  pid=
  expect_eq "$rc" 143 "exit status after SIGTERM"
  json="$(ls "$tmp"/r/*.json 2>/dev/null || true)"
  [ -n "$json" ] || fail "no results file after SIGTERM: $(ls -A "$tmp/r")"
  jq -e . "$json" >/dev/null || fail "the results file is not valid JSON"
  jq -e '.partial == true' "$json" >/dev/null || fail "the results file is not marked partial"
  expect_eq "$(jq -r '[.benchmarks[].name] | join(",")' "$json")" "shim/overhead_c" "the benches kept"
  [ -z "$(ls -A "$tmp/r" | grep '\.tmp$')" ] || fail "a temporary file is left: $(ls -A "$tmp/r")" ;;
*) fail "unknown case" ;;
esac
echo "ok [$case_]"
