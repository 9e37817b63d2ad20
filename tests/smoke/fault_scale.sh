#!/usr/bin/env bash
# Fault scaling: every thread takes exactly one fault per page it first
# touches, whatever the mode and the thread count; the family registers
# thread counts up to the PU count (1 and 2 by default, every n with
# --full); the hardware counters this box lacks are listed with a reason,
# never reported. No time is asserted: only counts and sane ratios.
source "$(dirname "$0")/lib.sh"
run '^fault/(scale|munmap_shootdown)/'
pus="$(jq -r '.context.notfree.topology.pus' "$tmp/out.json")"
[ "$pus" -ge 1 ] 2>/dev/null || fail "no PU count in the context: $pus"
max_default=$(( pus < 2 ? pus : 2 ))

for mode in private_regions shared_region; do
  for n in $(seq 1 "$max_default"); do
    b="fault/scale/$mode/threads:$n/"
    within "$b" faults_per_page 0.99 1.01
    within "$b" faults_per_page_min_thread 0.99 1.01
    within "$b" faults_per_page_max_thread 0.99 1.01
    within_if_present "$b" perf_faults_per_page 0.99 1.01
    within "$b" ns_per_page 1 1e7
    within "$b" cpu_ns_per_page 1 1e7
    within "$b" thread_cpu_share 0.001 1.05
    within "$b" faults_per_s 1 1e9
    within "$b" ref_1thread_faults_per_s 1 1e9
    # 1/n is no scaling at all; a loaded box can fall below it, never to 0
    within "$b" scaling_efficiency 0.01 3
    fps="$(field "$b" faults_per_s)"; fpt="$(field "$b" faults_per_s_per_thread)"
    jq -en --argjson a "$fps" --argjson b "$fpt" --argjson n "$n" '($a / $n - $b) | fabs <= 1e-6 * $a' \
      >/dev/null || fail "$b: faults_per_s_per_thread $fpt is not faults_per_s $fps / $n"
  done
done
for n in $(seq 1 "$max_default"); do
  b="fault/munmap_shootdown/threads:$n/"
  within "$b" ns_per_munmap 1 1e8
  within "$b" ref_ns_per_munmap 1 1e8
  within "$b" shootdown_cost_ratio 0.01 100
  if [ -z "$(unavailable fault/munmap_shootdown:tlb_shootdowns_per_munmap)" ]; then
    within "$b" tlb_shootdowns_per_munmap 0 1e6
  fi
done

# Registration: by default 1..min(2, PUs); with --full every n up to the PUs.
NOTFREE_FULL=0 "$notfree" bench --list 2>/dev/null >"$tmp/list0" || fail "bench --list failed"
NOTFREE_FULL=1 "$notfree" bench --list 2>/dev/null >"$tmp/list1" || fail "bench --list (full) failed"
names() { grep -E '^fault/(scale|munmap_shootdown)/' "$tmp/list$1"; }
for fam in fault/scale/private_regions fault/scale/shared_region fault/munmap_shootdown; do
  got="$(names 0 | grep -c "^$fam/threads:")"
  [ "$got" -eq "$max_default" ] || fail "$fam: $got thread counts by default, want $max_default"
  top="$(names 1 | grep "^$fam/threads:" | sed 's/.*threads:\([0-9]*\).*/\1/' | sort -n | tail -1)"
  [ "$top" = "$pus" ] || fail "$fam: --full goes up to $top threads, want the PU count $pus"
  for n in $(seq 1 $(( pus < 8 ? pus : 8 ))); do
    names 1 | grep -qx "$fam/threads:$n/manual_time" || fail "$fam: --full lacks threads:$n"
  done
  echo "ok: $fam registers 1..$max_default by default, up to $pus PUs with --full"
done

# Hardware counters: either reported (hw_*_per_page) or listed with a reason.
for c in cycles instructions dtlb_load_misses dtlb_store_misses itlb_load_misses; do
  why="$(unavailable "counter:perf_$c")"
  v="$(field fault/scale/private_regions/threads:1/ "hw_${c}_per_page")"
  if [ -n "$why" ]; then
    [ "$v" = "null" ] || fail "hw_${c}_per_page = $v although perf_$c is unavailable ($why)"
    echo "ok: hw_${c}_per_page left out: $why"
  else
    [ "$v" != "null" ] || fail "perf_$c is available but fault/scale reports no hw_${c}_per_page"
    echo "ok: hw_${c}_per_page = $v"
  fi
done
