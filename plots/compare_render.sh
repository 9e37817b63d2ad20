#!/usr/bin/env bash
# plots/compare_render.sh COMPARE.json [OUTDIR]
#
# Renders the charts of one `notfree compare` results file, as PNG and SVG:
#   OUTDIR/<results basename>-compare_time.{png,svg}     time relative to the baseline
#   OUTDIR/<results basename>-compare_rss.{png,svg}      peak RSS relative to the baseline
#     (these two only when two allocators or more ran: else a note)
#   OUTDIR/<results basename>-compare_threads.{png,svg}  thread scaling (two thread counts or more)
#   OUTDIR/<results basename>-compare_timeline.{png,svg} RSS over the run (runs with RSS samples)
#   OUTDIR/<results basename>-compare_latency.{png,svg}  malloc/free latency CDF (latency samples)
# (OUTDIR: next to COMPARE.json) and prints each file written; the .dat
# files gnuplot read are kept beside them. Exit: 0 ok, 2 unusable input,
# 3 gnuplot or jq missing, 4 gnuplot failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHARTS="compare_time compare_rss compare_threads compare_timeline compare_latency"

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: compare_render.sh COMPARE.json [OUTDIR]" >&2; exit 2; }
in=$1
out=${2:-$(dirname "$in")}
command -v gnuplot >/dev/null ||
  { echo "compare_render: gnuplot not found; install it with: sudo apt-get install -y gnuplot-nox" >&2; exit 3; }
command -v jq >/dev/null ||
  { echo "compare_render: jq not found; install it with: sudo apt-get install -y jq" >&2; exit 3; }

base=$(basename "$in" .json)
data="$out/$base-data"
mkdir -p "$out"
"$here/compare_extract.sh" "$in" "$data"   # exits 2 on unusable input (set -e passes it on)

host=$(jq -r '.context.host // "unknown host"' "$in")
date=$(jq -r '.context.date // "unknown date"' "$in")
baseline=$(sed -n 1p "$data/compare_meta.txt")
allocs=$(sed -n 2p "$data/compare_meta.txt")
workloads=$(sed -n 3p "$data/compare_meta.txt")
panels=$(sed -n 4p "$data/compare_meta.txt")
lpanels=$(sed -n 5p "$data/compare_meta.txt")

# gnuplot string literal: double quotes, with \ and " escaped.
q() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

status=0
for chart in $CHARTS; do
  [[ -f $data/$chart.dat ]] || continue   # extract already said why
  if [[ $chart =~ ^compare_(time|rss)$ && $(wc -w <<<"$allocs") -lt 2 ]]; then
    echo "compare_render: one allocator ($allocs): no $chart chart (nothing to compare it with)" >&2
    continue
  fi
  ob="$out/$base-$chart"
  p=$panels
  [[ $chart == compare_latency ]] && p=$lpanels
  if gnuplot -e "datafile=$(q "$data/$chart.dat"); outbase=$(q "$ob"); host=$(q "$host"); date=$(q "$date"); base=$(q "$baseline"); allocs=$(q "$allocs"); workloads=$(q "$workloads"); panels=$(q "$p")" \
      "$here/$chart.gp"; then
    echo "$ob.png"; echo "$ob.svg"
  else
    echo "compare_render: gnuplot failed on $here/$chart.gp" >&2; status=4
  fi
done
exit "$status"
