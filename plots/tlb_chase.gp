# plots/tlb_chase.gp: pointer-chase latency against working set (log-log),
# 4 KiB pages and THP, with the TLB model's predicted reach drawn as
# vertical lines: where the model says each TLB level stops covering the
# working set, for the host preset (from CPUID, in the data) and for the
# zen4 preset (the silicon this box runs on; kernels/presets.c: L1 72
# entries, L2 3072, every size; override with -e 'zen4_l1=...; zen4_l2=...'
# in entries). The knees of the measured curves are where the real TLBs
# run out.
# gnuplot -e 'datafile="f.dat"; outbase="out/x-tlb_chase"; host="h"; date="d"' tlb_chase.gp
# Data (TSV, from extract.sh): KiB, ns_per_access 4K, ns_per_access THP,
# model reach KiB: L1 4K, L2 4K, L1 2M, L2 2M (same on every row; NaN if absent).
if (!exists("datafile") || !exists("outbase")) { print "tlb_chase.gp: set datafile and outbase with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
if (!exists("date")) { date = "unknown date" }

set datafile separator "\t"
set datafile missing "NaN"
set termoption noenhanced
array have[3]
ylo = 1e300; yhi = -1e300
do for [c = 2:3] {
  stats datafile using (valid(c) ? 1 : 0) name "C" nooutput
  have[c] = C_sum
  if (have[c] > 0) {
    stats datafile using c name "Y" nooutput
    ylo = (Y_min < ylo ? Y_min : ylo); yhi = (Y_max > yhi ? Y_max : yhi)
  }
}
if (have[2] + have[3] == 0) { print "tlb_chase.gp: no ns_per_access values in ".datafile; exit status 2 }
stats datafile using 1 name "X" nooutput
xlo = X_min / 1.3; xhi = X_max * 1.3

# The reach lines: one value per column, read from the first row.
array reach[7]
do for [c = 4:7] {
  stats datafile using (valid(c) ? 1 : 0) name "R" nooutput
  reach[c] = 0
  if (R_sum > 0) { stats datafile using c name "V" nooutput; reach[c] = V_min }
}
kib(x) = (x >= 1048576 ? sprintf("%g GiB", x / 1048576) : x >= 1024 ? sprintf("%g MiB", x / 1024) : sprintf("%g KiB", x))
rname(c) = (c == 4 ? "L1 reach, 4K" : c == 5 ? "L2 reach, 4K" : c == 6 ? "L1 reach, 2M" : "L2 reach, 2M")
rcolor(c) = (c <= 5 ? "#4878a8" : "#d08030")
do for [c = 4:7] {
  if (reach[c] > 0 && reach[c] >= xlo && reach[c] <= xhi) {
    set arrow from reach[c], graph 0 to reach[c], graph 1 nohead dt 3 lw 1.5 lc rgb rcolor(c)
    set label sprintf("host %s: %s", rname(c), kib(reach[c])) at reach[c], graph (c % 2 == 0 ? 0.97 : 0.90) \
      rotate by 0 offset 0.5,0 font ",8" tc rgb rcolor(c)
  }
}

# zen4's reach: entries x page size (KiB), 4K and 2M; drawn dashed, labels lower down.
if (!exists("zen4_l1")) { zen4_l1 = 72 }
if (!exists("zen4_l2")) { zen4_l2 = 3072 }
array zreach[4] = [zen4_l1 * 4, zen4_l2 * 4, zen4_l1 * 2048, zen4_l2 * 2048]
zname(i) = (i == 1 ? "L1 4K" : i == 2 ? "L2 4K" : i == 3 ? "L1 2M" : "L2 2M")
do for [i = 1:4] {
  if (zreach[i] >= xlo && zreach[i] <= xhi) {
    set arrow from zreach[i], graph 0 to zreach[i], graph 1 nohead dt 2 lw 1 lc rgb (i <= 2 ? "#4878a8" : "#d08030")
    set label sprintf("zen4 %s: %s", zname(i), kib(zreach[i])) at zreach[i], graph (i % 2 == 1 ? 0.83 : 0.76) \
      rotate by 0 offset 0.5,0 font ",8" tc rgb (i <= 2 ? "#4878a8" : "#d08030")
  }
}

set title sprintf("Pointer chase, one line per page, pages in random order: ns per access (log-log)\nvertical lines: the TLB model's reach, dotted for the host preset (CPUID; a hypervisor may report other figures than the silicon has), dashed for zen4\n%s, %s", host, date)
set xlabel "working set (log scale)"
set ylabel "ns per access (log scale)"
set logscale x 2
set logscale y 10
set xrange [xlo : xhi]
set yrange [ylo / 1.6 : yhi * 1.6]
do for [d = floor(log10(ylo / 1.6)) : ceil(log10(yhi * 1.6))] { set ytics add (10**d, 2 * 10.0**d, 5 * 10.0**d) }
set format y "%g"
set xtics ()
do for [e = 0 : 30 : 2] { x = 2.0**e; if (x >= xlo && x <= xhi) { set xtics add (kib(x) x) } }
set grid xtics ytics lc rgb "#dddddd"
set key bottom right box opaque

plotcmd = ""
if (have[2] > 0) { plotcmd = "datafile using 1:2 with linespoints lw 2 pt 7 lc rgb '#4878a8' title '4 KiB pages'" }
if (have[3] > 0) { plotcmd = plotcmd . (strlen(plotcmd) ? ", " : "") . "datafile using 1:3 with linespoints lw 2 pt 5 lc rgb '#d08030' title 'THP (2 MiB)'" }

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1100,650 noenhanced font "DejaVu Sans,10"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size 1100,650 noenhanced font "DejaVu Sans,10" background rgb "white"; set output outbase.".svg" }
  eval "plot ".plotcmd
  set output
}
