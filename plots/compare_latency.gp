# plots/compare_latency.gp: the latency of single malloc and free calls as a
# CDF, one line per allocator, one panel per workload and thread count. x:
# the call's time in ns (log); y: the fraction of calls at or below it, on a
# scale of nines (50%, 90%, 99%, 99.9%, 99.99%), so the tail a median hides
# gets most of the height.
# gnuplot -e 'datafile="compare_latency.dat"; outbase="out/x-compare_latency"; host="h"; date="d"; allocs="glibc jemalloc"; panels="sawtooth(t=1) trim(t=1)"' compare_latency.gp
# Data (TSV, from compare_extract.sh): rows "panel allocator ns fraction", the
# summary's CDF (compare/latency.c): the top of each non-empty histogram bucket
# and the fraction of sampled calls at or below it; cells of 100 samples or
# more (compare_extract.sh). With fewer than 10,000 samples, p99.99 is the max.
if (!exists("datafile") || !exists("outbase") || !exists("allocs") || !exists("panels")) { print "compare_latency.gp: set datafile, outbase, allocs and panels with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
if (!exists("date")) { date = "unknown date" }

set datafile separator "\t"
set termoption noenhanced
n = words(allocs)
np = words(panels)
if (np < 1) { print "compare_latency.gp: no panels"; exit status 2 }
cols = (np < 3 ? np : 3)
rows = int((np + cols - 1) / cols)
array colors[8] = ["#4878a8", "#d08030", "#58a858", "#c84848", "#8868b8", "#a07050", "#d070b0", "#707070"]
# Nines: -log10(1 - F), the last point (F = 1) drawn at 5 (labelled max).
nines(f) = (f >= 0.99999 ? 5 : -log10(1 - f))

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 420 * cols + 120, 300 * rows + 110 noenhanced font "DejaVu Sans,9"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size 420 * cols + 120, 300 * rows + 110 noenhanced font "DejaVu Sans,9" background rgb "white"; set output outbase.".svg" }
  set multiplot layout rows, cols title sprintf("Latency of single malloc and free calls (sampled; TSC timing), CDF\n%s, %s", host, date)
  set grid xtics ytics lc rgb "#dddddd"
  set xlabel "call time (ns, log scale)"
  set ylabel "calls at or below"
  set logscale x 10
  set format x "%.0s%c"
  set yrange [0:5.2]
  set ytics ("0%%" 0, "50%%" 0.30103, "90%%" 1, "99%%" 2, "99.9%%" 3, "99.99%%" 4, "max" 5)
  do for [p = 1:np] {
    set title word(panels, p)
    if (p == 1) { set key bottom right box opaque font ",8" } else { unset key }
    plot for [i = 1:n] datafile using ((int($1) == p && int($2) == i) ? $3 : 1/0):(nines($4)) with steps lw 1.5 lc rgb colors[(i - 1) % 8 + 1] title word(allocs, i)
  }
  unset multiplot
  set output
}
