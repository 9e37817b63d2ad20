#!/usr/bin/env bash
# publish/trend.sh HISTORY.json OUTDIR
#
# Draws the trend charts of a history (publish/history.sh): one chart per
# box key, x the published records of that box in order (labelled by
# commit), one line per headline figure, each figure over its value in
# the box's first record that has it (1.0), so figures of different units
# share one chart. Writes OUTDIR/trend-<n>.{png,svg} and prints one line
# per chart: "trend-<n><TAB><box key><TAB><records>". Needs two records
# of a box to draw a line; a box with one record gets no chart.
# Exit: 0 ok, 2 unusable input, 4 gnuplot failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -eq 2 ]] || { echo "usage: trend.sh HISTORY.json OUTDIR" >&2; exit 2; }
hist=$1 out=$2
jq -e '.records | type == "array"' "$hist" >/dev/null 2>&1 || { echo "trend: $hist: not a history" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The figures' order and labels, from the newest record.
names=$(jq -r '.records[-1].figures // {} | keys_unsorted | join(" ")' "$hist")
nboxes=$(jq '[.records[].box_key] | unique | length' "$hist")
q() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

status=0
for ((k = 0; k < nboxes; k++)); do
  # Rows: commit label, then each figure over its first value on this box.
  jq -r --argjson k "$k" --arg names "$names" '
    ([.records[].box_key] | unique | .[$k]) as $key
    | [.records[] | select(.box_key == $key)] as $rs
    | ($names | split(" ")) as $n
    | ($n | map(. as $f | first($rs[] | .figures[$f].value | select(type == "number" and . != 0)) // null)) as $first
    | "# commit\t" + ($n | join("\t")),
      ($rs[] | [(.commit[0:8] + " " + (.date[5:10] // ""))]
         + [range(0; $n | length) as $i | .figures[$n[$i]].value as $v
            | if $v == null or $first[$i] == null then "NaN" else $v / $first[$i] end]
       | @tsv)' "$hist" >"$tmp/t$k.dat"
  key=$(jq -r --argjson k "$k" '[.records[].box_key] | unique | .[$k]' "$hist")
  nrec=$(($(wc -l <"$tmp/t$k.dat") - 1))
  [[ $nrec -ge 2 ]] || continue
  labels=$(jq -r --arg names "$names" '.records[-1].figures as $f | $names | split(" ")
                                      | map($f[.].label // .) | join("|")' "$hist")
  if gnuplot -e "datafile=$(q "$tmp/t$k.dat"); outbase=$(q "$out/trend-$k"); box=$(q "$key"); labels=$(q "$labels")" \
      "$here/plots/trend.gp"; then
    printf 'trend-%s\t%s\t%s\n' "$k" "$key" "$nrec"
  else
    echo "trend: gnuplot failed on plots/trend.gp" >&2; status=4
  fi
done
exit "$status"
