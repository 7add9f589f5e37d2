#!/usr/bin/env bash
# GET throughput through the local cluster's Ingress (nginx, keepalive upstream, round robin) with 1, 2 and 3
# API processes behind it (scripts/local-cluster.sh ingress-replicas N), plus one API process hit directly.
#   bench/cluster.sh        -> bench/results/cluster.md, cluster.tsv
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools wrk=wrk nginx=nginx-light curl=curl
ensure_jar
NAME=cluster
use_local_cluster cluster 19150
trap '"$CLUSTER" down --purge >/dev/null 2>&1' EXIT
drop_schema bench_cluster
"$CLUSTER" up
VALUE="$(head -c 100 /dev/zero | tr '\0' v)"
curl -sf -X PUT "http://127.0.0.1:$LC_INGRESS_PORT/values/bench-get" --data-binary "$VALUE" >/dev/null
# Warm every process up (JIT) through the Ingress.
DURATION=$WARMUP_S wrk_run "$WORK/warmup.txt" "http://127.0.0.1:$LC_INGRESS_PORT/values/bench-get"

wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$WORK"/cluster-*.txt
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS"
    wrk_run "$WORK/cluster-direct.txt" "http://127.0.0.1:19151/values/bench-get"
    for n in 1 2 3; do
        "$CLUSTER" ingress-replicas "$n" 2>/dev/null
        wrk_run "$WORK/cluster-$n.txt" "http://127.0.0.1:$LC_INGRESS_PORT/values/bench-get"
    done
done
D="$(rps_of "$WORK/cluster-direct.txt")" ONE="$(rps_of "$WORK/cluster-1.txt")"
{
    echo "### GET through the local cluster's Ingress with 1, 2, 3 API replicas"
    echo
    echo "\`bench/cluster.sh\` — \`scripts/local-cluster.sh\` (3 API + 2 workers + WebSocket + nginx Ingress, worker_processes auto,"
    echo "keepalive upstream), wrk -t$THREADS -c$CONNS through nginx, $RUNS × ${DURATION} s each, interleaved. Everything (wrk, nginx,"
    echo "the JVMs) shares the same $(nproc) cores, so more replicas add no CPU: this shows the balancing cost, not scale-out."
    echo "Load average before the runs: $LOAD."
    echo
    echo "| path | requests/s median (min–max) | p50 ms | p99 ms | errors + non-2xx | vs 1 replica |"
    echo "|---|---|---|---|---|---|"
    echo "$(md_row "direct to one API process (no nginx)" "$WORK/cluster-direct.txt") $(ratio "$D" "$ONE") |"
    for n in 1 2 3; do
        echo "$(md_row "nginx → $n API replica(s)" "$WORK/cluster-$n.txt") $(ratio "$(rps_of "$WORK/cluster-$n.txt")" "$ONE") |"
    done
    echo
} >"$RESULTS/$NAME.md"
{
    printf 'CLUSTER\tdirect\t%s\t%s\t%s\n' "$D" "$(p50_of "$WORK/cluster-direct.txt")" "$(p99_of "$WORK/cluster-direct.txt")"
    for n in 1 2 3; do
        printf 'CLUSTER\tingress-%s\t%s\t%s\t%s\n' "$n" "$(rps_of "$WORK/cluster-$n.txt")" "$(p50_of "$WORK/cluster-$n.txt")" "$(p99_of "$WORK/cluster-$n.txt")"
    done
} >"$RESULTS/$NAME.tsv"
cat "$RESULTS/$NAME.md"
