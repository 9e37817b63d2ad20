# plots/cow_cost.gp: copy-on-write cost, ns per 4 KiB page for the first
# write after fork(), by the child and by the parent, bars by resident size.
# gnuplot -e 'datafile="f.dat"; outbase="out/x-cow_cost"; host="h"; date="d"' cow_cost.gp
# Data (TSV, from extract.sh): MiB, child ns_per_page, parent ns_per_page (NaN if absent).
if (!exists("datafile") || !exists("outbase")) { print "cow_cost.gp: set datafile and outbase with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
if (!exists("date")) { date = "unknown date" }

set datafile separator "\t"
set termoption noenhanced
# Largest bar (NaN is not valid()), for headroom above the bars and labels.
stats datafile using (valid(2) ? column(2) : 0) name "C" nooutput
stats datafile using (valid(3) ? column(3) : 0) name "P" nooutput
ymax = (C_max > P_max ? C_max : P_max)
n = C_records

set title sprintf("Copy-on-write cost per 4 KiB page after fork()\n%s, %s", host, date)
set ylabel "ns per 4 KiB page (first write after fork)"
set xlabel "resident size written after fork (MiB)"
set xrange [-0.6:n - 0.4]
set yrange [0:(ymax > 0 ? ymax : 1) * 1.3]
set xtics nomirror scale 0
set ytics nomirror
set grid ytics lc rgb "#dddddd"
set style fill solid 0.85 border lc rgb "#333333"
set boxwidth 0.38
set key inside top right box opaque
w = 0.2   # each bar's offset from its size's tic

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1000,600 noenhanced font "DejaVu Sans,10"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size 1000,600 noenhanced font "DejaVu Sans,10" background rgb "white"; set output outbase.".svg" }
  # the first series (no points: y is NaN) only places one tic label per size at x = $0
  plot datafile using 0:(NaN):xtic(sprintf("%d MiB", $1)) with points notitle, \
       "" using ($0 - w):2 with boxes lc rgb "#4878a8" title "child writes", \
       "" using ($0 + w):3 with boxes lc rgb "#d08030" title "parent writes", \
       "" using ($0 - w):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 notitle, \
       "" using ($0 + w):3:(sprintf("%.0f", $3)) with labels offset 0,0.7 notitle
  set output
}
