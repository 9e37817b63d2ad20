#!/usr/bin/env bash
# publish/page.sh OUTDIR RECORD.json RUN.json [COMPARE.json]
#
# Writes OUTDIR/index.html from what ci/publish.sh put in OUTDIR: the
# run's and the comparison's JSON, their charts (<base>-<chart>.svg/.png),
# the comparison's chart data (<compare base>-data/*.dat), the trend
# charts (trend.tsv from publish/trend.sh) and history/history.json. Every
# figure on the page is read from those files (the headline figures from
# RECORD.json, publish/figures.jq); none is computed here. Links are
# relative: the folder is a self-contained static site.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $# -ge 3 ]] || { echo "usage: page.sh OUTDIR RECORD.json RUN.json [COMPARE.json]" >&2; exit 2; }
out=$1 rec=$2 run=$3 cmp=${4:-}
rb=$(basename "$run" .json)
cb=${cmp:+$(basename "$cmp" .json)}
h() { jq -Rr @html <<<"$1"; }

# One chart: the SVG shown, both formats linked, what to read from it.
chart() {   # file-base title caption [class]
  [[ -f $out/$1.svg ]] || return 0
  cat <<HTML
<figure class="chart ${4:-}" id="$1"><a href="$1.svg"><img src="$1.svg" alt="$(h "$2")" loading=eager></a>
<figcaption><b>$(h "$2").</b> $3 <span class=fmt><a href="$1.png">PNG</a> · <a href="$1.svg">SVG</a></span></figcaption></figure>
HTML
}

# A comparison .dat (first line "# key alloc ..."): an HTML table.
dat_table() {   # file caption unit
  [[ -f $1 ]] || return 0
  echo "<table class=sortable><caption>$2</caption>"
  jq -Rr --arg unit "$3" 'split("\t") as $c
    | if input_line_number == 1 then "<thead><tr>" + ($c | to_entries | map(if .key == 0 then "<th>workload, threads</th>" else "<th class=num>\(.value | @html)</th>" end) | join("")) + "</tr></thead><tbody>"
      else "<tr>" + ($c | to_entries | map(if .key == 0 then "<td>\(.value | @html)</td>"
           elif .value == "NaN" then "<td class=\"num na\" data-v=\"\">n/a</td>"
           else (.value | tonumber) as $v | "<td class=\"num \(if $v < 0.95 then "lo" elif $v > 1.05 then "hi" else "" end)\" data-v=\"\($v)\">\($v * 100 | round / 100) \($unit)</td>" end) | join("")) + "</tr>" end' "$1"
  echo "</tbody></table>"
}

{
cat <<HTML
<!doctype html>
<html lang=en>
<head>
<meta charset=utf-8>
<meta name=viewport content="width=device-width, initial-scale=1">
<title>notfree report: $(h "$rb")</title>
<style>
:root { --ink: #1d2330; --mute: #5b6475; --line: #e3e6ec; --accent: #0a7d6b; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 "DejaVu Sans", system-ui, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #17202e; color: #fff; padding: 28px 40px 22px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header h1 span { color: #6fd6c3; }
header p { margin: 0; color: #c5cbd6; }
header a { color: #9fe3d6; }
nav { background: #fff; border-bottom: 1px solid var(--line); padding: 8px 40px; position: sticky; top: 0; z-index: 1; }
nav a { margin-right: 18px; color: var(--mute); text-decoration: none; font-size: 14px; }
nav a:hover { color: var(--accent); }
main { max-width: 1400px; margin: 0 auto; padding: 8px 40px 60px; }
h2 { margin: 36px 0 12px; font-size: 20px; border-bottom: 2px solid var(--accent); display: inline-block; padding-bottom: 2px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .k { color: var(--mute); font-size: 13px; }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .v small { font-size: 13px; font-weight: 400; color: var(--mute); }
.card .s { font-size: 12px; color: var(--mute); overflow-wrap: anywhere; }
.card.na .v { font-size: 15px; color: #a05a00; }
dl.box { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin: 0; }
dl.box dt { color: var(--mute); }
dl.box dd { margin: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr)); gap: 16px; }
figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
figure.chart.wide { grid-column: 1 / -1; }
.scroll { overflow-x: auto; }
td.box { font-size: 12px; color: var(--mute); min-width: 210px; }
th.num { white-space: normal !important; min-width: 80px; }
figure.chart img { width: 100%; height: auto; display: block; }
figcaption { font-size: 13.5px; color: var(--mute); padding: 6px 4px 0; }
figcaption b { color: var(--ink); }
.fmt { white-space: nowrap; margin-left: 6px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); margin: 8px 0 18px; font-size: 13.5px; width: 100%; }
caption { text-align: left; color: var(--mute); padding: 4px 0; caption-side: top; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; text-align: left; }
th { background: #eef1f5; cursor: pointer; user-select: none; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.lo { color: #0a7d6b; } td.hi { color: #b23b1e; } td.na { color: #a05a00; }
td.name { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.fig { display: inline-block; margin: 0 12px 2px 0; white-space: nowrap; }
.fk { color: var(--mute); } .fv { font-variant-numeric: tabular-nums; }
.src { font-size: 11px; padding: 0 5px; border-radius: 8px; background: #e8ecf2; color: #3d4656; }
.src-rusage, .src-perf, .src-proc { background: #e2f3ef; color: #0a5d50; }
.src-model { background: #f3ebe2; color: #7a4a12; }
.note { color: var(--mute); font-size: 13.5px; }
.warn { background: #fff4e0; border: 1px solid #f0c27a; padding: 8px 12px; border-radius: 6px; }
a { color: var(--accent); }
</style>
</head>
<body>
HTML

jq -r --slurpfile rec "$rec" --arg rb "$rb" '
  $rec[0] as $r | .context as $c
  | "<header><h1><span>notfree</span> report &mdash; \($c.host_name // "unknown host" | @html)</h1>"
  + "<p>run \($rb | @html) · \($c.date // "unknown date" | @html) · commit "
  + (if $r.commit_url then "<a href=\"\($r.commit_url | @html)\"><code>\($r.commit[0:12] | @html)</code></a>"
     else "<code>\($r.commit[0:12] | @html)</code>" end)
  + " · published \($r.published | @html)</p></header>"' "$run"

cat <<HTML
<nav><a href="#figures">Headline figures</a><a href="#box">The box</a><a href="#run">Run charts</a>${cb:+<a href=\"#compare\">Allocator comparison</a>}<a href="#summary">Summary table</a><a href="#history">History</a><a href="#files">Raw files</a></nav>
<main>
HTML

[[ ! -f $out/history-warning.txt ]] || echo "<p class=warn>$(h "$(cat "$out/history-warning.txt")")</p>"

echo '<section id=figures><h2>Headline figures</h2>'
echo '<p class=note>The figures the history follows from run to run; each names the bench it is read from. Ratios are time per operation, below 1 is faster.</p><div class=cards>'
jq -r '.figures | to_entries[] | .value as $f
  | def num: if . >= 100 then (round | tostring) elif . >= 10 then ((. * 10 | round) / 10 | tostring) else ((. * 1000 | round) / 1000 | tostring) end;
  if $f.value == null then "<div class=\"card na\" title=\"\($f.why | @html)\"><div class=k>\($f.label | @html)</div><div class=v>unavailable</div><div class=s>\($f.why | @html)</div></div>"
  else "<div class=card title=\"\($f.from | @html)\"><div class=k>\($f.label | @html)</div><div class=v>\($f.value | num) <small>\($f.unit | @html)</small></div><div class=s>\($f.source | @html) · \($f.from | @html)</div></div>" end' "$rec"
echo '</div></section>'

echo '<section id=box><h2>The box</h2><dl class=box>'
jq -r '.context as $c | ($c.notfree // {}) as $n
  | def kib: if . >= 1048576 then "\(. / 1048576 * 10 | round / 10) GiB" elif . >= 1024 then "\(. / 1024 * 10 | round / 10) MiB" else "\(.) KiB" end;
  def row($k; $v): "<dt>\($k)</dt><dd>\($v | tostring | @html)</dd>";
  row("CPU"; "\($n.cpu_model // "unknown") (\($c.num_cpus // "?") PUs, \($c.mhz_per_cpu // "?") MHz)"),
  row("kernel"; $n.kernel_release // "unknown"),
  row("hypervisor"; $n.hypervisor // "none detected"),
  row("THP"; "enabled: \($n.thp_mode // "unknown"), defrag: \($n.thp_defrag // "unknown")"),
  row("overcommit"; ($n.overcommit_mode | if . == 0 then "0 (heuristic)" elif . == 1 then "1 (always)" elif . == 2 then "2 (never)" else "unknown" end)),
  row("swap"; ($n.swap_total_kib | if . == null then "unknown" elif . == 0 then "none" else kib end)),
  row("PMU"; (if ($n.counters_available // []) | index(["perf_cycles"]) then "available (cycles, instructions, dTLB events)"
              else "unavailable: \($n.unavailable["counter:perf_cycles"] // "no hardware counter in the results")" end)),
  row("topology"; ($n.topology // null) as $t | if $t == null then "unknown (no hwloc topology in the results)" else
       "\($t.packages) package(s), \($t.cores) cores, \($t.pus) PUs, \($t.numa_nodes) NUMA node(s); "
       + ([$t.caches[]? | select(.type != "instruction") | "L\(.level) \(.size_kib | kib) x\(.count)"] | join(", "))
       + "; pages \([$t.page_sizes_kib[]? | kib] | join(", "))" end),
  row("TLB"; ($n.tlb // null) as $t | if $t == null then "unknown" else
       ([$t.levels[]? | select(.kind == "data") | "\(.name) \(.entries) x \(.page_kib | kib)"] | join(", ")) + " (\($t.source))" end),
  row("pinning"; $n.pinning // "unknown"),
  row("load average"; ($c.load_avg // []) | map(. * 100 | round / 100) | join(", "))' "$run"
echo '</dl></section>'

echo '<section id=run><h2>Run charts</h2><div class=charts>'
chart "$rb-fault_cost" "Page-fault cost per page, by mode" "What the first access to a page costs in each way of mapping it; the bars above the dashed zero-fill floor are the kernel's share (the fault, the page-table entry, the accounting)."
chart "$rb-fork_latency" "fork() latency against resident size" "How long fork() takes, and until the child is reaped, as the parent's resident memory grows; on these log axes a slope of one means fork copies page tables in proportion to memory, and THP lines sit lower because one entry maps 2 MiB."
chart "$rb-cow_cost" "Copy-on-write cost per page" "The first write to each shared page after fork, in the child and in the parent: one fault and one page copy per page."
chart "$rb-tlb_chase" "TLB pointer chase" "Nanoseconds per access touching one cache line per page, against working set: the knees are where a TLB level runs out, the vertical lines where the kernel model predicts them."
echo '</div></section>'

if [[ -n $cb ]]; then
  echo '<section id=compare><h2>Allocator comparison</h2><div class=charts>'
  chart "$cb-compare_time" "Time per operation, over glibc" "Each allocator preloaded in its own process; below 1.00 is faster than glibc on that workload and thread count."
  chart "$cb-compare_rss" "Peak RSS, over glibc" "The resident memory each allocator needed at its peak; below 1.00 uses less than glibc."
  chart "$cb-compare_threads" "Thread scaling" "Million operations per second against threads: a line that rises scales, a flat one serializes."
  echo '</div>'
  dat_table "$out/$cb-data/compare_time.dat" "Time per operation over glibc's (median over repetitions; lower is faster). Source: timing, notfree compare." "x"
  dat_table "$out/$cb-data/compare_rss.dat" "Peak RSS over glibc's (median over repetitions; lower is smaller). Source: proc (the worker's VmHWM)." "x"
  echo '</section>'
fi

echo '<section id=summary><h2>Summary table</h2>'
echo '<p class=note>One row per bench: the median over repetitions where they ran (<sup>*</sup>), else the run. Each figure names its source: timing (clock time), rusage (getrusage), perf (perf software events), proc (/proc/self), model (the kernel model). Click a heading to sort.</p>'
echo '<table class=sortable><thead><tr><th>bench</th><th class=num>time per iteration</th><th>figures [source]</th></tr></thead><tbody>'
jq -r -L "$here" -f "$here/table.jq" "$run"
echo '</tbody></table></section>'

echo '<section id=history><h2>History</h2>'
if [[ -f $out/history/history.json ]]; then
  echo '<p class=note>Every published run this history keeps (newest first), with its headline figures and its results files. Trend charts: each figure over its first value on the box.</p><div class=charts>'
  if [[ -f $out/trend.tsv ]]; then
    while IFS=$'\t' read -r tb key n; do
      chart "$tb" "Trend on $key" "$n published runs of this box; a line above 1.0 is a figure that grew (slower for times and time ratios, faster for the model's replay speeds)." wide
    done <"$out/trend.tsv"
  fi
  echo '</div>'
  jq -r '.records as $rs | ($rs[-1].figures | keys_unsorted) as $n
    | "<div class=scroll><table class=sortable><thead><tr><th>#</th><th>date</th><th>commit</th><th>box</th>"
      + ($n | map("<th class=num>\($rs[-1].figures[.].label | @html)<br><small>\($rs[-1].figures[.].unit | @html)</small></th>") | join(""))
      + "<th>files</th></tr></thead><tbody>",
      ($rs | to_entries | reverse[] | .key as $i | .value as $r
       | "<tr><td class=num data-v=\"\($i + 1)\">\($i + 1)</td><td>\($r.date[0:16] | sub("T"; " ") | @html)</td><td><code>\($r.commit[0:10] | @html)</code></td><td class=box>\($r.box_key | @html)</td>"
         + ($n | map($r.figures[.].value as $v | if $v == null then "<td class=\"num na\" data-v=\"\">n/a</td>"
                     else "<td class=num data-v=\"\($v)\">\(if $v >= 100 then ($v | round) else ($v * 1000 | round / 1000) end)</td>" end) | join(""))
         + "<td>" + ($r.files | map("<a href=\"history/\(. | @html)\">\(split("/") | last | @html)</a>") | join("<br>")) + "</td></tr>"),
      "</tbody></table></div>",
      "<p class=note>The whole history: <a href=\"history/history.json\">history.json</a>.</p>"' "$out/history/history.json"
else
  echo '<p class=note>No history: this report was published without <code>--history DIR</code>.</p>'
fi
echo '</section>'

echo '<section id=files><h2>Raw files</h2><ul>'
echo "<li><a href=\"$rb.json\">$rb.json</a>: the run, Google Benchmark's JSON with notfree's context</li>"
[[ -z $cb ]] || echo "<li><a href=\"$cb.json\">$cb.json</a>: the allocator comparison, <code>{context, runs}</code></li>"
[[ ! -f $out/run.log ]] || echo '<li><a href="run.log">run.log</a>: what the run printed</li>'
echo '<li><a href="record.json">record.json</a>: this run&rsquo;s headline figures, as the history keeps them</li>'
echo '</ul></section></main>'

cat <<'HTML'
<script>
// Click a table heading to sort by that column (numbers by data-v).
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var asc = th.dataset.dir !== "asc";
    th.dataset.dir = asc ? "asc" : "desc";
    var key = function (tr) {
      var td = tr.cells[col]; if (!td) return "";
      var v = td.dataset.v; return v !== undefined && v !== "" ? parseFloat(v) : td.textContent;
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return asc ? c : -c;
    }).forEach(function (tr) { body.appendChild(tr); });
  });
});
</script>
</body>
</html>
HTML
} >"$out/index.html"
