#!/usr/bin/env bash
# What each process burns while nobody writes or reads: the local cluster (3 API + 2 workers + WebSocket + nginx)
# after a short load (so that its JIT compilers are done), vs a single-member etcd, idle side by side, interleaved
# run by run. CPU from /proc (utime + stime), in ms of CPU per second of wall time (1000 = one core busy).
# Knobs: IDLE_WARMUP [20] seconds of load at 300 PUT/s first (not measured), BENCH_RUNS, BENCH_DURATION.
#   bench/idle.sh        -> bench/results/idle.md, idle.tsv
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools etcd=etcd-server nginx=nginx-light curl=curl
ensure_jar
ETCD=19159 ETCD_PEER=19160
use_local_cluster idle 19150
trap '"$CLUSTER" down --purge >/dev/null 2>&1; stop_proc idle-etcd' EXIT
drop_schema bench_idle
"$CLUSTER" up
start_etcd idle-etcd "$ETCD" "$ETCD_PEER"
latency_probe
log "loading the cluster and etcd: ${IDLE_WARMUP:-20} s at 300 PUT/s each (not measured)"
"${PROBE[@]}" kv 300 "${IDLE_WARMUP:-20}" 0 "ws://127.0.0.1:$LC_INGRESS_PORT/events" \
    http://127.0.0.1:19151 http://127.0.0.1:19152 http://127.0.0.1:19153 >/dev/null 2>&1 || true
"${PROBE[@]}" etcd 300 "${IDLE_WARMUP:-20}" 0 "http://127.0.0.1:$ETCD" >/dev/null 2>&1 || true
wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
# Every component of both contestants in each sample: the machine's CPU is shared, so both are idle all along.
idle_ticks() {
    cpu_ticks | grep -v '^machine '
    pid_ticks etcd "$(pid_of idle-etcd)"
    server_ticks
}
OUT="$WORK/idle.txt"
: >"$OUT"
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS: ${DURATION} s idle"
    idle_ticks >"$WORK/cpu-before.txt"
    sleep "$DURATION"
    idle_ticks >"$WORK/cpu-after.txt"
    # "per write" with one write a second: ms of CPU per second
    cpu_per_write "$WORK/cpu-before.txt" "$WORK/cpu-after.txt" "$DURATION" >>"$OUT"
done

COMPONENTS=(api worker websocket rabbitmq postgresql nginx etcd machine)
{
    echo "### Idle: CPU while nobody writes or reads"
    echo
    echo "\`bench/idle.sh\` — the local cluster (\`scripts/local-cluster.sh\`: 3 API + 2 workers + WebSocket + nginx) and a"
    echo "single-member etcd, both up and idle after ${IDLE_WARMUP:-20} s of 300 PUT/s each; $RUNS × ${DURATION} s. ms of CPU"
    echo "per second (1000 = one core), /proc utime + stime, median (min–max). RabbitMQ and PostgreSQL are every such process"
    echo "on the machine (the servers are shared with the cluster alone here). Load average before: $LOAD."
    echo
    echo "| component | ms CPU per s idle |"
    echo "|---|---|"
    for c in "${COMPONENTS[@]}"; do
        printf '| %s | %s |\n' "$c" "$(awk -v c="$c" '$1 == "CPU" && $2 == c {print $3}' "$OUT" | spread '%.1f')"
    done
} | tee "$RESULTS/idle.md"
awk '$1 == "CPU" {print $2 "\t" $3}' "$OUT" >"$RESULTS/idle.tsv"
