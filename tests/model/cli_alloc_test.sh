#!/bin/bash
# tests/model/cli_alloc_test.sh CASE NOTFREE [WRITE_TRACE]: `notfree model --allocator` from the outside.
#   errors  bad input exits 2 with one line naming the problem: unknown
#           allocator, workload or preset, --allocator system (with the
#           reason), --threads beyond live mode, bad --ops, no --workload
#   json    two allocators, two presets: one run per (allocator, preset) with
#           the documented keys; the presets see the same stream (same
#           faults and peak RSS), and the figures are per operation too
#   chart   --chart FILE writes FILE's base .png and .svg (needs gnuplot)
#   trace-errors  --trace with --workload or --ops, without --allocator, a
#           missing, truncated or corrupt trace (the offset said): exit 2,
#           one line; --help states the touch policy
#   trace-json    a synthetic trace (WRITE_TRACE writes it: no recorder
#           needed) through two allocators under two presets: a row each,
#           operations = the trace's calls, the presets see one stream
set -u
case_=$1
nf=$2
fail=0
. "$(dirname "$0")/../common/model_cli.sh"

case $case_ in
errors)
    expect_err "unknown allocator" "unknown allocator 'tcmalloc2'" --allocator tcmalloc2 --workload trim
    expect_err "system" "page source" --allocator system --workload trim
    expect_err "unknown workload" "unknown workload 'churn'" --allocator bins --workload churn
    expect_err "unknown preset" "pentium" --allocator bins --workload trim --preset zen4,pentium
    expect_err "threads" "one thread" --allocator bins --workload trim --threads 2
    expect_err "bad ops" "bad --ops" --allocator bins --workload trim --ops 1e3
    expect_err "zero ops" "bad --ops" --allocator bins --workload trim --ops 0
    expect_err "no workload" "--workload" --allocator bins
    expect_err "no allocator" "--allocator" --workload trim
    expect_err "unknown flag" "unknown flag" --allocator bins --workload trim --pattern seq
    expect_err "missing value" "needs a value" --allocator bins --workload
    expect_err "empty item" "bad --allocator" --allocator bins,,slab --workload trim
    "$nf" model --help | grep -q -- "--allocator" || die "--help lacks --allocator"
    ;;
json)
    out=$("$nf" model --allocator bins,shard --workload random-mix --preset zen4,skylake --ops 2000 --json) ||
        die "run failed"
    python3 - "$out" <<'PY' || die "json checks"
import json, sys
j = json.loads(sys.argv[1])
assert j["source"] == "model" and j["mode"] == "live", j
runs = j["runs"]
assert [(r["allocator"], r["preset"]) for r in runs] == [
    ("bins", "zen4"), ("bins", "skylake"), ("shard", "zen4"), ("shard", "skylake")], runs
for r in runs:
    for k in ["ops", "minor_faults", "demand_zero_faults", "cow_faults", "swap_ins", "pt_pages_peak", "vmas_peak",
              "rss_pages_peak", "rss_pages_final", "vsz_pages_peak", "l1_misses", "l2_misses", "walks",
              "walk_refs", "traps", "page_calls", "faults_per_kop", "walks_per_kop", "wall_s", "us_per_trap"]:
        assert k in r, k
    assert r["ops"] >= 2000 and r["minor_faults"] > 0 and r["page_calls"]["map"] > 0, r
    assert abs(r["faults_per_kop"] - 1000.0 * r["minor_faults"] / r["ops"]) < 1e-6, r
    assert r["rss_pages_peak"] >= r["rss_pages_final"], r
for a, b in [(runs[0], runs[1]), (runs[2], runs[3])]:
    assert a["minor_faults"] == b["minor_faults"] and a["rss_pages_peak"] == b["rss_pages_peak"], (a, b)
PY
    ;;
chart)
    command -v gnuplot >/dev/null || { echo "SKIP: gnuplot missing"; exit 77; }
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    "$nf" model --allocator bins,slab --workload small-churn,trim --preset zen4,skylake --ops 500 \
        --chart "$tmp/m.png" >/dev/null || die "run failed"
    for f in m.png m.svg; do [ -s "$tmp/$f" ] || die "$f not written"; done
    file "$tmp/m.png" | grep -q "PNG image" || die "not a PNG"
    grep -q "walks per 1,000" "$tmp/m.svg" || die "the SVG lacks the panel title"
    ;;
trace-errors)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    "$3" "$tmp/t.nft" 300 8000 || die "cannot write the trace"
    expect_err "trace and workload" "mutually exclusive" --allocator bins --workload trim --trace "$tmp/t.nft"
    expect_err "trace and ops" "--ops does not apply" --allocator bins --trace "$tmp/t.nft" --ops 10
    expect_err "trace without allocator" "--allocator" --trace "$tmp/t.nft"
    expect_err "missing trace" "cannot read it" --allocator bins --trace "$tmp/none.nft"
    size=$(stat -c %s "$tmp/t.nft")
    head -c $((size - 7)) "$tmp/t.nft" >"$tmp/short.nft"
    expect_err "truncated trace" "at byte" --allocator bins --trace "$tmp/short.nft"
    cp "$tmp/t.nft" "$tmp/bad.nft"
    printf '\377\377\377\377' | dd of="$tmp/bad.nft" bs=1 seek=$((size / 2)) conv=notrunc status=none
    expect_err "corrupt trace" "byte" --allocator bins --trace "$tmp/bad.nft"
    "$nf" model --help | grep -q -- "--trace FILE" || die "--help lacks --trace"
    "$nf" model --help | grep -q "one byte in every 4 KiB" || die "--help lacks the touch policy"
    ;;
trace-json)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    "$3" "$tmp/t.nft" 800 8000 || die "cannot write the trace"
    out=$("$nf" model --allocator bins,slab --trace "$tmp/t.nft" --preset zen4,skylake --json) || die "run failed"
    python3 - "$out" <<'PY' || die "json checks"
import json, sys
j = json.loads(sys.argv[1])
assert j["source"] == "model" and j["trace"]["calls"] == 800 and j["trace"]["touch"] == "pages", j
runs = j["runs"]
assert [(r["allocator"], r["preset"], r["workload"]) for r in runs] == [
    ("bins", "zen4", "trace:t.nft"), ("bins", "skylake", "trace:t.nft"),
    ("slab", "zen4", "trace:t.nft"), ("slab", "skylake", "trace:t.nft")], runs
for r in runs:
    assert r["ops"] == 800 and r["minor_faults"] > 0 and r["page_calls"]["map"] > 0, r
    assert abs(r["faults_per_kop"] - 1000.0 * r["minor_faults"] / 800) < 1e-6, r
for a, b in [(runs[0], runs[1]), (runs[2], runs[3])]:
    for k in ["minor_faults", "rss_pages_peak", "rss_pages_final", "pt_pages_peak", "vmas_peak", "page_calls"]:
        assert a[k] == b[k], (k, a, b)
PY
    "$nf" model --allocator shard --trace "$tmp/t.nft" | grep -q "^trace:t.nft (800 ops)" || die "table lacks the trace"
    ;;
*) die "unknown case $case_" ;;
esac
exit $fail
