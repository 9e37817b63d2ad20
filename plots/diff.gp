# plots/diff.gp: `notfree diff --chart`: one horizontal bar per judged row and
# metric, its change in percent of the old median, the Hodges-Lehmann
# interval as an error bar, colored by verdict, the threshold as dashed lines.
# gnuplot -e 'datafile="d.tsv"; outfile="diff.png"; fmt="png"; threshold=5; title="old -> new"' diff.gp
# Data (TSV, written by regress/report_chart.c, which computed every figure):
#   index  label  change_pct  ci_lo_pct  ci_hi_pct  class (0 same, 1 worse, 2 better, 3 inconclusive)
if (!exists("datafile") || !exists("outfile") || !exists("fmt")) { print "diff.gp: set datafile, outfile and fmt with -e"; exit status 2 }
if (!exists("threshold")) { threshold = 5 }
if (!exists("title")) { title = "notfree diff" }

set datafile separator "\t"
set datafile missing "NaN"
set termoption noenhanced
stats datafile using 1 name "R" nooutput
n = R_records
h = 140 + 24 * n
if (fmt eq "png") { set terminal pngcairo size 1100, h noenhanced font "DejaVu Sans,9"; set output outfile }
if (fmt eq "svg") { set terminal svg size 1100, h noenhanced font "DejaVu Sans,9" background rgb "white"; set output outfile }

color(c) = (c == 1 ? 0xd62728 : c == 2 ? 0x2ca02c : c == 3 ? 0xaaaaaa : 0x1f77b4)
set title title."\nred: regression, green: improvement, blue: same, grey: inconclusive; dashed: the threshold"
set xlabel "change of the median, % of old (bar: Hodges-Lehmann interval)"
set yrange [-0.7 : n - 0.3]
set ytics nomirror
set grid xtics
set key off
set style fill solid 0.8 border rgb "#333333"
set arrow 1 from threshold, graph 0 to threshold, graph 1 nohead dt 2 lc rgb "#d62728"
set arrow 2 from -threshold, graph 0 to -threshold, graph 1 nohead dt 2 lc rgb "#2ca02c"
set arrow 3 from 0, graph 0 to 0, graph 1 nohead lc rgb "#333333"
plot datafile using (($3) / 2):1:(($3) < 0 ? ($3) : 0):(($3) < 0 ? 0 : ($3)):($1 - 0.35):($1 + 0.35):(color($6)):ytic(2) \
       with boxxyerror lc rgb variable, \
     datafile using 3:1:4:5 with xerrorbars lc rgb "#000000" pt 7 ps 0.4
