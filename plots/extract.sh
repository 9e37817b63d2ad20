#!/usr/bin/env bash
# plots/extract.sh RESULTS.json OUTDIR
#
# Turns one notfree results file (Google Benchmark JSON) into the TSV files
# the gnuplot scripts read, one per chart:
#   fault_cost.dat    label, ns_per_page, floor_ns_per_page (same on every row, NaN if none)
#   fork_latency.dat  MiB, fork_ms 4K, reap_ms 4K, fork_ms THP, reap_ms THP (NaN if absent)
#   cow_cost.dat      MiB, child ns_per_page, parent ns_per_page (NaN if absent)
#   tlb_chase.dat     KiB, ns_per_access 4K, ns_per_access THP, model reach KiB: L1 4K, L2 4K, L1 2M, L2 2M
#   model_alloc.dat   preset index, preset, workload index, workload, allocator index, allocator,
#                     model_walks_per_kop, model_rss_kib (indices: order of first appearance)
# A chart with no matching bench is skipped with a message; the others still
# get written. Exit: 0 ok (even if charts were skipped), 2 unusable input,
# 3 jq missing.
set -euo pipefail

# ---- Bench names: the one place that knows them -------------------------
FAULT_PREFIX="fault/"                 # every fault/* bench with ns_per_page is a bar...
FAULT_FLOOR="fault/zero_fill"         # ...except the floor, drawn as a line
FAULT_SCALE="fault/scale/"            # ...and the thread-scaling family (not a mode)
# Bar order (modes not listed come after, alphabetically):
FAULT_ORDER="first_touch_write/hot first_touch_write/cold first_touch_read populate populate_write mlock thp dontneed_retouch madv_free_rewrite"
FORK_4K="fork/latency/"               # + <MiB>; counters fork_ms, reap_ms
FORK_THP="fork/latency_thp/"          # + <MiB>
COW_CHILD="fork/cow_write/child/"     # + <MiB>; counter ns_per_page
COW_PARENT="fork/cow_write/parent/"   # + <MiB>
TLB_4K="tlb/chase/"                   # + <KiB>; counters ns_per_access, model_l1_reach_kib, model_l2_reach_kib
TLB_THP="tlb/chase_thp/"              # + <KiB>
MODEL_ALLOC="model/alloc/"            # + <allocator>/<workload>; counters model_walks_per_kop, model_rss_kib (zen4)
# ---------------------------------------------------------------------------

die() { echo "extract: $*" >&2; exit 2; }
[[ $# -eq 2 ]] || die "usage: extract.sh RESULTS.json OUTDIR"
in=$1 out=$2
command -v jq >/dev/null || { echo "extract: jq not found (sudo apt-get install -y jq)" >&2; exit 3; }
[[ -f $in && -r $in ]] || die "$in: no such readable file"
jq empty "$in" 2>/dev/null || die "$in: not valid JSON"
jq -e '.benchmarks | type == "array"' "$in" >/dev/null 2>&1 ||
  die "$in: no \"benchmarks\" array (not a Google Benchmark results file)"
mkdir -p "$out"

# One record per bench: strip name suffixes (/manual_time, /iterations:N,
# ...), drop errored/skipped runs, keep the median aggregate if there is
# one, else the iteration with the median real_time.
PICK='
def base: (.run_type == "aggregate") as $agg | (.run_name // .name)
  | (if $agg then sub("_(mean|median|stddev|cv|min|max)$"; "") else . end)
  | split("/")
  | map(select(test("^(manual_time|real_time|process_time|iterations:[0-9]+|repeats:[0-9]+|threads:[0-9]+|min_time:.*|min_warmup_time:.*)$") | not))
  | join("/");
# Google Benchmark writes NaN/Infinity for unavailable counters; jq 1.6 reads
# them as numbers, so "good" also rules them out.
def good: type == "number" and (isnan | not) and (isinfinite | not);
def num: if good then . else "NaN" end;
def mib: split("/") | last | tonumber? // null;
[ .benchmarks[]
  | select(.error_occurred != true and .skipped != true)
  | select(.run_type != "aggregate" or .aggregate_name == "median")
  | . + {base: base} ]
| group_by(.base)
| map((map(select(.run_type == "aggregate")) | first)
      // (sort_by(.real_time) | .[(length - 1) / 2 | floor]))
'

# Runs one jq chart program; writes OUTDIR/<chart>.dat if it yields rows.
emit() {
  local chart=$1 what=$2 prog=$3 rows
  rows=$(jq -r --arg fp "$FAULT_PREFIX" --arg ff "$FAULT_FLOOR" --arg fo "$FAULT_ORDER" --arg fs "$FAULT_SCALE" \
    --arg f4 "$FORK_4K" --arg ft "$FORK_THP" --arg cc "$COW_CHILD" --arg cp "$COW_PARENT" \
    "$PICK | $prog | .[] | @tsv" "$in")
  if [[ -z $rows ]]; then
    echo "extract: skipping $chart: no bench matches $what" >&2
    rm -f "$out/$chart.dat"
    return 0
  fi
  printf '%s\n' "$rows" >"$out/$chart.dat"
  echo "extract: wrote $out/$chart.dat ($(wc -l <<<"$rows") rows)" >&2
}

emit fault_cost "${FAULT_PREFIX}* with counter ns_per_page" '
  (map(select(.base == $ff and (.ns_per_page | good))) | first | .ns_per_page // "NaN") as $floor
  | ($fo | split(" ")) as $order
  | map(select((.base | startswith($fp)) and .base != $ff and (.base | startswith($fs) | not)
               and (.ns_per_page | good))
        | (.base | ltrimstr($fp)) as $m
        | ($m | mib) as $s
        | (if $s then ($m | split("/") | .[:-1] | join("/")) else $m end) as $mode
        | {mode: $mode, s: ($s // 0), o: (($order | index([$mode])) // 999),
           label: (if $s then "\($mode) \($s) MiB" else $mode end), v: .ns_per_page})
  | sort_by(.o, .mode, .s)
  | map([.label, .v, $floor])'

emit fork_latency "${FORK_4K}<MiB> or ${FORK_THP}<MiB> with counter fork_ms or reap_ms" '
  map(select((.base | startswith($f4) or startswith($ft)) and (.base | mib) != null
             and ((.fork_ms | good) or (.reap_ms | good)))
      | {s: (.base | mib), thp: (.base | startswith($ft)), f: (.fork_ms | num), r: (.reap_ms | num)})
  | group_by(.s)
  | map(. as $g | ($g | map(select(.thp | not)) | first // {}) as $k
        | ($g | map(select(.thp)) | first // {}) as $t
        | [$g[0].s, ($k.f // "NaN"), ($k.r // "NaN"), ($t.f // "NaN"), ($t.r // "NaN")])'

emit cow_cost "${COW_CHILD}<MiB> or ${COW_PARENT}<MiB> with counter ns_per_page" '
  map(select((.base | startswith($cc) or startswith($cp)) and (.base | mib) != null
             and (.ns_per_page | good))
      | {s: (.base | mib), child: (.base | startswith($cc)), v: .ns_per_page})
  | group_by(.s)
  | map([.[0].s, (map(select(.child)) | first | .v // "NaN"),
         (map(select(.child | not)) | first | .v // "NaN")])'

emit tlb_chase "${TLB_4K}<KiB> or ${TLB_THP}<KiB> with counter ns_per_access" '
  def reach($p; $c): (map(select(.base | startswith($p))) | map(.[$c] | select(good)) | first) // "NaN";
  (reach("'"$TLB_4K"'"; "model_l1_reach_kib")) as $r1 | (reach("'"$TLB_4K"'"; "model_l2_reach_kib")) as $r2
  | (reach("'"$TLB_THP"'"; "model_l1_reach_kib")) as $h1 | (reach("'"$TLB_THP"'"; "model_l2_reach_kib")) as $h2
  | map(select((.base | startswith("'"$TLB_4K"'") or startswith("'"$TLB_THP"'")) and (.base | mib) != null
               and (.ns_per_access | good))
        | {s: (.base | mib), thp: (.base | startswith("'"$TLB_THP"'")), v: .ns_per_access})
  | group_by(.s)
  | map([.[0].s, (map(select(.thp | not)) | first | .v // "NaN"), (map(select(.thp)) | first | .v // "NaN"),
         $r1, $r2, $h1, $h2])'

emit model_alloc "${MODEL_ALLOC}<allocator>/<workload> with counter model_walks_per_kop" '
  map(select((.base | startswith("'"$MODEL_ALLOC"'")) and (.model_walks_per_kop | good))
      | (.base | ltrimstr("'"$MODEL_ALLOC"'") | split("/")) as $p
      | {a: $p[0], w: $p[1], v: .model_walks_per_kop, r: (.model_rss_kib | num)})
  | (map(.w) | reduce .[] as $x ([]; if index([$x]) then . else . + [$x] end)) as $ws
  | (map(.a) | reduce .[] as $x ([]; if index([$x]) then . else . + [$x] end)
     | sort_by(. as $x | ["bins", "slab", "shard"] | index([$x]) // 99)) as $al   # the registry order, as the CLI draws them
  | map(. as $x | . + {wi: ($ws | index([$x.w])), ai: ($al | index([$x.a]))})
  | sort_by(.wi, .ai)
  | map([0, "zen4", .wi, .w, .ai, .a, .v, .r])'
