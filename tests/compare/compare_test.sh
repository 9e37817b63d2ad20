#!/usr/bin/env bash
# tests/compare/compare_test.sh CASE NOTFREE FLIPBYTE_SO HAVE_JQ HAVE_GNUPLOT
#   tiny      two allocators (glibc, bins), two workloads, one rep: exit 0,
#             valid JSON with every per-run key, syscalls counted, the table,
#             and (with gnuplot) PNG + SVG charts whose .dat files hold one
#             series per allocator
#   corrupt   a preload that flips a byte: ok=false, error names the checksum
#   missing   ghost=/nonexistent.so: listed unavailable, in the table and JSON
#   badflags  exit 2 with a message that names the problem
set -uo pipefail
case_=$1 notfree=$2 flip=$3 have_jq=$4 have_gnuplot=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$case_]: $*" >&2; exit 1; }
q() { jq -e "$@" "$tmp/c.json" >/dev/null || fail "jq $* on $(cat "$tmp/c.json" | head -c 3000)"; }
need_jq() { [[ -n $have_jq ]] || { echo "SKIP: jq missing"; exit 77; }; }
small=(--reps 1 --scale 0.02 --timeout 60 --out "$tmp/c.json")

case $case_ in
tiny)
  need_jq
  "$notfree" compare --allocators glibc,bins --workloads small-churn,larson-like --threads 1 "${small[@]}" \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 0 ]] || fail "exit $rc"
  q '.context.allocators | length == 2'
  q '.context.host and .context.date and .context.kernel and .context.syscall_counter'
  q '.runs | length == 4'
  q '.runs | all(keys == (["allocator","workload","threads","rep","wall_s","cpu_s","ops_per_s","peak_rss_kib",
      "final_rss_kib","minflt","majflt","steal_s","syscalls","ok"] | sort))'
  q '.runs | all(.ok and .ops_per_s > 0 and .wall_s > 0 and .peak_rss_kib > 0 and .final_rss_kib > 0)'
  q '.runs | all(.syscalls | keys == (["mmap","munmap","mremap","brk","madvise","mprotect"] | sort))'
  q '[.runs[].allocator] | unique == ["bins","glibc"]'
  grep -q "per million ops" "$tmp/out" || fail "no table"
  for a in glibc bins; do grep -Eq "^small-churn +1 $a " "$tmp/out" || fail "no table row for $a"; done
  if [[ -n $have_gnuplot ]]; then
    for chart in compare_time compare_rss; do
      for ext in png svg; do
        [[ -s $tmp/c-$chart.$ext ]] || fail "no $chart.$ext"
      done
      head -c 8 "$tmp/c-$chart.png" | grep -q PNG || fail "$chart.png is not a PNG"
      grep -q "<svg" "$tmp/c-$chart.svg" || fail "$chart.svg is not an SVG"
      dat=$tmp/c-data/$chart.dat
      [[ $(head -1 "$dat") == $'# workload\tglibc\tbins' ]] || fail "$dat header: $(head -1 "$dat")"
      awk -F'\t' '!/^#/ && NF != 3 { bad = 1 } END { exit bad }' "$dat" || fail "$dat: not one series per allocator"
    done
  fi ;;
corrupt)
  need_jq
  "$notfree" compare --allocators glibc,flip="$flip" --workloads small-churn --threads 1 --no-plots "${small[@]}" \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 1 ]] || fail "a corrupting allocator should make compare exit 1, got $rc"
  q '.runs[] | select(.allocator == "flip") | .ok == false and (.error | test("checksum"))'
  q '.runs[] | select(.allocator == "glibc") | .ok'
  grep -q "FAILED" "$tmp/out" || fail "the table does not say FAILED" ;;
missing)
  need_jq
  "$notfree" compare --allocators glibc,ghost=/nonexistent.so --workloads small-churn --threads 1 --no-plots \
    "${small[@]}" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 0 ]] || fail "exit $rc"
  q '.context.allocators[] | select(.name == "ghost") | .available == false and (.reason | test("nonexistent"))'
  q '[.runs[].allocator] | unique == ["glibc"]'
  grep -q "unavailable: ghost" "$tmp/out" || fail "the table does not list ghost as unavailable" ;;
badflags)
  check() {
    local want=$1; shift
    "$notfree" compare "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [[ $rc -eq 2 ]] || fail "compare $*: exit $rc, want 2"
    grep -q -- "$want" "$tmp/err" || fail "compare $*: message lacks '$want': $(cat "$tmp/err")"
  }
  check "unknown flag '--bogus'" --bogus
  check "--reps" --reps 0
  check "--reps" --reps x
  check "unknown allocator 'nosuch'" --allocators nosuch
  check "NAME=/absolute/path" --allocators 'x=relative.so'
  check "unknown workload 'nosuch'" --workloads nosuch
  check "--threads" --threads 0
  check "--timeout" --timeout -1
  check "needs a value" --out ;;
*) fail "unknown case" ;;
esac
echo "ok [$case_]"
