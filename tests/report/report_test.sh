#!/usr/bin/env bash
# tests/report/report_test.sh SOURCE_ROOT
# ci/publish.sh on the sample results (a short run of this box, with a
# filter, and a quick comparison): the report parses as HTML, every link
# and image resolves to a file of the report, every chart is a valid PNG
# or SVG (check_report.py); the history gains exactly one record per
# publish and keeps the earlier ones unchanged; a corrupt history is
# reported and left untouched.
set -euo pipefail

root=${1:?usage: report_test.sh SOURCE_ROOT}
here=$root/tests/report
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
publish() { "$root/ci/publish.sh" --history "$tmp/hist" --run "$here/run-sample.json" \
              --compare "$here/compare-sample.json" "$@"; }

NF_PUBLISH_COMMIT=1111111111111111111111111111111111111111 publish "$tmp/r1" >"$tmp/log1" 2>&1 ||
  { cat "$tmp/log1"; fail "the first publish exited $?"; }
[[ $(jq '.records | length' "$tmp/hist/history.json") -eq 1 ]] || fail "one publish: not one record"
python3 "$here/check_report.py" "$tmp/r1" || fail "the first report"
jq '.records[0]' "$tmp/hist/history.json" >"$tmp/first.json"

NF_PUBLISH_COMMIT=2222222222222222222222222222222222222222 publish "$tmp/r2" >"$tmp/log2" 2>&1 ||
  { cat "$tmp/log2"; fail "the second publish exited $?"; }
[[ $(jq '.records | length' "$tmp/hist/history.json") -eq 2 ]] || fail "two publishes: not two records"
jq '.records[0]' "$tmp/hist/history.json" | cmp -s - "$tmp/first.json" ||
  fail "the second publish changed the first record"
[[ $(jq -r '.records[1].commit' "$tmp/hist/history.json") == 2222222222222222222222222222222222222222 ]] ||
  fail "the second record does not carry the second commit"
echo "ok: two publishes, two records, the first unchanged"
python3 "$here/check_report.py" "$tmp/r2" || fail "the second report"

# What the page must show: the figures read from the run, the box, the
# charts of the run and of the comparison, the trend, both runs' files.
idx=$tmp/r2/index.html
v=$(jq -r '.figures.first_touch_ns_per_page.value | round' "$tmp/r2/record.json")
want=$(jq -r '[.benchmarks[] | select(.name | startswith("fault/first_touch_write/hot/4/")) | .ns_per_page][0] | round' \
         "$here/run-sample.json")
[[ $v == "$want" ]] || fail "first touch headline $v, the run's counter says $want"
for s in "$v <small>ns/page" "Oxide Virtual Turin-like Processor" "run-sample-fault_cost.svg" "run-sample-tlb_chase.svg" \
         "compare-sample-compare_time.svg" "compare-sample-compare_rss.svg" "compare-sample-compare_threads.svg" \
         "trend-0.svg" "history/runs/0001-run-sample/run-sample.json" "history/runs/0002-run-sample/compare-sample.json" \
         "PMU</dt><dd>unavailable: perf_event_open"; do
  grep -qF -- "$s" "$idx" || fail "index.html does not contain '$s'"
done
echo "ok: the page shows the headline figures, the box, every chart, the trend and both runs' files"

# A corrupt history: reported, left byte for byte, the report says so.
printf '{"format": "notfree-history-1", "records": [' >"$tmp/hist/history.json"
cp "$tmp/hist/history.json" "$tmp/corrupt.json"
rc=0; publish "$tmp/r3" >"$tmp/log3" 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "a corrupt history: publish exited 0"
grep -q "history.json: not valid JSON.*left untouched" "$tmp/log3" || { cat "$tmp/log3"; fail "no clear message"; }
cmp -s "$tmp/hist/history.json" "$tmp/corrupt.json" || fail "the corrupt history was rewritten"
grep -q "History not updated" "$tmp/r3/index.html" || fail "the report does not say the history was not updated"
echo "ok: a corrupt history is reported (exit $rc) and left untouched"

# A run: the files are the ones the run printed, not the newest or the
# last by name in the results directory (a stand-in for ./lab prints the
# sample files and leaves decoys that sort after them, newer).
mkdir -p "$tmp/results"
cp "$here/run-sample.json" "$tmp/results/a-run.json"
cp "$here/compare-sample.json" "$tmp/results/a-compare.json"
cat >"$tmp/lab" <<EOF2
#!/usr/bin/env bash
echo "notfree run: 2 benches; results go to $tmp/results/a-run.json" >&2
cp "$here/run-sample.json" "$tmp/results/zz-compare-decoy.json"
cp "$here/run-sample.json" "$tmp/results/zz-run-decoy.json"
printf '\nnotfree summary (%s)\nbench  time\n' "$tmp/results/a-run.json"
echo "results: $tmp/results/a-compare.json"
EOF2
chmod +x "$tmp/lab"
NF_PUBLISH_LAB=$tmp/lab "$root/ci/publish.sh" "$tmp/r5" >"$tmp/log5" 2>&1 || { cat "$tmp/log5"; fail "publish after a run exited $?"; }
[[ -f $tmp/r5/a-run.json && -f $tmp/r5/a-compare.json && -f $tmp/r5/a-compare-compare_time.svg ]] ||
  fail "the report does not hold the files the run printed: $(ls "$tmp/r5" | tr '\n' ' ')"
! ls "$tmp/r5" | grep -q decoy || fail "the report took a file the run did not print"
grep -q 'href="a-compare.json"' "$tmp/r5/index.html" || fail "the page does not link the comparison the run printed"
echo "ok: after a run, the report holds the files the run printed, not the newest ones"

# Bad usage: exit 2, nothing published.
rc=0; "$root/ci/publish.sh" --compare "$here/compare-sample.json" "$tmp/r4" 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "--compare without --run: exit $rc, not 2"
rc=0; "$root/ci/publish.sh" --run "$tmp/none.json" "$tmp/r4" 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "a missing results file: exit $rc, not 2"
echo "ok: bad usage exits 2"
