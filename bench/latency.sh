#!/usr/bin/env bash
# PUT -> applied on all 3 API replicas and delivered to a WebSocket client, at a fixed ~1k PUT/s (open loop),
# on the local cluster (3 API + 2 workers + WebSocket + nginx, scripts/local-cluster.sh), vs etcd put -> watch
# event (JSON gateway /v3/watch stream) at the same rate. Client: bench/LatencyProbe.java.
#   bench/latency.sh        -> bench/results/latency.md, latency.tsv
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
trap '"$CLUSTER" down --purge >/dev/null 2>&1; stop_proc lat-etcd' EXIT
drop_schema bench_latency
"$CLUSTER" up
start_etcd lat-etcd "$ETCD" "$ETCD_PEER"
# Compiled once: `java File.java` would compile it again at every run, ~3 CPU-seconds taken from the servers measured.
mkdir -p "$WORK/probe"
"$(jdk_tool javac)" -d "$WORK/probe" "$BENCH_DIR/LatencyProbe.java" || die "cannot compile the probe"
PROBE=("$JAVA" -XX:+UseSerialGC -cp "$WORK/probe" LatencyProbe)

# Five fresh JVMs share 2 cores: their JIT compilers need about a minute of load before the numbers settle
# (unmeasured; a fresh cluster answered 300 PUT/s with p50 of seconds at first).
log "warming the cluster up: ${CLUSTER_WARMUP:-60} s at ${ORDER%% *} PUT/s (not measured)"
"${PROBE[@]}" kv "${ORDER%% *}" "${CLUSTER_WARMUP:-60}" 0 "ws://127.0.0.1:$LC_INGRESS_PORT/events" \
    http://127.0.0.1:19121 http://127.0.0.1:19122 http://127.0.0.1:19123 >/dev/null 2>&1 || true
wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$WORK"/lat-*.txt
for run in $(seq "$RUNS"); do
    for rate in $ORDER; do
        drain
        log "run $run/$RUNS: kvstream at $rate PUT/s for ${DURATION} s"
        cpu_ticks >"$WORK/cpu-before.txt"
        "${PROBE[@]}" kv "$rate" "$DURATION" "$WARMUP" "ws://127.0.0.1:$LC_INGRESS_PORT/events" \
            http://127.0.0.1:19121 http://127.0.0.1:19122 http://127.0.0.1:19123 | tee -a "$WORK/lat-kv-$rate.txt" >&2
        cpu_ticks >"$WORK/cpu-after.txt"
        cpu_per_write "$WORK/cpu-before.txt" "$WORK/cpu-after.txt" $((rate * (DURATION + WARMUP))) \
            >>"$WORK/lat-kv-$rate.txt"
        log "run $run/$RUNS: etcd at $rate put/s for ${DURATION} s"
        "${PROBE[@]}" etcd "$rate" "$DURATION" "$WARMUP" "http://127.0.0.1:$ETCD" | tee -a "$WORK/lat-etcd-$rate.txt" >&2
    done
done

# metric_row FILE METRIC LABEL : "| label | p50 median (min–max) | p99 median (min–max) | max | lost |"
metric_row() {
    local lines
    lines="$(grep "^METRIC $2 " "$1")"
    printf '| %s | %s | %s | %.1f | %s |\n' "$3" \
        "$(echo "$lines" | awk '{print $4}' | spread '%.2f')" "$(echo "$lines" | awk '{print $5}' | spread '%.2f')" \
        "$(echo "$lines" | awk '{print $6}' | sort -g | tail -1)" "$(echo "$lines" | awk '{s += $7} END {print s}')"
}
# cpu_of FILE COMPONENT : median over the runs of the component's ms of CPU per write
cpu_of() { grep "^CPU $2 " "$1" | awk '{print $3}' | median; }
p99m() { grep "^METRIC $2 " "$1" | awk '{print $5}' | median; }
ALL3="$(p99m "$WORK/lat-kv-$RATE.txt" put_applied_all_3_replicas)"
WS="$(p99m "$WORK/lat-kv-$RATE.txt" put_delivered_websocket)"
ETW="$(p99m "$WORK/lat-etcd-$RATE.txt" etcd_watch_delivered)"
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
    echo "CPU per write while kvstream ran (ms of CPU time, /proc utime + stime, median of the runs; warm-up seconds and the"
    echo "probe's GETs included; \"machine\" is all CPU time on the box, the probe, wrk and anything else included):"
    echo
    echo "| rate/s | 3 API | worker | WebSocket | RabbitMQ | PostgreSQL | nginx | sum of these | machine |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for rate in $RATES; do
        row=()
        for component in api worker websocket rabbitmq postgresql nginx; do
            row+=("$(cpu_of "$WORK/lat-kv-$rate.txt" "$component")")
        done
        printf '| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n' "$rate" "${row[@]}" \
            "$(printf '%s\n' "${row[@]}" | awk '{ s += $1 } END { print s }')" "$(cpu_of "$WORK/lat-kv-$rate.txt" machine)"
    done
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    echo "| PUT→applied on 3 replicas p99 ≤ 20 ms at $RATE PUT/s | $(printf '%.2f' "$ALL3") ms | $(verdict "$ALL3 <= 20") |"
    echo "| PUT→delivered (WebSocket) p99 ≤ 20 ms at $RATE PUT/s | $(printf '%.2f' "$WS") ms (etcd watch: $(printf '%.2f' "$ETW") ms, $(ratio "$WS" "$ETW") of it) | $(verdict "$WS <= 20") |"
    echo
} >"$RESULTS/$NAME.md"
{
    printf 'LAT\tkvstream-ws\t%s\t%s\t%s\n' "$RATE" "$(grep '^METRIC put_delivered_websocket ' "$WORK/lat-kv-$RATE.txt" | awk '{print $4}' | median)" "$WS"
    printf 'LAT\tkvstream-all3\t%s\t%s\t%s\n' "$RATE" "$(grep '^METRIC put_applied_all_3_replicas ' "$WORK/lat-kv-$RATE.txt" | awk '{print $4}' | median)" "$ALL3"
    printf 'LAT\tetcd-watch\t%s\t%s\t%s\n' "$RATE" "$(grep '^METRIC etcd_watch_delivered ' "$WORK/lat-etcd-$RATE.txt" | awk '{print $4}' | median)" "$ETW"
} >"$RESULTS/$NAME.tsv"
cat "$RESULTS/$NAME.md"
