# plots/fork_latency.gp: fork() latency against resident size, log-log;
# 4 KiB pages and THP as separate lines, fork() call solid, time until the
# child is reaped dashed (each line only if the bench gave that counter).
# gnuplot -e 'datafile="f.dat"; outbase="out/x-fork_latency"; host="h"; date="d"' fork_latency.gp
# Data (TSV, from extract.sh): MiB, fork_ms 4K, reap_ms 4K, fork_ms THP, reap_ms THP (NaN if absent).
if (!exists("datafile") || !exists("outbase")) { print "fork_latency.gp: set datafile and outbase with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
if (!exists("date")) { date = "unknown date" }

set datafile separator "\t"
set datafile missing "NaN"   # skip absent values, so lines join across sizes one kind lacks
set termoption noenhanced
# Count the numbers in each column (NaN is not valid()) to know which lines exist.
# Also find the data's range, to pad it so no point sits on the frame.
array have[5]
ylo = 1e300; yhi = -1e300
do for [c = 2:5] {
  stats datafile using (valid(c) ? 1 : 0) name "C" nooutput
  have[c] = C_sum
  if (have[c] > 0) {
    stats datafile using c name "Y" nooutput
    ylo = (Y_min < ylo ? Y_min : ylo); yhi = (Y_max > yhi ? Y_max : yhi)
  }
}
stats datafile using 1 name "X" nooutput
color(c) = (c <= 3 ? "#4878a8" : "#d08030")
dash(c) = (c % 2 == 0 ? 1 : 2)
title_of(c) = (c == 2 ? "fork() call, 4 KiB pages" : c == 3 ? "until child reaped, 4 KiB pages" : \
               c == 4 ? "fork() call, THP" : "until child reaped, THP")

set title sprintf("fork() latency against resident size (log-log)\n%s, %s", host, date)
set xlabel "resident size of the parent (MiB, log scale)"
set ylabel "latency (ms, log scale)"
set logscale x 2
set logscale y 10
if (yhi > 0) { set yrange [ylo / 1.6 : yhi * 1.6] }
# Label 1-2-5 in each decade, so even a range under one decade has numbers on it.
if (yhi > 0) { do for [d = floor(log10(ylo / 1.6)) : ceil(log10(yhi * 1.6))] { set ytics add (10**d, 2 * 10.0**d, 5 * 10.0**d) } }
set xrange [X_min / 1.3 : X_max * 1.3]
set format x "%g"
set format y "%g"
set grid xtics ytics mytics lc rgb "#dddddd"
set key top left box opaque

plotcmd = ""
do for [c = 2:5] {
  if (have[c] > 0) {
    plotcmd = plotcmd . (strlen(plotcmd) ? ", " : "") . \
      sprintf("datafile using 1:%d with linespoints lw 2 pt 7 dt %d lc rgb '%s' title '%s'", c, dash(c), color(c), title_of(c))
  }
}
if (!strlen(plotcmd)) { print "fork_latency.gp: no fork_ms or reap_ms values in ".datafile; exit status 2 }

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1000,600 noenhanced font "DejaVu Sans,10"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size 1000,600 noenhanced font "DejaVu Sans,10" background rgb "white"; set output outbase.".svg" }
  eval "plot ".plotcmd
  set output
}
