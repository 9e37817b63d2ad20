#!/usr/bin/env bash
# plots/compare_extract.sh COMPARE.json OUTDIR
#
# Turns one `notfree compare` results file ({"context", "runs", "summary"})
# into the TSV files the compare charts read. It only reshapes the file's
# summary block: the medians, the baseline and the ratios are computed
# once, in C (compare/summary.c), never here. Every file has one column (series)
# per allocator that ran, in the order of context.allocators, and a first
# line "# <key> <allocator> <allocator> ..." naming them:
#   compare_time.dat     workload and threads ("random-mix t=2"), then per
#                        allocator the median time per operation over the
#                        baseline's (glibc, else the first allocator)
#   compare_rss.dat      the same rows, median peak RSS over the baseline's
#   compare_threads.dat  one block per workload (two blank lines apart):
#                        threads, then per allocator the median Mops/s;
#                        written only when two or more thread counts ran
#   compare_meta.txt     line 1: the baseline; line 2: the allocators;
#                        line 3: the workloads (of compare_threads.dat);
#                        line 4: the panels of the two below, as
#                        "<workload>(t=<threads>)"; line 5: those of
#                        the latency chart (a cell needs 100 samples for
#                        a CDF to say anything of its tail)
#   compare_timeline.dat rows "panel allocator t rss_kib" (1-based indexes
#                        into lines 4 and 2): the samples of the first ok
#                        run of each cell that holds them (t: normalized
#                        run time, compare/timeline.h)
#   compare_latency.dat  rows "panel allocator ns fraction" (panel: an
#                        index into line 5): the cell's latency CDF
#                        (summary.cells[].latency.cdf, merged in C over the
#                        ok runs), cells with 100 samples or more
# Medians are over the repetitions that ended ok (the summary's); a
# missing value is NaN. Allocators, workloads and thread counts without an
# ok run are left out.
# Exit: 0 ok, 2 unusable input, 3 jq missing.
set -euo pipefail

die() { echo "compare_extract: $*" >&2; exit 2; }
[[ $# -eq 2 ]] || die "usage: compare_extract.sh COMPARE.json OUTDIR"
in=$1 out=$2
command -v jq >/dev/null || { echo "compare_extract: jq not found (sudo apt-get install -y jq)" >&2; exit 3; }
[[ -f $in && -r $in ]] || die "$in: no such readable file"
jq empty "$in" 2>/dev/null || die "$in: not valid JSON"
jq -e '(.runs | type == "array") and (.context.allocators | type == "array")' "$in" >/dev/null 2>&1 ||
  die "$in: not a notfree compare file (no runs or no context.allocators)"
jq -e '.summary.cells | type == "array"' "$in" >/dev/null 2>&1 ||
  die "$in: no summary block (written by an older notfree compare: run it again)"
mkdir -p "$out"

# The summary's cells with an ok run, keyed by allocator, workload and threads.
COMMON='
def num: if . == null then "NaN" else . end;
(.summary.cells | map(select(.runs_ok > 0))) as $ok
| [.context.allocators[].name | select(. as $n | $ok | any(.allocator == $n))] as $allocs
| [.context.workloads[].name | select(. as $n | $ok | any(.workload == $n))] as $wls
| ([.context.threads[] | select(. as $t | $ok | any(.threads == $t))]) as $threads
| ($ok | map({key: "\(.allocator)|\(.workload)|\(.threads)", value: .}) | from_entries) as $m
| (.summary.baseline // "") as $base
'

meta=$(jq -r "$COMMON"' | $base, ($allocs | join(" ")), ($wls | join(" "))' "$in")
base=$(sed -n 1p <<<"$meta")
allocs=$(sed -n 2p <<<"$meta")
[[ -n $allocs ]] || die "$in: no run ended ok: nothing to chart"
printf '%s\n' "$meta" >"$out/compare_meta.txt"

# Grouped bars: one row per workload and thread count, the summary's ratio.
bars() {
  local chart=$1 field=$2
  { printf '# workload'; printf '\t%s' $allocs; printf '\n'
    jq -r --arg f "$field" "$COMMON"'
      | $wls[] as $w | $threads[] as $t
      | select([$allocs[] | $m["\(.)|\($w)|\($t)"]] | any(. != null))
      | ["\($w) t=\($t)"] + [$allocs[] | $m["\(.)|\($w)|\($t)"][$f] | num]
      | @tsv' "$in"; } >"$out/$chart.dat"
  echo "compare_extract: wrote $out/$chart.dat ($(($(wc -l <"$out/$chart.dat") - 1)) rows, baseline $base)" >&2
}
bars compare_time time_vs_baseline
bars compare_rss peak_rss_vs_baseline

# Panels (workload and threads) of the timeline and latency charts.
PANELS='
| [$wls[] as $w | $threads[] as $t | select([$allocs[] | $m["\(.)|\($w)|\($t)"]] | any(. != null)) | {w: $w, t: $t}]
  as $panels
'
LATPANELS='
| [$panels[] | . as $c | select([$allocs[] | $m["\(.)|\($c.w)|\($c.t)"].latency.samples // 0] | max >= 100)]
  as $lpanels
'
jq -r "$COMMON$PANELS$LATPANELS"' | ([$panels[] | "\(.w)(t=\(.t))"] | join(" ")),
  ([$lpanels[] | "\(.w)(t=\(.t))"] | join(" "))' "$in" >>"$out/compare_meta.txt"
jq -r "$COMMON$PANELS"'
  | [.runs[] | select(.ok and (.timeline.t | type == "array"))] as $sampled
  | $panels | to_entries[] | .key as $p | .value as $c
  | $allocs | to_entries[] | .key as $a | .value as $n
  | (first($sampled[] | select(.allocator == $n and .workload == $c.w and .threads == $c.t)) // empty) as $r
  | range($r.timeline.t | length) as $i
  | [$p + 1, $a + 1, $r.timeline.t[$i], $r.timeline.rss_kib[$i]] | @tsv' "$in" >"$out/compare_timeline.dat"
echo "compare_extract: wrote $out/compare_timeline.dat ($(wc -l <"$out/compare_timeline.dat") samples)" >&2
jq -r "$COMMON$PANELS$LATPANELS"'
  | $lpanels | to_entries[] | .key as $p | .value as $c
  | $allocs | to_entries[] | .key as $a | .value as $n
  | select(($m["\($n)|\($c.w)|\($c.t)"].latency.samples // 0) >= 100)
  | $m["\($n)|\($c.w)|\($c.t)"].latency.cdf[]
  | [$p + 1, $a + 1, .[0], .[1]] | @tsv' "$in" >"$out/compare_latency.dat"
echo "compare_extract: wrote $out/compare_latency.dat ($(wc -l <"$out/compare_latency.dat") points)" >&2
[[ -s $out/compare_timeline.dat ]] || { rm -f "$out/compare_timeline.dat"; echo "compare_extract: skipping compare_timeline: no run holds RSS samples" >&2; }
[[ -s $out/compare_latency.dat ]] || { rm -f "$out/compare_latency.dat"; echo "compare_extract: skipping compare_latency: no latency samples" >&2; }

nthreads=$(jq -r "$COMMON"' | $threads | length' "$in")
if [[ $nthreads -ge 2 ]]; then
  { printf '# threads'; printf '\t%s' $allocs; printf '\n'
    jq -r "$COMMON"'
      | $wls | to_entries[] | .key as $i | .value as $w
      | (if $i > 0 then "\n" else empty end),
        ($threads[] as $t | [$t] + [$allocs[] | ($m["\(.)|\($w)|\($t)"].ops_per_s // null)
          | if . == null then "NaN" else . / 1e6 end] | @tsv)' "$in"; } >"$out/compare_threads.dat"
  echo "compare_extract: wrote $out/compare_threads.dat" >&2
else
  rm -f "$out/compare_threads.dat"
  echo "compare_extract: skipping compare_threads: only one thread count ran" >&2
fi
