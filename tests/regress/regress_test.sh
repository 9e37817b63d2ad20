#!/usr/bin/env bash
# tests/regress/regress_test.sh CASE NOTFREE FAST_SO SLOW_SO
#   planted   --a fast (a glibc pass-through) --b slow (the same with a busy
#             loop in every malloc, several times slower): `slower` on
#             cpu_s, exit 1, the results file with both sides' raw
#             samples (5 each) and the verdict
#   same      --a fast --b fast (one library twice), threshold 50%: exit 0
#   flags     bad flags and a missing library: exit 2, one line
#   base      (suite regress) --base HEAD on a tiny set: builds HEAD under
#             build/regress/<sha>/ (or reuses it), interleaves, writes the
#             JSON; the verdict is not asserted (a timing on a shared box)
#   quick     (suite regress) the regression check itself: --base
#             $NOTFREE_REGRESS_BASE (default: the merge-base with main, or
#             HEAD~1 on main) on the quick set; fails on a regression
set -uo pipefail
case_=$1 notfree=$2 fast=${3:-} slow=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$case_]: $*" >&2; echo "--- stdout" >&2; cat "$tmp/out" >&2; echo "--- stderr" >&2; tail -30 "$tmp/err" >&2; exit 1; }
run() { "$notfree" regress "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
want_rc() { [[ $rc == "$1" ]] || fail "exit $rc, want $1"; }
has() { grep -Eq -- "$1" "$tmp/out" || fail "no line matching /$1/ in stdout"; }
tiny=(--workloads small-churn --threads 1 --scale 0.05 --results "$tmp/res")

case $case_ in
planted)
    run --a "fast=$fast" --b "slow=$slow" "${tiny[@]}" --reps 5 --threshold 5
    want_rc 1
    # cpu_s: on a loaded box, a time per process that waits for a CPU
    # (wall_s, ops_per_s) can spread wider than the move.
    has '^  cpu_s +5/5 .* slower'
    has '^verdict: [1-9][0-9]* regression'
    has '^results: '
    f=$(ls "$tmp"/res/regress-*.json) || fail "no results file"
    python3 - "$f" <<'PY' || fail "results file"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["context"]["mode"] == "ab" and d["context"]["reps"] == 5
a, b = d["sides"]
assert a["label"] == "fast" and b["label"] == "slow", (a["label"], b["label"])
for s in (a, b):
    runs = s["compare"]["runs"]
    assert len(runs) == 5 and sorted(r["rep"] for r in runs) == [1, 2, 3, 4, 5], runs
    assert all(r["ok"] for r in runs)
v = {(r["row"], r["metric"]): r for r in d["verdicts"]["compare"]["rows"]}
assert v[("small-churn/1t", "cpu_s")]["verdict"] == "slower"
assert d["exit"] == 1
PY
    ;;
same)
    run --a "fast=$fast" --b "fast=$fast" "${tiny[@]}" --reps 5 --threshold 50
    want_rc 0
    has '^verdict: 0 regressions'
    ;;
flags)
    for args in "" "--base HEAD --a x=/y.so --b z" "--a x" "--a glibc --b glibc --reps 0" \
                "--a glibc --b glibc --benches ." "--a glibc --b glibc --workloads none" \
                "--a glibc --b glibc --bogus" "--base no-such-revision-xyz"; do
        # shellcheck disable=SC2086
        run $args
        want_rc 2
        [[ $(wc -l <"$tmp/err") == 1 ]] || fail "'$args': stderr is not one line"
    done
    # side a runs first in round 1: refused before anything is measured
    run --a "gone=$tmp/nonexistent.so" --b glibc "${tiny[@]}" --reps 5
    want_rc 2
    grep -q 'gone side: .* refused (exit 2)' "$tmp/err" || fail "missing library not named"
    run --help
    want_rc 0; has '^usage: notfree regress'
    ;;
base)
    run --base HEAD "${tiny[@]}" --reps 2 --benches '^tlb/chase/64$' --allocators bins
    [[ $rc == 0 || $rc == 1 ]] || fail "exit $rc"
    has '^== allocator workloads'; has '^== benches'
    has '^bins/small-churn/1t$'; has '^tlb/chase/64$'
    has 'inconclusive \(too few samples \(2 and 2\)'
    f=$(ls "$tmp"/res/regress-*.json) || fail "no results file"
    python3 - "$f" <<'PY' || fail "results file"
import json, sys
d = json.load(open(sys.argv[1]))
base, head = d["sides"]
assert d["context"]["mode"] == "base" and base["label"] == "base" and len(base["rev"]) == 12
assert "/build/regress/" in base["notfree"], base["notfree"]
assert len(base["compare"]["runs"]) == 2 and len(head["compare"]["runs"]) == 2
assert len(base["bench"]["benchmarks"]) == 2 and len(head["bench"]["benchmarks"]) == 2
PY
    ;;
quick)
    src=$(dirname "$(dirname "$(dirname "$(readlink -f "$0")")")")
    base=${NOTFREE_REGRESS_BASE:-}
    if [[ -z $base ]]; then
        if [[ $(git -C "$src" rev-parse --abbrev-ref HEAD) == main ]]; then
            base=HEAD~1
        else
            base=$(git -C "$src" merge-base HEAD main) || fail "no merge-base with main: set NOTFREE_REGRESS_BASE"
        fi
    fi
    echo "notfree regress --base $base (NOTFREE_REGRESS_BASE to change)"
    "$notfree" regress --base "$base" --results "$tmp/res"
    exit $?
    ;;
*) echo "unknown case $case_" >&2; exit 2 ;;
esac
echo "ok $case_"
