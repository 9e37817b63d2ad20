# plots/tour_threshold.gp: which system call served one malloc of each size
# (step 2 of `notfree tour`), one row per allocator, sizes on a log2 axis.
# gnuplot -e 'datafile="t.dat"; outbase="out/x-threshold"; host="h"' tour_threshold.gp
# Data (TSV, written by tour/step_threshold.c): row, log2(size), kind
# (0 none, 1 brk, 2 mmap, 3 brk and mmap), allocator name.
if (!exists("datafile") || !exists("outbase")) { print "tour_threshold.gp: set datafile and outbase with -e"; exit status 2 }
if (!exists("host")) { host = "unknown host" }
set datafile separator "\t"
set termoption noenhanced
stats datafile using 1 name "R" nooutput
stats datafile using 2 name "X" nooutput
set terminal pngcairo size 900, 120 + 40 * (R_max + 1) font ",10"
set output outbase . ".png"
set title sprintf("which call serves malloc(size), first call in a fresh process: %s", host)
set xlabel "request size"
set xrange [X_min - 0.5 : X_max + 0.5]
set yrange [-0.7 : R_max + 0.7]
set xtics ("16" 4, "64" 6, "256" 8, "1K" 10, "4K" 12, "16K" 14, "64K" 16, "256K" 18, "1M" 20, "4M" 22, "16M" 24, "64M" 26)
set ytics scale 0
set grid xtics lc rgb "#dddddd"
set key outside right top
plot datafile using 2:1:ytic(4) with points ps 0 lc rgb "white" notitle, \
     datafile using 2:($3 == 0 ? $1 : 1/0) with points pt 6 ps 1.6 lc rgb "#999999" title "no call", \
     datafile using 2:($3 == 1 ? $1 : 1/0) with points pt 7 ps 1.6 lc rgb "#4878a8" title "brk", \
     datafile using 2:($3 == 2 ? $1 : 1/0) with points pt 5 ps 1.6 lc rgb "#d08030" title "mmap", \
     datafile using 2:($3 == 3 ? $1 : 1/0) with points pt 9 ps 1.8 lc rgb "#8040a0" title "brk and mmap"
