# tests/common/model_cli.sh: what the `notfree model` CLI tests share
# (tests/tlb/cli_test.sh, tests/model/cli_alloc_test.sh); sourced, with
# $nf the notfree binary and fail=0 set first.
die() { echo "FAIL: $*" >&2; fail=1; }

# expect_err "what" needle args...: `notfree model args...` exits 2 with
# one line of stderr that contains needle.
expect_err() {
    local what=$1 needle=$2; shift 2
    local out rc
    out=$("$nf" model "$@" 2>&1); rc=$?
    [ $rc -eq 2 ] || die "$what: exit $rc, want 2 ($out)"
    [ "$(wc -l <<<"$out")" -eq 1 ] || die "$what: not one line: $out"
    grep -qi -- "$needle" <<<"$out" || die "$what: message lacks '$needle': $out"
}
