#!/usr/bin/env bash
# ci/regress-detect.sh BUILD [RUNS] [REPS]: how small a slowdown `notfree
# regress` catches on this box. Builds the busy-loop wrapper of
# tests/regress/slowmalloc.c at several spin counts, measures what slowdown
# each plants (one long A/B run each, 15 rounds), then runs RUNS (default 5)
# regress checks of REPS rounds (default 7) per level and RUNS of A against
# A, and prints the detection and false-alarm rates. A bench figure, not a
# test: it takes minutes.
set -euo pipefail
build=${1:?usage: ci/regress-detect.sh BUILD [RUNS] [REPS]}
runs=${2:-5} reps=${3:-7}
src=$(cd "$(dirname "$0")/.." && pwd)
nf=$build/notfree
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
w=(--workloads small-churn --threads 1 --scale 0.25 --results "$tmp/res")
spins=${SPINS:-"0 4 10 20 40"}
for s in $spins; do
    cc -O2 -shared -fPIC -DSPIN="$s" -o "$tmp/spin$s.so" "$src/tests/regress/slowmalloc.c"
done
metric=${METRIC:-cpu_s}
verdict() {  # file -> "<verdict> <change%>" of $metric
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = [x for x in d["verdicts"]["compare"]["rows"] if x["metric"] == sys.argv[2]][0]
print(r["verdict"], "%.1f" % r["change_pct"])' "$1" "$metric"
}
echo "metric: $metric (METRIC=ops_per_s for throughput); $runs runs of $reps rounds per level"
printf '%-6s %-10s %s\n' spin planted "detected (verdicts)"
for s in $spins; do
    rm -rf "$tmp/res"
    "$nf" regress --a "fast=$tmp/spin0.so" --b "s$s=$tmp/spin$s.so" "${w[@]}" --reps 15 >/dev/null 2>&1 || true
    planted=$(verdict "$tmp"/res/regress-*.json | cut -d' ' -f2)
    hits=0 list=""
    for ((i = 0; i < runs; i++)); do
        rm -rf "$tmp/res"
        "$nf" regress --a "fast=$tmp/spin0.so" --b "s$s=$tmp/spin$s.so" "${w[@]}" --reps "$reps" >/dev/null 2>&1 || true
        v=$(verdict "$tmp"/res/regress-*.json)
        list="$list ${v// /:}"
        [[ ${v%% *} == slower ]] && hits=$((hits + 1))
    done
    printf '%-6s %-10s %d/%d (%s)\n' "$s" "${planted}%" "$hits" "$runs" "${list# }"
done
