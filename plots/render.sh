#!/usr/bin/env bash
# plots/render.sh RESULTS.json [OUTDIR]
#
# Renders every chart the results file has data for, as PNG and SVG:
#   OUTDIR/<results basename>-<chart>.png and .svg   (OUTDIR: next to RESULTS.json)
# and prints each file written. A chart without matching benches is skipped
# with a message. Exit: 0 ok, 2 unusable input, 3 gnuplot or jq missing,
# 4 gnuplot failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHARTS="fault_cost fork_latency cow_cost tlb_chase model_alloc"   # each: extract writes <chart>.dat, plots/<chart>.gp draws it

[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: render.sh RESULTS.json [OUTDIR]" >&2; exit 2; }
in=$1
out=${2:-$(dirname "$in")}
command -v gnuplot >/dev/null ||
  { echo "render: gnuplot not found; install it with: sudo apt-get install -y gnuplot-nox" >&2; exit 3; }
command -v jq >/dev/null ||
  { echo "render: jq not found; install it with: sudo apt-get install -y jq" >&2; exit 3; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/extract.sh" "$in" "$tmp"        # exits 2 on unusable input (set -e passes it on)

# Host and date for the charts' titles, from the results' context.
host=$(jq -r '.context.host_name // "unknown host"' "$in")
date=$(jq -r '.context.date // "unknown date"' "$in")
base=$(basename "$in" .json)
mkdir -p "$out"

# gnuplot string literal: double quotes, with \ and " escaped.
q() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

status=0 drawn=0
for chart in $CHARTS; do
  [[ -f $tmp/$chart.dat ]] || continue   # extract already said why
  ob="$out/$base-$chart"
  if gnuplot -e "datafile=$(q "$tmp/$chart.dat"); outbase=$(q "$ob"); host=$(q "$host"); date=$(q "$date")" \
      "$here/$chart.gp"; then
    echo "$ob.png"; echo "$ob.svg"; drawn=$((drawn + 1))
  else
    echo "render: gnuplot failed on $here/$chart.gp" >&2; status=4
  fi
done
[[ $drawn -gt 0 || $status -ne 0 ]] || echo "render: no charts: $in has no bench any chart plots" >&2
exit "$status"
