# plots/compare_threads.gp: thread scaling: median operations per second
# against threads, one line (series) per allocator, one panel per workload.
# gnuplot -e 'datafile="compare_threads.dat"; outbase="out/x-compare_threads"; host="h"; date="d"; allocs="glibc jemalloc"; workloads="small-churn trim"' compare_threads.gp
# Data (TSV, from compare_extract.sh): one block per workload (two blank
# lines apart, in the order of `workloads`): threads, Mops/s per allocator (NaN if absent).
if (!exists("datafile") || !exists("outbase") || !exists("allocs") || !exists("workloads")) { print "compare_threads.gp: set datafile, outbase, allocs and workloads with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
if (!exists("date")) { date = "unknown date" }

set datafile separator "\t"
set datafile missing "NaN"
set termoption noenhanced
n = words(allocs)
nw = words(workloads)
if (nw < 1) { print "compare_threads.gp: no workloads"; exit status 2 }
cols = (nw < 4 ? nw : 4)
rows = int((nw + cols - 1) / cols)
array colors[8] = ["#4878a8", "#d08030", "#58a858", "#c84848", "#8868b8", "#a07050", "#d070b0", "#707070"]

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 360 * cols + 120, 300 * rows + 110 noenhanced font "DejaVu Sans,9"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size 360 * cols + 120, 300 * rows + 110 noenhanced font "DejaVu Sans,9" background rgb "white"; set output outbase.".svg" }
  set multiplot layout rows, cols title sprintf("Thread scaling: median operations per second (one op = one malloc, free or realloc call)\n%s, %s", host, date)
  set grid xtics ytics lc rgb "#dddddd"
  set xlabel "threads"
  set ylabel "million ops per second"
  set yrange [0:*]
  set offsets 0.2, 0.2, 0, 0
  set xtics 1
  do for [w = 1:nw] {
    set title word(workloads, w)
    if (w == 1) { set key top left box opaque font ",8" } else { unset key }
    plot for [i = 1:n] datafile index (w - 1) using 1:(column(i + 1)) with linespoints lw 2 pt 7 ps 0.7 lc rgb colors[(i - 1) % 8 + 1] title word(allocs, i)
  }
  unset multiplot
  set output
}
