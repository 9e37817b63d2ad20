# tests/smoke/lib.sh: sourced by each smoke test (NOTFREE path in $1).
# run FILTER: runs the real notfree binary on the benches matching FILTER,
# briefly, JSON to $tmp/out.json; a non-zero exit fails the test.
set -euo pipefail
notfree="$1"
name="$(basename "$0" .sh)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
export MALLOC_PERTURB_=0 NOTFREE_FULL=0

fail() { echo "FAIL [$name]: $*" >&2; exit 1; }
run() {
  "$notfree" bench --benchmark_filter="$1" --benchmark_format=json \
    --benchmark_min_time=0.05 >"$tmp/out.json" 2>"$tmp/err" ||
    fail "notfree bench '$1' exited non-zero: $(tail -5 "$tmp/err")"
  [ "$(jq '.benchmarks | length' "$tmp/out.json")" -gt 0 ] || fail "no bench matched '$1'"
}
# field BENCH_PREFIX KEY: the counter of the first bench whose name starts with it ("null" if absent)
field() { jq -r --arg p "$1" --arg k "$2" \
  '[.benchmarks[] | select(.name | startswith($p))][0][$k] // "null"' "$tmp/out.json"; }
# within BENCH_PREFIX KEY LO HI: the counter must exist and lie in [LO, HI]
within() {
  local v; v="$(field "$1" "$2")"
  [ "$v" != "null" ] || fail "$1: counter $2 missing"
  jq -en --argjson v "$v" --argjson lo "$3" --argjson hi "$4" '$v >= $lo and $v <= $hi' >/dev/null ||
    fail "$1: $2 = $v, want within [$3, $4]"
  echo "ok: $1 $2 = $v in [$3, $4]"
}
# within_if_present: the same, but an absent counter (unavailable here) passes
within_if_present() {
  if [ "$(field "$1" "$2")" = "null" ]; then echo "skip: $1 $2 unavailable here"; return 0; fi
  within "$@"
}
# unavailable NAME: the reason the context gives for NAME, or empty
unavailable() { jq -r --arg n "$1" '.context.notfree.unavailable[$n] // empty' "$tmp/out.json"; }
