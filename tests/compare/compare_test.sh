#!/usr/bin/env bash
# tests/compare/compare_test.sh CASE NOTFREE FLIPBYTE_SO HAVE_JQ HAVE_GNUPLOT FLIPMID_SO WORKER
#   tiny      two allocators (glibc, bins), two workloads, one rep: exit 0,
#             valid JSON with every per-run key, syscalls counted, verified,
#             the table (its header's columns apart), and (with gnuplot)
#             PNG + SVG charts whose .dat files hold one series per allocator
#   corrupt   a preload that flips a block's first byte: ok=false, error
#             names the checksum
#   verify    a preload that flips a byte in the middle of a block: the
#             timed run's checksum misses it, the verification run catches
#             it (ok=false, the first bad offset in the JSON and the table)
#   missing   ghost=/nonexistent.so: refused before any run with dlopen's
#             error, exit 2, no JSON
#   notalloc  x=<libz or libm>: refused, malloc does not resolve into it
#   nothing   no allocator available (a copy of notfree without drop-ins
#             beside it, asked for bins): exit 1, no JSON
#   onealloc  one allocator (its own baseline): no gnuplot warnings, a note
#             instead of the relative charts
#   badflags  exit 2 with a message that names the problem
#   alloclist `notfree alloc --list`: every workload's description starts in
#             the same column
set -uo pipefail
case_=$1 notfree=$2 flip=$3 have_jq=$4 have_gnuplot=$5 flipmid=${6:-} worker=${7:-}
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
      "final_rss_kib","minflt","majflt","steal_s","syscalls","verification","ok"] | sort))'
  q '.runs | all(.verification == {"ok": true, "first_bad_offset": null, "bad_block_size": null})'
  q '.runs | all(.ok and .ops_per_s > 0 and .wall_s > 0 and .peak_rss_kib > 0 and .final_rss_kib > 0)'
  q '.runs | all(.syscalls | keys == (["mmap","munmap","mremap","brk","madvise","mprotect"] | sort))'
  q '[.runs[].allocator] | unique == ["bins","glibc"]'
  grep -q "per million ops" "$tmp/out" || fail "no table"
  # The header's labels stand apart (two spaces at least): "RSS finalMiB" ran together.
  header=$(grep "per million ops" "$tmp/out" | sed 's/ *|.*//')
  for label in Mops/s spread time "peak RSS" "final RSS" minflt; do
    sed -E 's/ {2,}/\n/g' <<<"$header" | grep -qx -- "$label" || fail "header: '$label' not a column of: $header"
  done
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
verify)
  need_jq
  "$notfree" compare --allocators glibc,flipmid="$flipmid" --workloads small-churn --threads 1 --no-plots "${small[@]}" \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 1 ]] || fail "a corrupting allocator should make compare exit 1, got $rc"
  # The timed run's checksum passed: only the verification run saw it.
  q '.runs[] | select(.allocator == "flipmid") | .ok == false and (.error | test("^verification run: .*changed at byte [0-9]+ of a [0-9]+-byte block"))'
  q '.runs[] | select(.allocator == "flipmid") | .verification | .ok == false and .first_bad_offset >= 8
      and .first_bad_offset < .bad_block_size - 8'
  q '.runs[] | select(.allocator == "glibc") | .ok and .verification.ok'
  grep -Eq "^small-churn +1 flipmid +FAILED.*changed at byte [0-9]+" "$tmp/out" || fail "the table does not give the offset"
  # Without the verification run nothing fails: the worker's timed mode passes the same blocks.
  LD_PRELOAD=$flipmid "$worker" --workload small-churn --ops 20000 >"$tmp/w" || fail "the timed mode caught it: $(cat "$tmp/w")"
  grep -q " corrupt=0 " "$tmp/w" || fail "timed mode: $(cat "$tmp/w")"
  LD_PRELOAD=$flipmid "$worker" --workload small-churn --ops 20000 --verify >"$tmp/w" && fail "--verify missed it"
  grep -Eq " bad_offset=[1-9][0-9]* bad_size=[1-9]" "$tmp/w" || fail "--verify: $(cat "$tmp/w")" ;;
missing)
  "$notfree" compare --allocators glibc,ghost=/nonexistent.so --workloads small-churn --threads 1 --no-plots \
    "${small[@]}" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 2 ]] || fail "exit $rc, want 2"
  grep -q "ghost=/nonexistent.so: cannot be loaded: /nonexistent.so: cannot open shared object file" "$tmp/err" ||
    fail "no dlopen error"
  grep -q '^\[' "$tmp/err" && fail "a run was made"
  [[ ! -e $tmp/c.json ]] || fail "a results file was written" ;;
notalloc)
  lib=$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p) | awk '$1 == "libz.so.1" && /x86-64|AArch64/ { print $NF; exit }')
  [[ -n $lib ]] || lib=$(ldd "$notfree" | awk '$1 ~ /^libm\.so/ { print $3; exit }')
  [[ -n $lib ]] || { echo "SKIP: no libz or libm found"; exit 77; }
  "$notfree" compare --allocators glibc,x="$lib" --workloads small-churn --threads 1 --no-plots \
    "${small[@]}" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 2 ]] || fail "$lib: exit $rc, want 2"
  grep -q "x ($lib) refused: malloc resolves into .*libc.so.6, not into $lib: not an allocator" "$tmp/err" ||
    fail "no clear refusal"
  [[ ! -e $tmp/c.json ]] || fail "a results file was written" ;;
nothing)
  cp "$notfree" "$tmp/notfree"   # no allocators/dropin/ beside the copy: bins is unavailable
  NOTFREE_WORKLOAD=$worker "$tmp/notfree" compare --allocators bins --workloads small-churn --threads 1 --no-plots \
    "${small[@]}" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  grep -q "bins unavailable" "$tmp/err" || fail "bins was not unavailable"
  [[ $rc -eq 1 ]] || fail "nothing measured: exit $rc, want 1"
  grep -q "nothing to measure" "$tmp/err" || fail "no message"
  [[ ! -e $tmp/c.json ]] || fail "a results file without runs was written" ;;
onealloc)
  [[ -n $have_gnuplot && -n $have_jq ]] || { echo "SKIP: gnuplot or jq missing"; exit 77; }
  "$notfree" compare --allocators glibc --workloads small-churn --threads 1 "${small[@]}" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 0 ]] || fail "exit $rc"
  grep -qi "warning" "$tmp/err" "$tmp/out" && fail "gnuplot warned"
  grep -q "one allocator (glibc): no compare_time chart" "$tmp/err" || fail "no note for the skipped chart"
  [[ ! -e $tmp/c-compare_time.png ]] || fail "a chart of one allocator against itself" ;;
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
  check "needs a value" --out
  check "empty item" --allocators glibc,
  check "empty item" --allocators ,glibc
  check "empty item" --allocators glibc,,bins
  check "empty item" --allocators ''
  check "empty item" --workloads small-churn,
  check "empty item" --threads 1,,2
  check "the directory /nonexistent-dir does not exist" --out /nonexistent-dir/c.json --allocators glibc \
    --workloads small-churn --threads 1 --reps 1 --scale 0.01 --no-plots
  grep -q '^\[' "$tmp/err" && fail "--out into a missing directory: a run was made first"
  [[ ! -e /nonexistent-dir ]] || fail "/nonexistent-dir was created" ;;
alloclist)
  "$notfree" alloc --list >"$tmp/out" 2>"$tmp/err" || fail "exit $?"
  cat "$tmp/out"
  # Each workload line: two spaces, the name, spaces, the description.
  cols=$(awk '/^workloads:/ { on = 1; next } on && match($0, /^  [^ ]+ +/) { print RLENGTH }' "$tmp/out" | sort -u)
  [[ -n $cols ]] || fail "no workloads listed"
  [[ $(wc -l <<<"$cols") -eq 1 ]] || fail "descriptions start in columns $(echo $cols)" ;;
*) fail "unknown case" ;;
esac
echo "ok [$case_]"
