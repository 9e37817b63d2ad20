#!/usr/bin/env bash
# tests/compare/compare_test.sh CASE NOTFREE FLIPBYTE_SO HAVE_JQ HAVE_GNUPLOT FLIPMID_SO WORKER BUILDDIR
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
#   summary   the JSON's summary block is the runs' aggregation (medians over
#             the ok repetitions, the spread, the ratios to the baseline:
#             glibc, else the first available allocator), the table prints
#             its figures and the chart files hold exactly its ratios
#   timeline  --timeline: every run holds its own RSS samples ("this run"),
#             the table's p99 and max columns are the summary's latency;
#             without it (summary) only the first repetition's record holds
#             the verification run's samples, every record its figures
#   install   `meson install --destdir`: the installed notfree finds its
#             worker, its drop-ins and its chart scripts (compare, check,
#             alloc --list), with no build tree beside it
set -uo pipefail
case_=$1 notfree=$2 flip=$3 have_jq=$4 have_gnuplot=$5 flipmid=${6:-} worker=${7:-} builddir=${8:-}
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
      "final_rss_kib","minflt","majflt","steal_s","syscalls","verification","timeline","latency","ok"] | sort))'
  q '.runs | all(.verification == {"ok": true, "first_bad_offset": null, "bad_block_size": null})'
  q '.runs | all(.ok and .ops_per_s > 0 and .wall_s > 0 and .peak_rss_kib > 0 and .final_rss_kib > 0)'
  q '.runs | all(.syscalls | keys == (["mmap","munmap","mremap","brk","madvise","mprotect"] | sort))'
  q '[.runs[].allocator] | unique == ["bins","glibc"]'
  # RSS over time from the verification run, latency from the timed run.
  q '.runs | all(.timeline.source == "verification run" and .timeline.samples > 1
      and (.timeline.t | length) == .timeline.samples and (.timeline.rss_kib | length) == .timeline.samples
      and .timeline.mean_rss_kib > 0 and .timeline.above_90pct_of_peak > 0 and .timeline.above_90pct_of_peak <= 1)'
  # The overhead is reported (a figure, not a target here: under load a sample's
  # measured cost swells, and speed targets are bench figures, never tests).
  q '.runs | all(.latency.sample_every == 256 and .latency.overhead_fraction > 0 and .latency.overhead_fraction < 1
      and (.latency.all.samples == .latency.malloc.samples + .latency.free.samples)
      and .latency.all.p50_ns <= .latency.all.p99_ns and .latency.all.p99_ns <= .latency.all.max_ns)'
  q '.summary.cells | all(.latency_p99_ns > 0 and .latency_max_ns >= .latency_p99_ns and (.latency.cdf | length) > 0
      and .latency.cdf[-1][1] == 1 and .mean_rss_kib > 0)'
  grep -q "per million ops" "$tmp/out" || fail "no table"
  # The header's labels stand apart (two spaces at least): "RSS finalMiB" ran together.
  header=$(grep "per million ops" "$tmp/out" | sed 's/ *|.*//')
  for label in Mops/s spread time "peak RSS" "final RSS" minflt p99 max; do
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
    for chart in compare_timeline compare_latency; do
      head -c 8 "$tmp/c-$chart.png" | grep -q PNG || fail "$chart.png is not a PNG"
      grep -q "<svg" "$tmp/c-$chart.svg" || fail "$chart.svg is not an SVG"
      # Every allocator and both panels have points.
      for a in 1 2; do for p in 1 2; do
        awk -F'\t' -v a=$a -v p=$p '$1 == p && $2 == a { found = 1 } END { exit !found }' "$tmp/c-data/$chart.dat" ||
          fail "$chart.dat: no points for panel $p allocator $a"
      done; done
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
sized)
  # small-churn:SIZE runs one block size: its own row, and not the cycling run's checksum
  "$notfree" compare --allocators glibc --workloads small-churn:512,small-churn --threads 1 --no-plots "${small[@]}" \
    >"$tmp/out" 2>"$tmp/err" || fail "exit $?: $(cat "$tmp/err")"
  grep -Eq "^small-churn:512 +1 glibc " "$tmp/out" || fail "no row for small-churn:512: $(cat "$tmp/out")"
  "$worker" --workload small-churn:512 --ops 1000 | grep -q ' block_size=512$' || fail "the worker did not run 512 B blocks"
  "$worker" --workload small-churn --ops 1000 | grep -q ' block_size=0$' || fail "the default run names a block size" ;;
onealloc)
  [[ -n $have_gnuplot && -n $have_jq ]] || { echo "SKIP: gnuplot or jq missing"; exit 77; }
  "$notfree" compare --allocators glibc --workloads small-churn --threads 1 "${small[@]}" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 0 ]] || fail "exit $rc"
  grep -qi "warning" "$tmp/err" "$tmp/out" && fail "gnuplot warned"
  grep -q "one allocator (glibc): no compare_time chart" "$tmp/err" || fail "no note for the skipped chart"
  [[ ! -e $tmp/c-compare_time.png ]] || fail "a chart of one allocator against itself" ;;
summary)
  need_jq
  "$notfree" compare --allocators glibc,bins --workloads small-churn --threads 1 --reps 3 --scale 0.02 --timeout 60 \
    --out "$tmp/c.json" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 0 ]] || fail "exit $rc"
  q '.summary.baseline == "glibc" and (.summary.cells | length == 2)'
  # The same figures from the runs, computed here only to check the C.
  q 'def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
     def close(a; b): ((a - b) | fabs) <= 1e-9 * ((a | fabs) + (b | fabs)) + 1e-12;
     (.runs | map(select(.ok))) as $ok
     | ($ok | map(select(.allocator == "glibc")) | map(.ops_per_s) | med) as $b
     | ($ok | map(select(.allocator == "glibc")) | map(.peak_rss_kib) | med) as $bp
     | .summary.cells | all(. as $c
         | ($ok | map(select(.allocator == $c.allocator)) | map(.ops_per_s)) as $ops
         | ($ok | map(select(.allocator == $c.allocator)) | map(.peak_rss_kib) | med) as $p
         | $c.runs_ok == 3 and $c.runs_failed == 0
           and close($c.ops_per_s; $ops | med)
           and close($c.spread; (($ops | max) - ($ops | min)) / ($ops | med))
           and close($c.time_vs_baseline; $b / ($ops | med))
           and close($c.peak_rss_vs_baseline; $p / $bp)
           and ($c.syscalls_per_mop | keys | length == 6))'
  t=$(jq -r '.summary.cells[] | select(.allocator == "bins") | .time_vs_baseline * 100 | round / 100' "$tmp/c.json")
  row=$(grep -E "^small-churn +1 bins " "$tmp/out") || fail "no table row for bins"
  awk -v want="$t" '{ if ($6 + 0 != want + 0) exit 1 }' <<<"$row" || fail "table time ${row} is not the summary's $t"
  mkdir -p "$tmp/x"
  bash "$(dirname "$0")/../../plots/compare_extract.sh" "$tmp/c.json" "$tmp/x" 2>/dev/null || fail "extract failed"
  want=$(jq -r '[.summary.cells[] | .time_vs_baseline | tostring] | join(" ")' "$tmp/c.json")
  got=$(awk -F'\t' '!/^#/ { $1 = ""; print substr($0, 2) }' "$tmp/x/compare_time.dat")
  [[ $got == "$want" ]] || fail "compare_time.dat '$got' is not the summary's '$want'"
  # Without glibc: the first available allocator is the baseline.
  "$notfree" compare --allocators bins,shard --workloads small-churn --threads 1 --no-plots "${small[@]}" \
    >"$tmp/out" 2>"$tmp/err" || fail "bins,shard: exit $?"
  q '.summary.baseline == "bins"'
  q '.summary.cells[] | select(.allocator == "bins") | .time_vs_baseline == 1'
  grep -q "over bins's" "$tmp/out" || fail "the table's baseline is not bins" ;;
timeline)
  need_jq
  "$notfree" compare --allocators glibc,bins --workloads small-churn --threads 1 --reps 2 --scale 0.02 --timeout 60 \
    --timeline --no-plots --out "$tmp/c.json" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 0 ]] || fail "exit $rc"
  q '.context.timeline_runs == "every run (--timeline)"'
  q '.runs | length == 4 and all(.timeline.source == "this run" and (.timeline.t | length) == .timeline.samples
      and .timeline.samples > 1)'
  p99=$(jq -r '.summary.cells[] | select(.allocator == "bins") | .latency_p99_ns / 1000 * 100 | round / 100' "$tmp/c.json")
  row=$(grep -E "^small-churn +1 bins " "$tmp/out") || fail "no table row for bins"
  awk -v want="$p99" '{ if ($11 + 0 != want + 0) exit 1 }' <<<"$row" || fail "table p99 in ${row} is not the summary's $p99 us"
  # Without --timeline the other repetitions point at the verification run's samples.
  "$notfree" compare --allocators glibc --workloads small-churn --threads 1 --reps 2 --scale 0.02 --timeout 60 \
    --no-plots --out "$tmp/c.json" >"$tmp/out" 2>"$tmp/err" || fail "without --timeline: exit $?"
  q '.runs | map(select(.rep == 1)) | all(.timeline.source == "verification run" and .timeline.t == null
      and .timeline.mean_rss_kib > 0)'
  q '.runs | map(select(.rep == 0)) | all((.timeline.t | length) > 1)'
  # --latency-every 0: no latency, the table says '-'.
  "$notfree" compare --allocators glibc --workloads small-churn --threads 1 --reps 1 --scale 0.02 --timeout 60 \
    --latency-every 0 --no-plots --out "$tmp/c.json" >"$tmp/out" 2>"$tmp/err" || fail "--latency-every 0: exit $?"
  q '(.runs | all(.latency == null)) and (.summary.cells | all(.latency_p99_ns == null and .latency == null))'
  grep -Eq "^small-churn +1 glibc .* - +- \|" "$tmp/out" || fail "the table does not say '-' without latency" ;;
install)
  need_jq
  [[ -n $builddir ]] || fail "no build directory given"
  dest=$tmp/dest
  meson install -C "$builddir" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "meson install failed"; }
  inst=$(find "$dest" -type f -name notfree -perm -u+x | head -1)
  [[ -n $inst ]] || fail "no installed notfree under $dest"
  (cd "$tmp" && env -u NOTFREE_WORKLOAD -u NOTFREE_PROBE -u NOTFREE_PLOTS_DIR "$inst" compare --allocators glibc,bins \
    --workloads small-churn --threads 1 --reps 1 --scale 0.02 --timeout 60 --out "$tmp/c.json" >"$tmp/out" 2>"$tmp/err")
  rc=$?
  cat "$tmp/out" "$tmp/err"
  [[ $rc -eq 0 ]] || fail "the installed notfree compare: exit $rc"
  q --arg d "$dest" '.context.allocators[] | select(.name == "bins") | .available and (.path | startswith($d))'
  q '.runs | length == 2 and all(.ok)'
  if [[ -n $have_gnuplot ]]; then
    [[ -s $tmp/c-compare_time.png ]] || fail "no chart: the installed chart scripts were not found"
  fi
  "$inst" alloc --list | grep -q "drop-in: $dest.*libnotfree-bins.so" || fail "alloc --list: no installed drop-in"
  env -u NOTFREE_PROBE "$inst" check --allocators bins --probes malloc-zero >"$tmp/out" 2>"$tmp/err" ||
    { cat "$tmp/out" "$tmp/err"; fail "the installed notfree check: exit $?"; } ;;
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
  check "unknown workload 'large:64'" --workloads large:64
  check "unknown workload 'small-churn:0'" --workloads small-churn:0
  check "unknown workload 'small-churn:64k'" --workloads small-churn:64k
  check "unknown workload 'small-churn:1048577'" --workloads small-churn:1048577
  check "--threads" --threads 0
  check "--latency-every" --latency-every x
  check "--latency-every" --latency-every -1
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
