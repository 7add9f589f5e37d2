#!/usr/bin/env bash
# PUT -> applied on all 3 API replicas and delivered to a WebSocket client, at a fixed ~1k PUT/s (open loop),
# on the local cluster (3 API + 2 workers + WebSocket + nginx, scripts/local-cluster.sh), vs etcd put -> watch
# event (JSON gateway /v3/watch stream) at the same rate, interleaved run by run; CPU per write of each
# contestant's processes and of the whole machine from /proc. Client: bench/LatencyProbe.java.
# Knobs: LATENCY_RATES ["1000 300"] (the first is the target rate), LATENCY_WARMUP [10] unmeasured seconds of load
# in each run, CLUSTER_WARMUP [60] seconds of JIT warm-up of the cluster, BENCH_RUNS, BENCH_DURATION.
#   bench/latency.sh        -> bench/results/latency.md, latency.tsv, latency.targets
#   LATENCY_REPORT_ONLY=1 bench/latency.sh   the same files again from the last runs' raw results in $BENCH_WORK
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools etcd=etcd-server nginx=nginx-light curl=curl
ensure_jar
NAME="${LATENCY_NAME:-latency}"
RATES="${LATENCY_RATES:-1000 300}"
RATE="${RATES%% *}" # the target rate: the first one; runs go from the lowest rate up
ORDER="$(tr ' ' '\n' <<<"$RATES" | sort -n | tr '\n' ' ')" WARMUP="${LATENCY_WARMUP:-10}"
ETCD=19199 ETCD_PEER=19200
use_local_cluster latency 19120
if [[ -z "${LATENCY_REPORT_ONLY:-}" ]]; then
    trap '"$CLUSTER" down --purge >/dev/null 2>&1; stop_proc lat-etcd' EXIT
    drop_schema bench_latency
    "$CLUSTER" up
    start_etcd lat-etcd "$ETCD" "$ETCD_PEER"
    latency_probe

    # Five fresh JVMs share 2 cores: their JIT compilers need about a minute of load before the numbers settle
    # (unmeasured; a fresh cluster answered 300 PUT/s with p50 of seconds at first).
    log "warming the cluster up: ${CLUSTER_WARMUP:-60} s at ${ORDER%% *} PUT/s (not measured)"
    "${PROBE[@]}" kv "${ORDER%% *}" "${CLUSTER_WARMUP:-60}" 0 "ws://127.0.0.1:$LC_INGRESS_PORT/events" \
        http://127.0.0.1:19121 http://127.0.0.1:19122 http://127.0.0.1:19123 >/dev/null 2>&1 || true
    wait_for_quiet
    rm -f "$WORK"/lat-*.txt
    cut -d' ' -f1-3 /proc/loadavg >"$WORK/lat-load.txt"
    # etcd_ticks : "component ticks" of the etcd process and the machine, as cpu_ticks gives them for the cluster
    etcd_ticks() {
        pid_ticks etcd "$(pid_of lat-etcd)"
        server_ticks
    }
    for run in $(seq "$RUNS"); do
        for rate in $ORDER; do
            drain "$LC_AMQP_PREFIX"
            log "run $run/$RUNS: kvstream at $rate PUT/s for ${DURATION} s"
            probe_run cpu_ticks "$WORK/lat-kv-$rate.txt" kv "$rate" "$DURATION" "$WARMUP" \
                "ws://127.0.0.1:$LC_INGRESS_PORT/events" http://127.0.0.1:19121 http://127.0.0.1:19122 http://127.0.0.1:19123
            log "run $run/$RUNS: etcd at $rate put/s for ${DURATION} s"
            probe_run etcd_ticks "$WORK/lat-etcd-$rate.txt" etcd "$rate" "$DURATION" "$WARMUP" "http://127.0.0.1:$ETCD"
        done
    done
fi
LOAD="$(cat "$WORK/lat-load.txt")"

# metric_row FILE METRIC LABEL : "| label | p50 median (min–max) | p99 median (min–max) | max | lost |"
metric_row() {
    local lines
    lines="$(grep "^METRIC $2 " "$1")"
    printf '| %s | %s | %s | %.1f | %s |\n' "$3" \
        "$(echo "$lines" | awk '{print $4}' | spread '%.2f')" "$(echo "$lines" | awk '{print $5}' | spread '%.2f')" \
        "$(echo "$lines" | awk '{print $6}' | sort -g | tail -1)" "$(echo "$lines" | awk '{s += $7} END {print s}')"
}
# p50m / p99m FILE METRIC : median over the runs of the metric's p50 / p99
p50m() { grep "^METRIC $2 " "$1" | awk '{print $4}' | median; }
p99m() { grep "^METRIC $2 " "$1" | awk '{print $5}' | median; }
# sum_of NUMBER... : their sum
sum_of() { printf '%s\n' "$@" | awk '{ s += $1 } END { print s }'; }
KVF="$WORK/lat-kv-$RATE.txt" ETF="$WORK/lat-etcd-$RATE.txt"
ALL3="$(p99m "$KVF" put_applied_all_3_replicas)" ETP="$(p99m "$ETF" etcd_put_ack)"
WS50="$(p50m "$KVF" put_delivered_websocket)" WS="$(p99m "$KVF" put_delivered_websocket)"
ETW50="$(p50m "$ETF" etcd_watch_delivered)" ETW="$(p99m "$ETF" etcd_watch_delivered)"
KV_COMPONENTS=(api worker websocket rabbitmq postgresql nginx)
# cpu_row RATE CONTESTANT FILE : "| rate | contestant | 3 API | … | etcd | sum of these | machine |", "—" for a
# component not measured in that contestant's runs
cpu_row() {
    local c v row=() sum=()
    for c in "${KV_COMPONENTS[@]}" etcd; do
        v="$(cpu_of "$3" "$c")"
        if [[ "$v" == nan ]]; then
            row+=(—)
        else
            row+=("$(printf '%.3f' "$v")")
            sum+=("$v")
        fi
    done
    printf '| %s | %s |' "$1" "$2"
    printf ' %s |' "${row[@]}"
    printf ' %.3f | %.3f |\n' "$(sum_of "${sum[@]}")" "$(cpu_of "$3" machine)"
}
KM="$(cpu_of "$KVF" machine)" EM="$(cpu_of "$ETF" machine)" ES="$(cpu_of "$ETF" etcd)"
KV_CPU=()
for component in "${KV_COMPONENTS[@]}"; do
    KV_CPU+=("$(cpu_of "$KVF" "$component")")
done
# the processes a kvstream write crosses, and of them the kvstream JVMs (the first three components)
KS="$(sum_of "${KV_CPU[@]}")" KJ="$(sum_of "${KV_CPU[@]:0:3}")"
{
    echo "### PUT → applied on 3 API replicas / delivered to a WebSocket client, at $RATES PUT/s${KV_JAVA_OPTS:+ (JVM options: $KV_JAVA_OPTS)}"
    echo
    echo "\`bench/latency.sh\` — local cluster (\`scripts/local-cluster.sh\`: 3 API + 2 workers + WebSocket + nginx), open-loop"
    echo "$RATES PUT/s (each) round robin straight to the 3 API processes, a new key per PUT, $RUNS × ${DURATION} s (after ${WARMUP} s warm-up each),"
    echo "latency from the *scheduled* send time. WebSocket client through nginx (\`/events\`), arrival poll-free; \"all 3\" ="
    echo "the answering replica's 200 plus, for every max(10, rate/20)th key, the first GET on each other replica whose ETag is"
    echo "the write's revision (GET every 1 ms for 25 ms, then backing off to 50 ms). etcd: same rate through the JSON gateway, delivery on a \`/v3/watch\` stream."
    echo "Load average before the runs: $LOAD. Failed requests (non-200 or error, all runs):"
    for rate in $RATES; do
        echo "kvstream at $rate/s: $(awk '/^FAILURES/ {s += $2} END {print s}' "$WORK/lat-kv-$rate.txt"), etcd at $rate/s: $(awk '/^FAILURES/ {s += $2} END {print s}' "$WORK/lat-etcd-$rate.txt");"
    done
    echo
    echo "| rate/s | path | p50 ms median (min–max) | p99 ms median (min–max) | max ms | not seen |"
    echo "|---|---|---|---|---|---|"
    for rate in $RATES; do
        metric_row "$WORK/lat-kv-$rate.txt" put_ack_answering_replica "$rate | kvstream PUT 200 (committed + applied on the answering replica)"
        metric_row "$WORK/lat-kv-$rate.txt" put_applied_all_3_replicas "$rate | kvstream applied on all 3 replicas (sampled)"
        metric_row "$WORK/lat-kv-$rate.txt" put_delivered_websocket "$rate | kvstream delivered to the WebSocket client (via nginx)"
        metric_row "$WORK/lat-etcd-$rate.txt" etcd_put_ack "$rate | etcd put acknowledged"
        metric_row "$WORK/lat-etcd-$rate.txt" etcd_watch_delivered "$rate | etcd watch event delivered"
    done
    echo
    echo "CPU per write while each contestant ran (ms of CPU time, /proc utime + stime, median of the runs; warm-up seconds"
    echo "included, and for kvstream the probe's GETs on the other replicas; RabbitMQ, PostgreSQL and nginx are every such"
    echo "process on the machine, etcd is this benchmark's; \"machine\" is all CPU time on the box, the probe and anything"
    echo "else included):"
    echo
    echo "| rate/s | contestant | 3 API | 2 workers | WebSocket | RabbitMQ | PostgreSQL | nginx | etcd | sum of these | machine |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for rate in $RATES; do
        cpu_row "$rate" kvstream "$WORK/lat-kv-$rate.txt"
        cpu_row "$rate" etcd "$WORK/lat-etcd-$rate.txt"
    done
    left_out="$(cat "$WORK"/lat-*.txt | grep -c '^NOTE the machine' || true)"
    if ((left_out > 0)); then
        echo
        echo "In $left_out run(s) /proc/stat gave the machine less CPU time than the processes listed beside it, which cannot be:"
        echo "the machine's figures are the medians of the other runs (\`cpu_per_write\` in bench/lib.sh)."
    fi
    echo
    targets_header
    target_row "CPU per write at $RATE PUT/s, machine: kvstream ≤ etcd" \
        "$(printf '%.3f vs %.3f ms' "$KM" "$EM"), $(ratio "$KM" "$EM")" "$KM <= $EM"
    target_row "CPU per write at $RATE PUT/s, processes a write crosses: kvstream's (JVMs, RabbitMQ, PostgreSQL, nginx) ≤ etcd's" \
        "$(printf '%.3f vs %.3f ms' "$KS" "$ES"), $(ratio "$KS" "$ES"); kvstream JVMs alone $(printf '%.3f' "$KJ") ms" \
        "$KS <= $ES"
    target_row "PUT → delivered on the WebSocket p50 ≤ 2× etcd put → watch p50 at $RATE PUT/s" \
        "$(printf '%.2f vs %.2f ms' "$WS50" "$ETW50"), $(ratio "$WS50" "$ETW50")" "$WS50 <= 2 * $ETW50"
    target_row "PUT → delivered on the WebSocket p99 ≤ 2× etcd put → watch p99 at $RATE PUT/s" \
        "$(printf '%.2f vs %.2f ms' "$WS" "$ETW"), $(ratio "$WS" "$ETW")" "$WS <= 2 * $ETW"
    target_row "PUT → applied on all 3 API replicas p99 ≤ 2× etcd put p99 at $RATE PUT/s" \
        "$(printf '%.2f vs %.2f ms' "$ALL3" "$ETP"), $(ratio "$ALL3" "$ETP")" "$ALL3 <= 2 * $ETP"
    echo
} >"$RESULTS/$NAME.md"
{
    printf 'LAT\tkvstream-ws\t%s\t%s\t%s\n' "$RATE" "$WS50" "$WS"
    printf 'LAT\tkvstream-all3\t%s\t%s\t%s\n' "$RATE" "$(p50m "$KVF" put_applied_all_3_replicas)" "$ALL3"
    printf 'LAT\tetcd-watch\t%s\t%s\t%s\n' "$RATE" "$ETW50" "$ETW"
} >"$RESULTS/$NAME.tsv"
cat "$RESULTS/$NAME.md"
