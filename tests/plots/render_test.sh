#!/usr/bin/env bash
# tests/plots/render_test.sh SOURCE_ROOT
# Renders the fixture tests/plots/sample.json into a temp dir and checks that
# every chart exists as PNG and SVG: non-empty, PNG magic bytes, and the SVG
# carries its title and the fixture's host name.
set -euo pipefail

root=${1:?usage: render_test.sh SOURCE_ROOT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$root/plots/render.sh" "$root/tests/plots/sample.json" "$tmp" >"$tmp/written.txt" ||
  fail "render.sh exited $?"

host=fixture-host   # context.host_name in sample.json
declare -A titles=(
  [fault_cost]="Page-fault cost per 4 KiB page, by mode"
  [fork_latency]="fork() latency against resident size"
  [cow_cost]="Copy-on-write cost per 4 KiB page after fork()"
)
for chart in "${!titles[@]}"; do
  png=$tmp/sample-$chart.png svg=$tmp/sample-$chart.svg
  for f in "$png" "$svg"; do
    [[ -s $f ]] || fail "$f missing or empty"
    grep -qxF "$f" "$tmp/written.txt" || fail "render.sh did not print $f"
  done
  [[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png: not a PNG"
  grep -qF "${titles[$chart]}" "$svg" || fail "$svg: title '${titles[$chart]}' not found"
  grep -qF "$host" "$svg" || fail "$svg: host '$host' not found"
  echo "ok: $chart (png $(stat -c %s "$png") B, svg $(stat -c %s "$svg") B)"
done

# Unusable input must fail with exit 2, not draw anything.
echo '{not json' >"$tmp/bad.json"
rc=0; bash "$root/plots/render.sh" "$tmp/bad.json" "$tmp/bad" 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "invalid JSON: expected exit 2, got $rc"
echo "ok: invalid JSON rejected (exit 2)"
