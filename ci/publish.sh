#!/usr/bin/env bash
# ci/publish.sh [OUTDIR]: what a CI job runs to publish this box's figures:
# the default suite (./lab run), then a self-contained report folder with
# the results JSON, every chart, the summary table and the box's context.
# OUTDIR defaults to ./report. Exit status: that of the run; the report is
# still written from whatever results the run left.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/report}"
mkdir -p "$out"
before="$(ls -1 "$here"/results/*.json 2>/dev/null | sort)"

"$here/lab" run --results "$here/results" 2>&1 | tee "$out/run.log"
rc=${PIPESTATUS[0]}

json="$(comm -13 <(echo "$before") <(ls -1 "$here"/results/*.json 2>/dev/null | sort) | tail -1)"
if [ -z "$json" ]; then
  echo "ci/publish.sh: the run wrote no results" >&2
  exit "${rc:-1}"
fi
base="$(basename "$json" .json)"
cp "$json" "$out/"
cp "$here/results/$base"-*.png "$here/results/$base"-*.svg "$out/" 2>/dev/null || true

{
  echo "<!doctype html><meta charset=utf-8><title>notfree: $base</title>"
  echo "<h1>notfree results: $base</h1>"
  echo "<p>Results JSON: <a href=\"$base.json\">$base.json</a></p>"
  for img in "$out/$base"-*.svg; do
    [ -e "$img" ] || continue
    echo "<p><img src=\"$(basename "$img")\" width=1000></p>"
  done
  echo "<h2>Summary</h2><pre>"
  sed -n '/^notfree summary/,$p' "$out/run.log" | sed 's/&/\&amp;/g; s/</\&lt;/g'
  echo "</pre><h2>Box</h2><pre>"
  jq '.context' "$json" | sed 's/&/\&amp;/g; s/</\&lt;/g'
  echo "</pre>"
} >"$out/index.html"
echo "ci/publish.sh: report in $out/index.html"
exit "$rc"
