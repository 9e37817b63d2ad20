#!/usr/bin/env bash
# tests/regress/diff_test.sh CASE NOTFREE FIXTURES HAVE_GNUPLOT
# `notfree diff` on the hand-made files of fixtures/ (make.py writes them):
#   slow30     a planted 30% slowdown, 7 separated samples a side: exit 1,
#              `slower` on real_time; the unchanged row `same`; the rows of
#              one file only listed
#   same       a file against itself: exit 0, every line `same`
#   two        2 samples a side, 30% apart: `inconclusive`, says 5 are
#              needed, exit 0
#   small      a 3% change with p < alpha stays `same` under the 5% threshold;
#              with --threshold 2 it is `slower`, exit 1
#   counts     faults_per_page 1 -> 2 (bench) and mmap doubling (compare):
#              `more`, judged as a count, exit 1; a count that varies between
#              runs (munmap 3 or 6 a side, medians 3 and 6) is inconclusive,
#              exit 0 (it was a false `more` on this box before)
#   compare    the compare kind's planted 30% slowdown: ops_per_s `slower`;
#              throughput fallen to 1/16 with an old spread over 100% of its
#              median is `slower` too (the spread is judged as q3/q1)
#   box        two CPU models: refused, exit 2, the field named; --force: exit 0
#   malformed  truncated, empty, wrong kind, no rows, missing, bench vs compare:
#              exit 2 with the reason, one line
#   nan        Google Benchmark's bare NaN and Infinity (not JSON) read as
#              unavailable: the file loads, the NaN sample is left out (6/6)
#   formats    --format json parses (jq-free: notfree reads it back) with a
#              row per line; markdown is a table; --metric/--filter restrict
#   chart      --chart PNG and SVG written (with gnuplot)
#   baseline   `baseline save` (default and --name), `baseline list`, `diff
#              --baseline [NAME] NEW`: the slow file judged against the saved
#              one (exit 1); a missing name, a file without box facts and a
#              bad name are exit 2
#   flags      bad flags: exit 2, named
set -uo pipefail
case_=$1 notfree=$2 F=$3 have_gnuplot=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$case_]: $*" >&2; echo "--- stdout" >&2; cat "$tmp/out" >&2; echo "--- stderr" >&2; cat "$tmp/err" >&2; exit 1; }
run() { "$notfree" diff "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
want_rc() { [[ $rc == "$1" ]] || fail "exit $rc, want $1"; }
has() { grep -Eq -- "$1" "$tmp/out" || fail "no line matching /$1/ in stdout"; }
hasnt() { ! grep -Eq -- "$1" "$tmp/out" || fail "a line matches /$1/ in stdout"; }
err_has() { grep -Eq -- "$1" "$tmp/err" || fail "no /$1/ in stderr"; }
one_line_err() { [[ $(wc -l <"$tmp/err") == 1 ]] || fail "stderr is not one line"; }

case $case_ in
slow30)
    run "$F/bench_old.json" "$F/bench_slow.json"
    want_rc 1
    has '^  real_time +7/7 .* \+30\.0% .* slower'
    has '^  ops_per_s +7/7 .* same$'
    has '^  faults_per_page .* count .* same$'
    has 'only in old'; has '^  tlb/chase/removed$'
    has 'only in new'; has '^  tlb/chase/added$'
    has '^verdict: 2 regressions'
    ;;
same)
    run "$F/bench_old.json" "$F/bench_old.json"
    want_rc 0
    hasnt 'slower|faster|inconclusive \('
    has '^verdict: 0 regressions'
    run "$F/compare_old.json" "$F/compare_old.json"
    want_rc 0
    ;;
two)
    run "$F/bench_two_old.json" "$F/bench_two_slow.json"
    want_rc 0
    has '^  real_time +2/2 .* inconclusive \(too few samples \(2 and 2\): needs 5 per side'
    hasnt 'slower'
    ;;
small)
    run "$F/bench_tight.json" "$F/bench_tight_3pct.json"
    want_rc 0
    has '^  real_time +7/7 .* \+3\.0% +0\.00058 .* same$'
    run --threshold 2 "$F/bench_tight.json" "$F/bench_tight_3pct.json"
    want_rc 1
    has '^  real_time .* slower'
    ;;
counts)
    run "$F/bench_old.json" "$F/bench_faults_double.json"
    want_rc 1
    has '^  faults_per_page +7/7 +1 +2 +\+100\.0% +count .* more \(count'
    run "$F/compare_old.json" "$F/compare_mmap_double.json"
    want_rc 1
    has '^  mmap_per_mop +7/7 +10 +20 +\+100\.0% +count .* more'
    has '^  munmap_per_mop .* same$'
    has '^  wall_s .* same$'
    run "$F/compare_munmap_noisy_old.json" "$F/compare_munmap_noisy_new.json"
    want_rc 0
    has '^  munmap_per_mop +7/7 +3 +6 +\+100\.0% +0\.[0-9]+ +- .* inconclusive \(the count varies between runs'
    ;;
compare)
    run "$F/compare_old.json" "$F/compare_slow.json"
    want_rc 1
    has '^bins/larson-like/1t$'
    has '^  ops_per_s +7/7 .* -23\.1% .* slower'
    has '^  peak_rss_kib .* same$'
    run "$F/compare_wide_old.json" "$F/compare_wide_fell.json"
    want_rc 1
    has '^  ops_per_s +7/7 .* -94\.[0-9]% .* slower'
    ;;
box)
    run "$F/bench_old.json" "$F/bench_other_cpu.json"
    want_rc 2
    err_has "different boxes \(cpu_model: 'Fixture CPU A @ 3.0GHz' vs 'Fixture CPU B @ 2.0GHz'\)"
    one_line_err
    run --force "$F/bench_old.json" "$F/bench_other_cpu.json"
    want_rc 0
    err_has 'judged anyway'
    ;;
malformed)
    for pair in "truncated.json:not JSON" "empty.json:not JSON" "wrong_kind.json:unknown kind" \
                "bench_no_rows.json:no rows" "nonexistent.json:cannot read"; do
        f=${pair%%:*} why=${pair#*:}
        run "$F/$f" "$F/bench_old.json"
        want_rc 2; err_has "$f: $why"; one_line_err
        run "$F/bench_old.json" "$F/$f"
        want_rc 2; err_has "$f: $why"; one_line_err
    done
    run "$F/bench_old.json" "$F/compare_old.json"
    want_rc 2; err_has 'is a bench file, .* a compare file'; one_line_err
    run --filter nothing-matches "$F/bench_old.json" "$F/bench_slow.json"
    want_rc 2; err_has 'no rows and metrics in common'
    ;;
nan)
    grep -q ': NaN' "$F/bench_nan.json" && grep -q ': Infinity' "$F/bench_nan.json" || fail "fixture lacks NaN/Infinity"
    run "$F/bench_nan.json" "$F/bench_nan.json"
    want_rc 0
    has '^  perf_faults_per_page +6/6 .* same$'
    has '^  real_time +7/7 .* same$'
    ;;
formats)
    run --format json "$F/bench_old.json" "$F/bench_slow.json"
    want_rc 1
    cp "$tmp/out" "$tmp/d.json"
    python3 - "$tmp/d.json" <<'PY' || fail "json report"
import json, sys
d = json.load(open(sys.argv[1]))
rows = {(r["row"], r["metric"]): r for r in d["rows"]}
r = rows[("fault/first_touch/64", "real_time")]
assert r["verdict"] == "slower" and r["regression"] is True, r
assert abs(r["p"] - 0.00058275058275058275) < 1e-12 and r["p_exact"] is True, r
assert r["hl_ci_lo_pct"] < 30 < r["hl_ci_hi_pct"], r
assert rows[("fault/first_touch/64", "faults_per_page")]["p"] is None
assert d["only_old"] == ["tlb/chase/removed"] and d["only_new"] == ["tlb/chase/added"]
assert d["regressions"] == 2
PY
    run --format markdown "$F/bench_old.json" "$F/bench_slow.json"
    want_rc 1
    has '^\| `fault/first_touch/64` \| real_time \| 7/7 \| .* \| \*\*slower\*\* \|$'
    run --metric '^cpu_time$' --filter '^alloc/' "$F/bench_old.json" "$F/bench_slow.json"
    want_rc 0
    has '^  cpu_time '; hasnt '^  real_time '; hasnt '^fault/'
    ;;
chart)
    [[ -n $have_gnuplot ]] || { echo "SKIP: gnuplot missing"; exit 77; }
    for ext in png svg; do
        run --chart "$tmp/c.$ext" "$F/bench_old.json" "$F/bench_slow.json"
        want_rc 1
        [[ -s $tmp/c.$ext ]] || fail "no chart $tmp/c.$ext"
        [[ ! -s $tmp/err ]] || fail "stderr not empty"
    done
    head -c 8 "$tmp/c.png" | od -c | grep -q 'P   N   G' || fail "c.png is not a PNG"
    grep -q '<svg' "$tmp/c.svg" || fail "c.svg is not SVG"
    ;;
baseline)
    cd "$tmp" || fail "cd"
    "$notfree" baseline list >"$tmp/out" 2>"$tmp/err"; rc=$?
    want_rc 0; has '^no baselines in results/baselines'
    "$notfree" baseline save "$F/bench_old.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
    want_rc 0; has "^saved baseline 'default' \(bench, 8 .*\): results/baselines/Fixture-CPU-A-3.0GHz_6.1.0-fixture_none_madvise-[0-9a-f]{16}/default.json$"
    "$notfree" baseline save "$F/bench_tight.json" --name tight >"$tmp/out" 2>"$tmp/err"; rc=$?
    want_rc 0
    "$notfree" baseline list >"$tmp/out" 2>"$tmp/err"; rc=$?
    want_rc 0; has '^  default +bench +8 '; has '^  tight +bench +2 '
    run --baseline "$F/bench_slow.json"
    want_rc 1; has '^old: results/baselines/.*/default.json'; has 'real_time .* slower'
    run --baseline tight "$F/bench_tight_3pct.json"
    want_rc 0; has '^old: results/baselines/.*/tight.json'
    run --baseline nope "$F/bench_slow.json"
    want_rc 2; err_has "no baseline 'nope' for this box"; one_line_err
    run --baseline "$F/bench_other_cpu.json"
    want_rc 2; err_has "no baseline 'default' for this box"
    "$notfree" baseline save "$F/bench_no_box.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
    want_rc 2; err_has 'no box facts'
    "$notfree" baseline save "$F/bench_old.json" --name ../x >"$tmp/out" 2>"$tmp/err"; rc=$?
    want_rc 2; err_has "--name '../x'"
    ;;
flags)
    for args in "--alpha 2" "--threshold x" "--format yaml" "--chart out.gif" "--metric (" \
                "--bogus" "only-one.json" "a b c"; do
        # shellcheck disable=SC2086
        run $args
        want_rc 2; one_line_err
    done
    run --help
    want_rc 0; has '^usage: notfree diff'
    ;;
*) echo "unknown case $case_" >&2; exit 2 ;;
esac
echo "ok $case_"
