#!/bin/bash
# tests/tlb/cli_test.sh CASE NOTFREE: `notfree model` from the outside.
#   presets  --list-presets prints every preset with its geometry
#   errors   bad input exits 2 with a message naming the problem
#   json     the JSON object has exactly the documented keys (and may have more)
#   theory   zen4 random above the L2 reach: walk rate ~ 1 - 3072/pages;
#            stores fault each page once; RSS = pages
#   swap     too few frames: with swap, swap-outs and major faults; without, an OOM kill
#   bounds   the model's real memory follows what the run reaches: a 64 KiB working
#            set with 1 TiB of swap, a 4 GiB one touched at 100000 pages (peak RSS);
#            no progress lines when stderr is not a terminal
#   budget   a run that may need more than half of MemAvailable is refused (exit 2,
#            the size named) unless --force; an unreadable meminfo only warns
#   sizes    T suffix accepted; garbage, negative and overflowing sizes rejected
#            with exit 2 and one line
#   presets_json  --list-presets --json is one valid JSON object
#   hugezero --page 2m --reads maps the huge zero page: no frame, RSS 0
set -u
case_=$1
nf=$2
fail=0
. "$(dirname "$0")/../common/model_cli.sh"

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
bounds)
    # peak RSS (KiB) of one child run, through getrusage: no /usr/bin/time needed
    peak() {
        python3 - "$nf" "$@" <<'PY'
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], "model"] + sys.argv[2:], stdout=subprocess.PIPE)
if r.returncode != 0:
    sys.exit("run failed: %d" % r.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
    }
    # before: 1.5 bytes of bookkeeping per slot up front, 1 GB for 1 TiB of swap
    kb=$(peak --preset zen4 --ws 64K --swap 1024G --accesses 10000 --json) || die "64K/1T swap run failed"
    [ "${kb:-999999999}" -le 65536 ] || die "--ws 64K --swap 1024G: peak RSS $kb KiB, want <= 64 MiB"
    # 100000 pages of a 4 GiB set: descriptors and tables, not 400 MB of zeroed frames
    kb=$(peak --preset zen4 --ws 4G --accesses 100000 --json) || die "4G run failed"
    [ "${kb:-999999999}" -le 131072 ] || die "--ws 4G, 100000 accesses: peak RSS $kb KiB, want <= 128 MiB"
    # progress goes to a terminal only: a pipe gets nothing on stderr
    err=$("$nf" model --preset zen4 --ws 4G --accesses 100000 --json 2>&1 >/dev/null) || die "4G run failed"
    [ -z "$err" ] || die "stderr not a terminal, yet: $err"
    ;;
budget)
    expect_err "refused" "available" --preset zen4 --ws 8T --accesses 3000000000 --swap 8T
    expect_err "refusal names the size" "TiB of real memory" --preset zen4 --ws 8T --accesses 3000000000 --swap 8T
    expect_err "refusal names --force" "--force" --preset zen4 --ws 8T --accesses 3000000000 --swap 8T
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    printf 'MemTotal: 4000 kB\nMemAvailable: 1000 kB\n' >"$tmp/meminfo"
    out=$(NOTFREE_MEMINFO=$tmp/meminfo "$nf" model --preset zen4 --ws 256M --accesses 100000 --json 2>&1); rc=$?
    [ $rc -eq 2 ] || die "1000 kB available: exit $rc, want 2 ($out)"
    grep -q "MiB of real memory.*1000.0 KiB available" <<<"$out" || die "message lacks the sizes: $out"
    [ "$(wc -l <<<"$out")" -eq 1 ] || die "refusal is not one line: $out"
    out=$(NOTFREE_MEMINFO=$tmp/meminfo "$nf" model --preset zen4 --ws 256M --accesses 100000 --json --force) \
        || die "--force did not run"
    [ "$(json_get accesses <<<"$out")" = 100000 ] || die "--force run incomplete: $out"
    out=$(NOTFREE_MEMINFO=$tmp/nonexistent "$nf" model --preset zen4 --ws 1M --accesses 1000 --json 2>"$tmp/err") \
        || die "an unreadable meminfo stopped the run"
    grep -q "cannot check" "$tmp/err" || die "no warning when meminfo is unreadable"
    ;;
sizes)
    out=$("$nf" model --preset zen4 --ws 1T --accesses 1000 --json) || die "--ws 1T refused"
    [ "$(json_get ws_bytes <<<"$out")" = $((1 << 40)) ] || die "--ws 1T is not 2^40 bytes"
    out=$("$nf" model --preset zen4 --ws 64K --swap 1t --accesses 10 --json) || die "--swap 1t refused"
    [ "$(json_get swap_pages <<<"$out")" = $((1 << 28)) ] || die "--swap 1t is not 2^28 pages"
    for bad in 4X -1G 1TT 99999999999999999999 17000000T 1.5G; do
        out=$("$nf" model --preset zen4 --ws "$bad" 2>&1); rc=$?
        [ $rc -eq 2 ] || die "--ws $bad: exit $rc, want 2"
        [ "$(wc -l <<<"$out")" -eq 1 ] || die "--ws $bad: error is not one line: $out"
        grep -q "bad --ws" <<<"$out" || die "--ws $bad: $out"
    done
    expect_err "beyond the model" "larger than the model" --preset zen4 --ws 20T
    expect_err "swap beyond the model" "larger than the model" --preset zen4 --swap 20T
    ;;
presets_json)
    for order in "--list-presets --json" "--json --list-presets"; do
        # shellcheck disable=SC2086
        out=$("$nf" model $order) || die "$order failed"
        jq -e '.presets | length >= 5' <<<"$out" >/dev/null || die "$order: not a JSON object of presets: $out"
        jq -e '.presets[] | select(.name == "zen4") | .levels[0][0].entries == 72 and .levels[0][0].fully_associative' \
            <<<"$out" >/dev/null || die "$order: zen4 L1 geometry missing"
        jq -e '[.presets[] | select(.available) | .source | length > 0] | all' <<<"$out" >/dev/null \
            || die "$order: a preset without its source"
    done
    ;;
hugezero)
    out=$("$nf" model --preset zen4 --pattern seq --ws 64M --page 2m --reads --accesses 100000 --json) || die "run failed"
    python3 - "$out" <<'PY' || fail=1
import json, sys
o = json.loads(sys.argv[1])
regions = o["ws_bytes"] >> 21
if o["rss_pages"] != 0:
    sys.exit("FAIL: loads in 2 MiB pages made RSS %d, want 0 (the huge zero page)" % o["rss_pages"])
if o["zero_page_maps"] != regions or o["minor_faults"] != regions:
    sys.exit("FAIL: zero-page maps %d, faults %d, want %d" % (o["zero_page_maps"], o["minor_faults"], regions))
if o["frames_used"] != o["pt_pages"] + 1:
    sys.exit("FAIL: frames used %d, want the tables (%d) and the zero frame" % (o["frames_used"], o["pt_pages"]))
PY
    out=$("$nf" model --preset zen4 --pattern seq --ws 64M --page 2m --accesses 100000 --json) || die "store run failed"
    [ "$(json_get rss_pages <<<"$out")" = 16384 ] || die "stores in 2 MiB pages: RSS $(json_get rss_pages <<<"$out")"
    ;;
*)
    echo "unknown case $case_" >&2
    exit 2
    ;;
esac
[ $fail -eq 0 ] && echo "ok $case_"
exit $fail
