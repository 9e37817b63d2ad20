# plots/compare_timeline.gp: RSS over normalized run time, one line per
# allocator, one panel per workload and thread count: how memory evolves
# during a run (a program that peaks once and one that sits at its peak
# have the same peak RSS, not the same line).
# gnuplot -e 'datafile="compare_timeline.dat"; outbase="out/x-compare_timeline"; host="h"; date="d"; allocs="glibc jemalloc"; panels="sawtooth(t=1) trim(t=1)"' compare_timeline.gp
# Data (TSV, from compare_extract.sh): rows "panel allocator t rss_kib", panel
# and allocator 1-based indexes into panels and allocs, t the run time
# normalized to the workload's window (0 its start, 1 its last round's end).
if (!exists("datafile") || !exists("outbase") || !exists("allocs") || !exists("panels")) { print "compare_timeline.gp: set datafile, outbase, allocs and panels with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
if (!exists("date")) { date = "unknown date" }

set datafile separator "\t"
set termoption noenhanced
n = words(allocs)
np = words(panels)
if (np < 1) { print "compare_timeline.gp: no panels"; exit status 2 }
cols = (np < 3 ? np : 3)
rows = int((np + cols - 1) / cols)
array colors[8] = ["#4878a8", "#d08030", "#58a858", "#c84848", "#8868b8", "#a07050", "#d070b0", "#707070"]

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 420 * cols + 120, 300 * rows + 110 noenhanced font "DejaVu Sans,9"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size 420 * cols + 120, 300 * rows + 110 noenhanced font "DejaVu Sans,9" background rgb "white"; set output outbase.".svg" }
  set multiplot layout rows, cols title sprintf("RSS over the run (the worker's /proc/<pid>/statm, sampled by the parent)\n%s, %s", host, date)
  set grid xtics ytics lc rgb "#dddddd"
  set xlabel "run time (0 = workload start, 1 = its last round's end)"
  set ylabel "RSS (MiB)"
  set xrange [0:1]
  set yrange [0:*]
  do for [p = 1:np] {
    set title word(panels, p)
    if (p == 1) { set key top left box opaque font ",8" } else { unset key }
    plot for [i = 1:n] datafile using ((int($1) == p && int($2) == i) ? $3 : 1/0):($4 / 1024.0) with lines lw 1.5 lc rgb colors[(i - 1) % 8 + 1] title word(allocs, i)
  }
  unset multiplot
  set output
}
