#!/bin/bash
# tests/tlb/cli_test.sh CASE NOTFREE: `notfree model` from the outside.
#   presets  --list-presets prints every preset with its geometry
#   errors   bad input exits 2 with a message naming the problem
#   json     the JSON object has exactly the documented keys (and may have more)
#   theory   zen4 random above the L2 reach: walk rate ~ 1 - 3072/pages;
#            stores fault each page once; RSS = pages
#   swap     too few frames: with swap, swap-outs and major faults; without, an OOM kill
set -u
case_=$1
nf=$2
fail=0
die() { echo "FAIL: $*" >&2; fail=1; }

expect_err() { # expect_err "what" needle args...
    local what=$1 needle=$2; shift 2
    local out rc
    out=$("$nf" model "$@" 2>&1); rc=$?
    [ $rc -eq 2 ] || die "$what: exit $rc, want 2 ($out)"
    grep -qi -- "$needle" <<<"$out" || die "$what: message lacks '$needle': $out"
}

json_get() { # json_get KEY < json
    python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

case $case_ in
presets)
    out=$("$nf" model --list-presets) || die "--list-presets failed"
    for p in skylake goldencove zen3 zen4 host; do
        grep -q "^$p" <<<"$out" || die "--list-presets lacks $p"
    done
    grep -q "72 entries, fully associative" <<<"$out" || die "zen4 L1 geometry missing"
    grep -q "3072 entries" <<<"$out" || die "zen4 L2 geometry missing"
    grep -q "1536 entries, 12-way" <<<"$out" || die "skylake STLB geometry missing"
    grep -q "source:" <<<"$out" || die "no sources printed"
    "$nf" model --help | grep -q -- "--list-presets" || die "--help"
    ;;
errors)
    expect_err "unknown preset" "unknown preset" --preset pentium
    expect_err "no preset" "--preset" --ws 1M
    expect_err "bad size" "bad --ws" --preset zen4 --ws 12Q
    expect_err "negative size" "bad --ws" --preset zen4 --ws -4K
    expect_err "zero size" "bad --ws" --preset zen4 --ws 0
    expect_err "overflow size" "bad --ws" --preset zen4 --ws 99999999999999G
    expect_err "partial page" "whole number" --preset zen4 --ws 6K
    expect_err "2m page, small ws" "whole number" --preset zen4 --ws 1M --page 2m
    expect_err "bad page" "bad --page" --preset zen4 --page 3m
    expect_err "bad pattern" "unknown pattern" --preset zen4 --pattern zigzag
    expect_err "bad accesses" "bad --accesses" --preset zen4 --accesses 1e6
    expect_err "too few frames" "frames" --preset zen4 --frames 3
    expect_err "bad swap" "bad --swap" --preset zen4 --swap lots
    expect_err "unknown flag" "unknown flag" --preset zen4 --turbo
    expect_err "missing value" "needs a value" --preset
    ;;
json)
    out=$("$nf" model --preset zen4 --ws 1M --accesses 10000 --json) || die "run failed"
    python3 - "$out" <<'PY' || fail=1
import json, sys
o = json.loads(sys.argv[1])
want = ["preset", "pattern", "ws_bytes", "page_bytes", "accesses", "l1_hits", "l1_misses", "l2_hits",
        "l2_misses", "walks", "walk_refs", "pwc_hits", "minor_faults", "major_faults", "cow_faults",
        "zero_page_maps", "swap_outs", "swap_ins", "oom_kills", "rss_pages", "vsz_pages", "pt_pages"]
missing = [k for k in want if k not in o]
if missing:
    sys.exit("FAIL: keys missing: %s" % missing)
if o["preset"] != "zen4" or o["pattern"] != "random" or o["ws_bytes"] != 1 << 20 or o["page_bytes"] != 4096:
    sys.exit("FAIL: echoed settings wrong: %s" % o)
if o["accesses"] != 10000 or o["l1_hits"] + o["l1_misses"] != 10000:
    sys.exit("FAIL: accesses do not add up: %s" % o)
if o["l1_misses"] != o["l2_hits"] + o["l2_misses"] or o["walks"] != o["l2_misses"]:
    sys.exit("FAIL: levels do not add up: %s" % o)
PY
    ;;
theory)
    out=$("$nf" model --preset zen4 --pattern random --ws 64M --accesses 600000 --json) || die "run failed"
    python3 - "$out" <<'PY' || fail=1
import json, sys
o = json.loads(sys.argv[1])
pages = o["ws_bytes"] // 4096
rate = o["walks"] / o["accesses"]
want = 1 - 3072 / pages
print("zen4 random 64 MiB: walk rate %.4f, theory %.4f" % (rate, want))
if abs(rate - want) > 0.02:
    sys.exit("FAIL: walk rate %.4f, theory %.4f" % (rate, want))
if o["minor_faults"] != pages or o["rss_pages"] != pages or o["vsz_pages"] != pages:
    sys.exit("FAIL: faults %d rss %d vsz %d, want %d each" % (o["minor_faults"], o["rss_pages"], o["vsz_pages"], pages))
if o["pt_pages"] < 1 + 1 + 1 + pages // 512:
    sys.exit("FAIL: pt_pages %d" % o["pt_pages"])
PY
    out=$("$nf" model --preset zen4 --pattern chase --ws 8M --accesses 200000 --json) || die "chase run failed"
    w=$(json_get walks <<<"$out")
    [ "$w" -le 2048 ] || die "zen4 chase 8 MiB: $w walks, want only the 2048 cold ones"
    out=$("$nf" model --preset zen4 --pattern seq --ws 4M --page 2m --accesses 100000 --json) || die "2m run failed"
    w=$(json_get walks <<<"$out")
    [ "$w" -le 2 ] || die "zen4 seq 4 MiB in 2 MiB pages: $w walks, want 2"
    ;;
swap)
    out=$("$nf" model --preset zen4 --pattern seq --ws 4M --frames 600 --swap 8M --accesses 4096 --json) || die "swap run failed"
    so=$(json_get swap_outs <<<"$out"); mj=$(json_get major_faults <<<"$out")
    [ "$so" -gt 0 ] && [ "$mj" -gt 0 ] || die "1024 pages round-robin on 600 frames: swap_outs $so major $mj"
    out=$("$nf" model --preset zen4 --pattern seq --ws 4M --frames 600 --accesses 4096 --json)
    ok=$(json_get oom_kills <<<"$out")
    [ "$ok" -ge 1 ] || die "no swap, too few frames: oom_kills $ok"
    ;;
*)
    echo "unknown case $case_" >&2
    exit 2
    ;;
esac
[ $fail -eq 0 ] && echo "ok $case_"
exit $fail
