# plots/compare_time.gp: grouped bars of each allocator's median time per operation over the baseline's
# (glibc, else the first allocator), one group per workload and thread count,
# one bar (series) per allocator.
# gnuplot -e 'datafile="compare_time.dat"; outbase="out/x-compare_time"; host="h"; date="d"; base="glibc"; allocs="glibc jemalloc"' compare_time.gp
# Data (TSV, from compare_extract.sh): "# workload <alloc>..." then label, one ratio per allocator (NaN if absent).
if (!exists("datafile") || !exists("outbase") || !exists("allocs")) { print "compare_time.gp: set datafile, outbase and allocs with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
if (!exists("date")) { date = "unknown date" }
if (!exists("base")) { base = word(allocs, 1) }

set datafile separator "\t"
set datafile missing "NaN"
set termoption noenhanced
n = words(allocs)
stats datafile using (valid(2) ? 1 : 0) name "R" nooutput
if (R_records < 1) { print "compare_time.gp: no rows in ".datafile; exit status 2 }

title = "Time per operation relative to BASE, per workload (median of repetitions)"
ylabel = "time per operation / BASE's (1 = BASE; log scale; lower is faster)"
# BASE in the texts is the baseline's name.
s_base(s) = (strstrt(s, "BASE") ? s[1:strstrt(s, "BASE") - 1].base.s_base(s[strstrt(s, "BASE") + 4:]) : s)
set title sprintf("%s\n%s, %s", s_base(title), host, date)
set ylabel s_base(ylabel)
set xlabel "workload and threads"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set logscale y 2
# Ratios that are all (nearly) equal, one allocator or all at 1, would make
# an empty y range (a gnuplot warning): span at least 1/1.1 to 1.1 of them.
colmax(i, m) = i > n + 1 ? m : colmax(i + 1, valid(i) && column(i) > m ? column(i) : m)
colmin(i, m) = i > n + 1 ? m : colmin(i + 1, valid(i) && column(i) < m ? column(i) : m)
stats datafile using (colmin(2, 1)) name "LO" nooutput
stats datafile using (colmax(2, 1)) name "HI" nooutput
if (HI_max < 1.1 * LO_min) { set yrange [LO_min / 1.1 : HI_max * 1.1] }
set format y "%g"
set grid ytics lc rgb "#dddddd"
set xtics rotate by -30 nomirror
set key outside right top box opaque
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#888888" dt 2 front
array colors[8] = ["#4878a8", "#d08030", "#58a858", "#c84848", "#8868b8", "#a07050", "#d070b0", "#707070"]

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1200,650 noenhanced font "DejaVu Sans,10"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size 1200,650 noenhanced font "DejaVu Sans,10" background rgb "white"; set output outbase.".svg" }
  plot for [i = 1:n] datafile using (column(i + 1)):xtic(1) lc rgb colors[(i - 1) % 8 + 1] title word(allocs, i)
  set output
}
