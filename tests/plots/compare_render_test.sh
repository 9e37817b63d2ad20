#!/usr/bin/env bash
# tests/plots/compare_render_test.sh SOURCE_ROOT
# Renders the fixture tests/plots/compare-timeline-sample.json (a tiny
# `notfree compare`: glibc and bins, sawtooth and small-churn, one thread,
# --scale 0.05 --latency-every 16, its box facts left out) with
# plots/compare_render.sh and checks the timeline and latency charts: PNG
# and SVG, their titles and the fixture's host in the SVG, one panel per
# workload, every allocator's line in every panel, the runs' RSS samples as
# the timeline's rows, and CDFs that end at 1.
set -euo pipefail

root=${1:?usage: compare_render_test.sh SOURCE_ROOT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$root/plots/compare_render.sh" "$root/tests/plots/compare-timeline-sample.json" "$tmp" >"$tmp/written.txt" \
  2>"$tmp/err.txt" || { cat "$tmp/err.txt"; fail "compare_render.sh exited $?"; }
grep -qi warning "$tmp/err.txt" && { cat "$tmp/err.txt"; fail "gnuplot warned"; }

declare -A titles=(
  [compare_timeline]="RSS over the run"
  [compare_latency]="Latency of single malloc and free calls"
)
data=$tmp/compare-timeline-sample-data
for chart in "${!titles[@]}"; do
  png=$tmp/compare-timeline-sample-$chart.png svg=$tmp/compare-timeline-sample-$chart.svg
  for f in "$png" "$svg"; do
    [[ -s $f ]] || fail "$f missing or empty"
    grep -qxF "$f" "$tmp/written.txt" || fail "compare_render.sh did not print $f"
  done
  [[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png: not a PNG"
  grep -qF "${titles[$chart]}" "$svg" || fail "$svg: title '${titles[$chart]}' not found"
  grep -qF fixture-host "$svg" || fail "$svg: host not found"
  for p in 1 2; do for a in 1 2; do
    awk -F'\t' -v p=$p -v a=$a '$1 == p && $2 == a { n++ } END { exit n < 2 }' "$data/$chart.dat" ||
      fail "$chart.dat: fewer than 2 points for panel $p allocator $a"
  done; done
  echo "ok: $chart (png $(stat -c %s "$png") B, svg $(stat -c %s "$svg") B)"
done
[[ $(sed -n 4p "$data/compare_meta.txt") == "sawtooth(t=1) small-churn(t=1)" ]] || fail "panels: $(sed -n 4p "$data/compare_meta.txt")"
# The timeline's rows are the runs' samples, the latency rows the summary's CDF.
want=$(jq '[.runs[] | select(.ok and (.timeline.t | type == "array")) | .timeline.t | length] | add' \
  "$root/tests/plots/compare-timeline-sample.json")
[[ $(wc -l <"$data/compare_timeline.dat") -eq $want ]] || fail "compare_timeline.dat: not the $want samples"
awk -F'\t' '{ last[$1 "|" $2] = $4 } END { for (k in last) if (last[k] != 1) exit 1 }' "$data/compare_latency.dat" ||
  fail "a latency CDF does not end at 1"
echo "ok: data"
