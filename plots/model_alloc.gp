# plots/model_alloc.gp: allocators on the kernel model. One panel per TLB
# preset: per workload, one bar per allocator of the model's page walks per
# 1,000 operations (live mode: L1 TLB misses that also missed L2); a last
# panel: the model's peak RSS of each allocator per workload (the same
# under every preset: the presets see one access stream).
# gnuplot -e 'datafile="m.dat"; outbase="out/x-model_alloc"; presets="zen4 skylake"; workloads="trim"; allocs="bins slab"; host="h"; date="d"' model_alloc.gp
# Data (TSV, from cli/cmd_model_chart.c or extract.sh): preset index, preset,
# workload index, workload, allocator index, allocator, walks per 1,000 ops,
# peak RSS KiB. The indices number the names in the order of the -e lists.
if (!exists("datafile") || !exists("outbase")) { print "model_alloc.gp: set datafile and outbase with -e"; exit status 2 }
# The names in index order, when not given: each column's names in order of
# first appearance (how both writers number them).
names(c) = system(sprintf("awk -F'\t' '!s[$%d]++ { printf \"%%s \", $%d }' '%s'", c, c, datafile))
if (!exists("presets")) { presets = names(2) }
if (!exists("workloads")) { workloads = names(4) }
if (!exists("allocs")) { allocs = names(6) }
if (!exists("host")) { host = "this box" }
if (!exists("date")) { date = "" }

set datafile separator "\t"
set datafile missing "NaN"
set termoption noenhanced
np = words(presets); nw = words(workloads); na = words(allocs)
stats datafile using 7 name "W" nooutput
if (W_records < 1) { print "model_alloc.gp: no rows in ".datafile; exit status 2 }
bw = 0.8 / na
xpos(w, a) = w + (a - (na - 1) / 2.0) * bw
color(a) = word("#4878a8 #d08030 #58a058 #b05050 #8060a8 #909090", a % 6 + 1)
set style fill solid 0.85 border rgb "#333333"
set boxwidth bw
set xrange [-0.6 : nw - 0.4]
wmax = (W_max > 0 ? W_max * 1.12 : 1)   # one scale for every preset's panel, so that they compare
set grid ytics lc rgb "#dddddd"
set xtics () rotate by -20 nomirror
do for [w = 1:nw] { set xtics add (word(workloads, w) w - 1) }
set key top left box opaque font ",8"

panels = np + 1
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size (420 * panels + 80),560 noenhanced font "DejaVu Sans,10"; set output outbase.".png" }
  if (fmt eq "svg") { set terminal svg size (420 * panels + 80),560 noenhanced font "DejaVu Sans,10" background rgb "white"; set output outbase.".svg" }
  set multiplot layout 1, panels title sprintf("Allocators on the kernel model (live mode, one thread): source model\n%s %s", host, date)
  do for [p = 0:np - 1] {
    set title sprintf("%s: page walks per 1,000 operations", word(presets, p + 1))
    set ylabel (p == 0 ? "walks per 1,000 ops (L1 and L2 TLB misses)" : "")
    set yrange [0 : wmax]
    plot for [a = 0:na - 1] datafile using (int($1) == p && int($5) == a ? xpos($3, a) : NaN):7 \
      with boxes lc rgb color(a) title word(allocs, a + 1)
  }
  set title "model peak RSS (KiB)"
  set yrange [0 : *]
  set ylabel "peak RSS, KiB (the same under every preset)"
  plot for [a = 0:na - 1] datafile using (int($1) == 0 && int($5) == a ? xpos($3, a) : NaN):8 \
    with boxes lc rgb color(a) title word(allocs, a + 1)
  unset multiplot
  set output
}
