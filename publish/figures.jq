# publish/figures.jq: the headline figures of one published run, the one
# place that derives them (the history and the page read what it writes).
#
#   jq -n --slurpfile run RUN.json --rawfile ctime COMPARE_TIME.dat -f figures.jq
#
# RUN.json: `notfree run`'s results (Google Benchmark JSON). COMPARE_TIME.dat:
# what plots/compare_extract.sh wrote (the time per operation of each
# allocator over glibc's, one row per workload and thread count; medians
# over repetitions computed there), or an empty file without a comparison.
# Output: {name: {value, unit, label, source, from}}; value is null with
# `why` when the run cannot give the figure. Figures are read from the run's
# counters (the median aggregate where repetitions ran); the only arithmetic
# here is a change of unit, the TLB knees and the geometric means.

include "select";

def bench_at_largest($prefix):
  [nf_benches | select(.base | startswith($prefix)) | . + {size: (.base | ltrimstr($prefix) | tonumber? // null)}
   | select(.size != null)] | max_by(.size);

def fig($lab; $unit; $source; $b; $v):
  if $b == null then {value: null, unit: $unit, label: $lab, why: "no bench of this figure in the run"}
  elif ($v | nf_good) then {value: $v, unit: $unit, label: $lab, source: $source, from: $b.name}
  else {value: null, unit: $unit, label: $lab, why: "\($b.name) has no such counter"} end;

# Geometric mean of a column's ratio to another column over the rows of
# compare_time.dat (both per operation, over glibc's).
def ctable: $ctime | split("\n") | map(select(length > 0) | split("\t"));
def geomean_ratio($num; $den):
  ctable as $t | ($t[0] // []) as $h
  | ($h | index([$num])) as $i | ($h | index([$den])) as $j
  | if $i == null or $j == null or ($t | length) < 2 then null
    else [$t[1:][] | [(.[$i] | tonumber? // null), (.[$j] | tonumber? // null)]
          | select(.[0] != null and .[1] != null and .[0] > 0 and .[1] > 0) | (.[0] / .[1] | log)]
         | if length == 0 then null else (add / length | exp) end end;
def ratio_fig($num; $den):
  geomean_ratio($num; $den) as $g
  | {unit: "x", label: "\($num)/\($den) time per op (geomean)"}
    + (if $g == null then {value: null, why: (if ($ctime | length) == 0 then "no comparison in the run"
                                               else "\($num) or \($den) did not run in the comparison" end)}
       else {value: $g, source: "timing", from: "notfree compare (time per op, geomean over workloads and threads)"} end);

# The TLB knees of the timed pointer chase (tlb/chase/<KiB>, 4 KiB pages):
# the floor is the lowest ns per access of the three smallest working sets;
# the L1 knee is the first working set at 1.5x the floor or more, the L2
# knee the first after it at 1.5x the L1 knee's time or more. The TLB's
# reach lies between a knee and the working set before it.
def knees:
  [nf_benches | select(.base | test("^tlb/chase/[0-9]+$")) | select(.ns_per_access | nf_good)
   | {kib: (.base | split("/") | last | tonumber), ns: .ns_per_access}] | sort_by(.kib) as $p
  | if ($p | length) < 4 then {l1: null, l2: null, why: "fewer than four tlb/chase working sets in the run"}
    else ($p[:3] | map(.ns) | min) as $floor
    | (first($p[] | select(.ns >= 1.5 * $floor)) // null) as $k1
    | (if $k1 == null then null else first($p[] | select(.kib > $k1.kib and .ns >= 1.5 * $k1.ns)) // null end) as $k2
    | {l1: $k1.kib, l2: $k2.kib, why: "ns per access never reached 1.5x the level before it"} end;
def knee_fig($lab; $v; $why):
  {unit: "KiB", label: $lab}
  + (if $v == null then {value: null, why: $why}
     else {value: $v, source: "timing", from: "tlb/chase/* (first working set at 1.5x the level before)"} end);

def model_fig($lab; $name):
  (first(nf_benches | select(.base == $name)) // null) as $b
  | fig($lab; "M accesses/s"; "timing"; $b; (if $b then ($b.accesses_per_s // null) | if nf_good then . / 1e6 else null end else null end));

$run[0] as $r
| ($r | bench_at_largest("fault/first_touch_write/hot/")) as $ft
| ([$r | nf_benches | select(.base | test("^fault/populate(/[0-9]+)?$"))] | max_by(.base | split("/") | last | tonumber? // 0)) as $pop
| ($r | bench_at_largest("fork/latency/")) as $fork
| ($r | bench_at_largest("fork/cow_write/child/")) as $cow
| ($r | knees) as $k
| {
    first_touch_ns_per_page: fig("first touch"; "ns/page"; "timing"; $ft; $ft.ns_per_page),
    populate_ns_per_page: fig("MAP_POPULATE"; "ns/page"; "timing"; $pop; $pop.ns_per_page),
    fork_ms_per_gib: fig("fork"; "ms/GiB"; "timing"; $fork;
                         (if $fork and ($fork.fork_ms | nf_good) then $fork.fork_ms * 1024 / $fork.size else null end)),
    cow_us_per_page: fig("copy-on-write (child)"; "\u00b5s/page"; "timing"; $cow;
                         (if $cow and ($cow.ns_per_page | nf_good) then $cow.ns_per_page / 1000 else null end)),
    tlb_l1_knee_kib: knee_fig("TLB L1 knee"; $k.l1; $k.why),
    tlb_l2_knee_kib: knee_fig("TLB L2 knee"; $k.l2; $k.why),
    shard_over_mimalloc: ratio_fig("shard"; "mimalloc"),
    bins_over_glibc: ratio_fig("bins"; "glibc"),
    slab_over_glibc: ratio_fig("slab"; "glibc"),
    model_l1_hit_maccess_s: ($r | model_fig("model replay, L1 hits"; "model/replay/l1_hit")),
    model_walk_maccess_s: ($r | model_fig("model replay, page walks"; "model/replay/walk"))
  }
