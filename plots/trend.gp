# plots/trend.gp: headline figures over the published runs of one box,
# each over its first value (1.0), one line per figure (publish/trend.sh).
# gnuplot -e 'datafile="t.dat"; outbase="out/trend-0"; box="key"; labels="a|b|..."' trend.gp
# Data (TSV): commit label, then one column per figure (NaN where absent).
if (!exists("datafile") || !exists("outbase")) { print "trend.gp: set datafile and outbase with -e"; exit status 2 }
if (!exists("box")) { box = "unknown box" }
if (!exists("labels")) { labels = "" }

set datafile separator "\t"
set termoption noenhanced
stats datafile using 0 name "R" nooutput
# Labels are "|"-separated; count them.
nl = 1
do for [i = 1:strlen(labels)] { if (labels[i:i] eq "|") { nl = nl + 1 } }
_lab(s, n) = (n <= 1 ? (strstrt(s, "|") ? s[1:strstrt(s, "|") - 1] : s) : _lab(s[strstrt(s, "|") + 1:], n - 1))
label(n) = _lab(labels, n)

set title sprintf("Headline figures over the published runs\n%s", box)
set ylabel "over the first run (1.0)"
set xlabel "commit (published run)"
set xtics rotate by -30 left nomirror
set ytics nomirror
set grid ytics lc rgb "#dddddd"
set key outside right top
set bmargin 7
set xrange [-0.3:R_records - 0.7]
set style line 100 lc rgb "#888888" dt 2

plotcmd = "1 with lines ls 100 notitle"
do for [c = 2:nl + 1] {
  plotcmd = plotcmd . sprintf(", datafile using 0:%d:xtic(1) with linespoints lw 2 pt %d dt %d ps 0.8 title label(%d)", c, (c > 9 ? 5 : 7), (c > 9 ? 2 : 1), c - 1)
}

set terminal pngcairo size 1100,520 noenhanced font "DejaVu Sans,10"
set output outbase.".png"
eval "plot ".plotcmd
set terminal svg size 1100,520 noenhanced font "DejaVu Sans,10" background rgb "white"
set output outbase.".svg"
eval "plot ".plotcmd
