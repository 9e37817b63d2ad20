#!/usr/bin/env bash
# ci/publish.sh [--history DIR] [--run RUN.json [--compare COMPARE.json]]
#               [OUTDIR] [-- notfree run flags]
#
# What a CI job runs to publish this box's figures: the default suite
# (./lab run, with the flags after --), then a self-contained report folder
# OUTDIR (default ./report): index.html, the run's and the comparison's
# JSON, every chart (PNG and SVG), the summary tables, the box.
#   --run/--compare  publish these results files instead of running
#   --history DIR    append this run's headline figures (publish/figures.jq)
#                    to DIR/history.json, keep its files under DIR/runs/,
#                    draw the trend charts, and copy DIR into OUTDIR/history
# The run's files are the ones the run printed ("notfree summary (FILE)",
# "results: FILE"), never guessed from the directory. The commit is
# $NF_PUBLISH_COMMIT, else $GITHUB_SHA, else git's HEAD. NF_PUBLISH_LAB
# names another ./lab (the tests' stand-in for a run).
# Exit: the run's status if it failed; else 1 if a chart or the history
# could not be written (a corrupt history is reported and left untouched),
# 2 bad usage or no results, 0 ok.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "ci/publish.sh: $*" >&2; exit 2; }

hist="" run="" cmp="" out="" runflags=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --history) [[ $# -ge 2 ]] || usage; hist=$2; shift 2 ;;
    --run) [[ $# -ge 2 ]] || usage; run=$2; shift 2 ;;
    --compare) [[ $# -ge 2 ]] || usage; cmp=$2; shift 2 ;;
    --) shift; runflags=("$@"); break ;;
    -h|--help) usage ;;
    -*) echo "ci/publish.sh: unknown flag '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1; shift ;;
  esac
done
[[ -z $cmp || -n $run ]] || die "--compare needs --run"
out=${out:-$here/report}
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)

rc=0
if [[ -z $run ]]; then
  "${NF_PUBLISH_LAB:-$here/lab}" run --results "$here/results" "${runflags[@]}" 2>&1 | tee "$out/run.log"
  rc=${PIPESTATUS[0]}
  run=$(sed -n 's/^notfree summary (\(.*\))$/\1/p' "$out/run.log" | tail -1)
  cmp=$(sed -n 's/^results: \(.*\.json\)$/\1/p' "$out/run.log" | tail -1)
  [[ -n $run ]] || { echo "ci/publish.sh: the run printed no results file (see $out/run.log)" >&2; exit $((rc ? rc : 2)); }
fi
[[ -f $run ]] || die "$run: no such results file"
[[ -z $cmp || -f $cmp ]] || die "$cmp: no such comparison file"
jq -e '.benchmarks | type == "array"' "$run" >/dev/null 2>&1 || die "$run: not a notfree run results file"

status=0
rb=$(basename "$run" .json)
[[ $run -ef $out/$rb.json ]] || cp "$run" "$out/"
if ! bash "$here/plots/render.sh" "$out/$rb.json" "$out" >/dev/null; then
  echo "ci/publish.sh: some run charts could not be drawn" >&2; status=1
fi
ctime=/dev/null
if [[ -n $cmp ]]; then
  cb=$(basename "$cmp" .json)
  [[ $cmp -ef $out/$cb.json ]] || cp "$cmp" "$out/"
  if ! bash "$here/plots/compare_render.sh" "$out/$cb.json" "$out" >/dev/null; then
    echo "ci/publish.sh: some comparison charts could not be drawn" >&2; status=1
  fi
  [[ ! -f $out/$cb-data/compare_time.dat ]] || ctime=$out/$cb-data/compare_time.dat
fi

# The record the history keeps: the run, the box, the headline figures.
commit=${NF_PUBLISH_COMMIT:-${GITHUB_SHA:-$(git -C "$here" rev-parse HEAD 2>/dev/null || echo unknown)}}
url=""
[[ -z ${GITHUB_SERVER_URL:-} || -z ${GITHUB_REPOSITORY:-} ]] || url="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/commit/$commit"
jq -n -L "$here/publish" --slurpfile run "$out/$rb.json" --rawfile ctime "$ctime" -f "$here/publish/figures.jq" \
  >"$out/figures.json" || die "cannot read the headline figures of $run"
jq --slurpfile f "$out/figures.json" --arg id "$rb" --arg commit "$commit" --arg url "$url" \
   --arg published "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
  .context as $c | ($c.notfree // {}) as $n
  | {run_id: $id, date: ($c.date // "unknown"), published: $published, commit: $commit,
     commit_url: (if $url == "" then null else $url end),
     box_key: "\($n.cpu_model // "unknown CPU") / \($n.kernel_release // "unknown kernel") / \($n.hypervisor // "no hypervisor") / THP \($n.thp_mode // "unknown")",
     figures: $f[0]}' "$out/$rb.json" >"$out/record.json"
rm -f "$out/figures.json" "$out/history-warning.txt" "$out/trend.tsv"

if [[ -n $hist ]]; then
  files=("$out/$rb.json"); [[ -z $cmp ]] || files+=("$out/$cb.json")
  if err=$(bash "$here/publish/history.sh" "$hist" "$out/record.json" "${files[@]}" 2>&1 >/dev/null); then
    rm -rf "$out/history"
    cp -r "$hist" "$out/history"
    if ! bash "$here/publish/trend.sh" "$out/history/history.json" "$out" >"$out/trend.tsv"; then
      echo "ci/publish.sh: the trend charts could not be drawn" >&2; status=1
    fi
  else
    echo "ci/publish.sh: $err" >&2
    echo "History not updated: ${err#history: }" >"$out/history-warning.txt"
    status=1
  fi
fi

bash "$here/publish/page.sh" "$out" "$out/record.json" "$out/$rb.json" ${cmp:+"$out/$cb.json"} ||
  die "cannot write $out/index.html"
echo "ci/publish.sh: report in $out/index.html"
exit $((rc ? rc : status))
