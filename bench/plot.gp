# Throughput vs latency of every contestant measured by bench/run-all.sh (GET, PUT, scale and cluster runs).
# gnuplot -e "data='bench/results/all.tsv'; out='bench/results/throughput-latency.png'" bench/plot.gp
set terminal pngcairo size 1100,520 font "DejaVu Sans,10"
set output out
set datafile separator "\t"
set multiplot layout 1,2 title "kvstream vs peers: median requests/s vs p99 latency (p50 as the lower end of each bar)"
set logscale xy
set grid
set xlabel "requests/s (median of runs)"
set ylabel "latency ms"
set key off
set title "reads (GET)"
plot data using (strcol(1) eq "GET" || strcol(1) eq "CLUSTER" ? $3 : NaN):4:4:5 with yerrorbars lc rgb "#1f77b4" pt 7, \
     data using (strcol(1) eq "GET" || strcol(1) eq "CLUSTER" ? $3 : NaN):5:(strcol(2)) with labels offset 0,1 font ",8"
set title "durable writes (PUT)"
plot data using (strcol(1) eq "PUT" || strcol(1) eq "SCALE" ? $3 : NaN):4:4:5 with yerrorbars lc rgb "#d62728" pt 7, \
     data using (strcol(1) eq "PUT" || strcol(1) eq "SCALE" ? $3 : NaN):5:(strcol(2)) with labels offset 0,1 font ",8"
unset multiplot
