#!/usr/bin/env bash
# Filtered watch (issue 18) at a fixed ~1k PUT/s on the local cluster (scripts/local-cluster.sh, as bench/latency.sh):
# 1 key in WATCH_MATCH_EVERY [100] starts with "hot-"; a WebSocket client on /events?prefix=hot- (through nginx)
# and an unfiltered one on /events. Four contestants, interleaved run by run: both watchers together (their
# latencies side by side), the filtered one alone, the unfiltered one alone, and no watcher (the WebSocket
# process's cost of following the writes with nobody to send them to). CPU of the WebSocket process per written
# and per delivered event from /proc. Client: bench/LatencyProbe.java.
#   bench/watch.sh          -> bench/results/watch.md
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools nginx=nginx-light curl=curl
ensure_jar
RATE="${WATCH_RATE:-1000}" WARMUP="${WATCH_WARMUP:-5}" EVERY="${WATCH_MATCH_EVERY:-100}"
use_local_cluster watch 19210
trap '"$CLUSTER" down --purge >/dev/null 2>&1' EXIT
drop_schema bench_watch
"$CLUSTER" up
latency_probe -DmatchEvery="$EVERY" -DmatchPrefix=hot-
APIS=(http://127.0.0.1:19211 http://127.0.0.1:19212 http://127.0.0.1:19213)
EV="ws://127.0.0.1:$LC_INGRESS_PORT/events"
declare -A WATCHERS=([both]="filtered=$EV?prefix=hot-,all=$EV" [filtered]="filtered=$EV?prefix=hot-"
                     [unfiltered]="all=$EV" [none]=none)
MODES=(both filtered unfiltered none)

log "warming the cluster up: ${CLUSTER_WARMUP:-60} s at $RATE PUT/s, both watchers (not measured)"
"${PROBE[@]}" kv "$RATE" "${CLUSTER_WARMUP:-60}" 0 "${WATCHERS[both]}" "${APIS[@]}" >/dev/null 2>&1 || true
wait_for_quiet
rm -f "$WORK"/watch-*.txt
for run in $(seq "$RUNS"); do
    for mode in "${MODES[@]}"; do
        drain "$LC_AMQP_PREFIX"
        log "run $run/$RUNS: $mode at $RATE PUT/s for $WARMUP + $DURATION s (load $(cut -d' ' -f1-3 /proc/loadavg))"
        echo "LOAD $(load1)" >>"$WORK/watch-$mode.txt"
        probe_run cpu_ticks "$WORK/watch-$mode.txt" kv "$RATE" "$DURATION" "$WARMUP" "${WATCHERS[$mode]}" "${APIS[@]}"
    done
done

# spread_of FILE AWK_FILTER FIELD FORMAT : "median (min–max)" over the runs of the matching lines' field
spread_of() { awk "$2 {print \$$3}" "$1" | spread "$4"; }
# received FILE : median over the runs of the domain events delivered to all the watchers of a run
received() { awk '/^RECEIVED/ {s += $3} /^FAILURES/ {print s + 0; s = 0}' "$1" | median; }
WRITES=$((RATE * (DURATION + WARMUP)))
declare -A WS_CPU DELIVERED
for mode in "${MODES[@]}"; do
    WS_CPU[$mode]="$(cpu_of "$WORK/watch-$mode.txt" websocket)"
    DELIVERED[$mode]="$(received "$WORK/watch-$mode.txt")"
done
# extra MODE : the WebSocket process's ms of CPU per written event above the no-watcher contestant
extra() { awk -v a="${WS_CPU[$1]}" -v b="${WS_CPU[none]}" 'BEGIN { printf "%.4f", a - b }'; }
{
    echo "### Filtered watch at $RATE PUT/s: /events?prefix= (1 key in $EVERY) beside an unfiltered watcher (issue 18)"
    echo
    echo "\`bench/watch.sh\` — local cluster (\`scripts/local-cluster.sh\`: 3 API + 2 workers + WebSocket + nginx), open-loop"
    echo "$RATE PUT/s round robin straight to the 3 API processes (bench/LatencyProbe.java, as \`bench/latency.sh\`), a new"
    echo "key per PUT, every ${EVERY}th key starting with \`hot-\` (warm-up included). Watchers: WebSocket clients through nginx,"
    echo "\`filtered\` on \`/events?prefix=hot-\`, \`all\` on \`/events\`. Contestants interleaved run by run: both watchers,"
    echo "the filtered one alone, the unfiltered one alone, none; $RUNS × ${DURATION} s each after ${WARMUP} s of unmeasured load"
    echo "(and ${CLUSTER_WARMUP:-60} s of JIT warm-up before the first run). Latency from the PUT's *scheduled* send time to"
    echo "the event's arrival. 1-minute load average at each run's start: $(awk '/^LOAD/ {print $2}' "$WORK"/watch-*.txt | spread '%.2f')"
    echo "(median, min–max); failed PUTs, all runs: $(cat "$WORK"/watch-*.txt | awk '/^FAILURES/ {s += $2} END {print s}')."
    echo "Noisy: 2 cores shared with the probe, the whole cluster, PostgreSQL, RabbitMQ and other engineers' test runs."
    echo
    echo "| contestant | watcher | p50 ms median (min–max) | p99 ms median (min–max) | max ms | not seen |"
    echo "|---|---|---|---|---|---|"
    for mode in both filtered unfiltered; do
        for w in filtered all; do
            f="$WORK/watch-$mode.txt"
            grep -q "^METRIC put_delivered_$w " "$f" || continue
            printf '| %s | %s | %s | %s | %.1f | %s |\n' "$mode" "$w" \
                "$(spread_of "$f" "/^METRIC put_delivered_$w /" 4 '%.2f')" \
                "$(spread_of "$f" "/^METRIC put_delivered_$w /" 5 '%.2f')" \
                "$(awk "/^METRIC put_delivered_$w / {print \$6}" "$f" | sort -g | tail -1)" \
                "$(awk "/^METRIC put_delivered_$w / {s += \$7} END {print s}" "$f")"
        done
        printf '| %s | (PUT 200 on the answering replica) | %s | %s | | |\n' "$mode" \
            "$(spread_of "$WORK/watch-$mode.txt" '/^METRIC put_ack_answering_replica /' 4 '%.2f')" \
            "$(spread_of "$WORK/watch-$mode.txt" '/^METRIC put_ack_answering_replica /' 5 '%.2f')"
    done
    echo
    echo "CPU of the WebSocket process (ms, /proc utime + stime, median of the runs over the ${WARMUP} + ${DURATION} s of each run,"
    echo "$WRITES written events a run); \"delivered\" = domain events the run's watchers received (median); \"above none\" = minus"
    echo "the no-watcher contestant's (the cost of the watchers themselves, not of following the writes); nginx (every nginx"
    echo "process on the machine) and the whole machine per written event for scale:"
    echo
    echo "| contestant | delivered events | WebSocket ms per written event (median (min–max)) | above none, per written event | above none, per delivered event | nginx ms per written | machine ms per written |"
    echo "|---|---|---|---|---|---|---|"
    for mode in "${MODES[@]}"; do
        f="$WORK/watch-$mode.txt"
        printf '| %s | %.0f | %s | %s | %s | %.4f | %.3f |\n' "$mode" "${DELIVERED[$mode]}" \
            "$(spread_of "$f" '/^CPU websocket /' 3 '%.4f')" \
            "$([[ $mode == none ]] && echo — || extra "$mode")" \
            "$([[ $mode == none ]] && echo — || awk -v e="$(extra "$mode")" -v w="$WRITES" -v d="${DELIVERED[$mode]}" \
                'BEGIN { if (d > 0) printf "%.4f", e * w / d; else print "n/a" }')" \
            "$(cpu_of "$f" nginx)" "$(cpu_of "$f" machine)"
    done
    echo
    FX="$(extra filtered)" UX="$(extra unfiltered)"
    echo "Filtered vs unfiltered watcher, WebSocket process CPU per written event above none: $FX vs $UX ms,"
    echo "$(ratio "$FX" "$UX") (whole process: $(ratio "${WS_CPU[filtered]}" "${WS_CPU[unfiltered]}")); the no-watcher process"
    echo "alone: ${WS_CPU[none]} ms per written event."
    echo
} >"$RESULTS/watch.md"
cat "$RESULTS/watch.md"
