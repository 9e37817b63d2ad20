# plots/fault_cost.gp: ns per 4 KiB page by fault mode, bars, with the
# zero-fill floor (memset of an already resident page) as a dashed line.
# gnuplot -e 'datafile="f.dat"; outbase="out/x-fault_cost"; host="h"; date="d"' fault_cost.gp
# Data (TSV, from extract.sh): label, ns_per_page, floor ns_per_page (NaN if none).
if (!exists("datafile") || !exists("outbase")) { print "fault_cost.gp: set datafile and outbase with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
if (!exists("date")) { date = "unknown date" }

set datafile separator "\t"
set termoption noenhanced
# Headroom of 1.3x keeps the key clear of the bars and their labels.
# Floor: column 3, -1 where NaN (not valid()), so the max tells if there is one.
stats datafile using (valid(3) ? column(3) : -1) name "F" nooutput
stats datafile using 2 name "B" nooutput
floorv = F_max
n = B_records

set title sprintf("Page-fault cost per 4 KiB page, by mode\n%s, %s", host, date)
set ylabel "ns per 4 KiB page"
set xlabel "fault mode (bench, resident size)"
set xrange [-0.6:n - 0.4]
set yrange [0:(B_max > floorv ? B_max : floorv) * 1.3]
set xtics rotate by -30 left nomirror
set ytics nomirror
set grid ytics lc rgb "#dddddd"
set style fill solid 0.85 border lc rgb "#333333"
set boxwidth 0.7
set key inside top right box opaque
set bmargin 10
set rmargin 12

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1000,600 noenhanced font "DejaVu Sans,10"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size 1000,600 noenhanced font "DejaVu Sans,10" background rgb "white"; set output outbase.".svg" }
  if (floorv > 0) {
    plot datafile using 0:2:xtic(1) with boxes lc rgb "#4878a8" title "ns per page", \
         "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.7 notitle, \
         floorv with lines dt 2 lw 2 lc rgb "#c03030" title sprintf("zero-fill floor: %.0f ns (memset of a resident page)", floorv)
  } else {
    plot datafile using 0:2:xtic(1) with boxes lc rgb "#4878a8" title "ns per page (no zero-fill floor measured)", \
         "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.7 notitle
  }
  set output
}
