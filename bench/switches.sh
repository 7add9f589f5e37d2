#!/usr/bin/env bash
# Where a write's CPU and thread switches go: the local cluster (scripts/local-cluster.sh) at a fixed PUT rate
# (bench/LatencyProbe.java, open loop), and for each process the ms of CPU and the context switches (voluntary and
# involuntary, all threads) per write, then the same by thread name for the leading worker and one API process, and
# PostgreSQL's CPU by session (the worker's, the APIs', its WAL writer's, ...).
# On a virtual machine every switch is a trip through the hypervisor, so the switches explain CPU that no Java
# profile shows. One run, for A/B checks (BENCH_JAR) rather than the reports; bench/latency.sh is the benchmark.
# Knobs: SWITCHES_RATE [1000] PUT/s, BENCH_DURATION [20] measured seconds, CLUSTER_WARMUP [45] seconds of load first,
# at CLUSTER_WARMUP_RATE [1000] PUT/s whatever the measured rate: the JIT compiles by work done, not by time, so a run at
# a low rate after a warm-up at that rate would still measure the compilers at work.
#   bench/switches.sh       -> stdout
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools nginx=nginx-light curl=curl
ensure_jar
RATE="${SWITCHES_RATE:-1000}" SECS="${BENCH_DURATION:-20}"
use_local_cluster switches 19220
trap '"$CLUSTER" down --purge >/dev/null 2>&1' EXIT
drop_schema bench_switches
"$CLUSTER" up >/dev/null
latency_probe
TARGETS=("ws://127.0.0.1:$LC_INGRESS_PORT/events" http://127.0.0.1:19221 http://127.0.0.1:19222 http://127.0.0.1:19223)
WARMUP_RATE="${CLUSTER_WARMUP_RATE:-1000}"
log "warming the cluster up: ${CLUSTER_WARMUP:-45} s at $WARMUP_RATE PUT/s (not measured)"
"${PROBE[@]}" kv "$WARMUP_RATE" "${CLUSTER_WARMUP:-45}" 0 "${TARGETS[@]}" >/dev/null 2>&1 || true
wait_for_quiet

# counters < cluster_pids : "process ticks switches", then the machine's
counters() {
    local name pid
    while read -r name pid; do
        echo "$name $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)" \
             "$(cat "/proc/$pid"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}')"
    done
    echo "machine $(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat) $(awk '/^ctxt/ {print $2}' /proc/stat)"
}
# by_thread PID SECONDS > FILE : switches and CPU ticks by thread name over SECONDS
by_thread() {
    local pid="$1" t
    snapshot() {
        # A thread may end between the listing and the reads: its line is dropped, not the whole snapshot.
        for t in /proc/"$pid"/task/*; do
            echo "${t##*/} $(tr ' ' '_' <"$t/comm") $(awk '/ctxt_switches/ {s += $2} END {print s + 0}' "$t/status") $(awk '{print $14 + $15}' "$t/stat")" || true
        done 2>/dev/null | awk 'NF == 4' 
    }
    snapshot >"$WORK/threads-$pid.0"
    sleep "$2"
    snapshot >"$WORK/threads-$pid.1"
    awk 'FNR == NR { c[$1] = $3; u[$1] = $4; next }
         { n[$2]++; dc[$2] += $3 - c[$1]; du[$2] += $4 - u[$1] }
         END { for (k in n) if (dc[k] > 0) printf "  %-26s %3d threads %8d switches %6d ticks\n", k, n[k], dc[k], du[k] }' \
        "$WORK/threads-$pid.0" "$WORK/threads-$pid.1" | sort -k4 -nr | head -6
}

# pg_sessions SECONDS : PostgreSQL's CPU ticks over SECONDS by what each server process is (the application name of
# a client session: kvstream-worker, kvstream-api, ...; or the background process's type: walwriter, checkpointer, ...)
pg_sessions() {
    local names="$WORK/pg-names.txt"
    psql_db -Atc "SELECT pid, coalesce(nullif(application_name, ''), backend_type) FROM pg_stat_activity" \
        | tr '|' ' ' >"$names"
    snapshot() { for pid in $(pgrep -x postgres); do echo "$pid $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)"; done; }
    snapshot >"$WORK/pg-ticks.0"
    sleep "$1"
    snapshot >"$WORK/pg-ticks.1"
    awk -v names="$names" -v before="$WORK/pg-ticks.0" '
        BEGIN { while ((getline l < names) > 0) { split(l, a, " "); n[a[1]] = a[2] }
                while ((getline l < before) > 0) { split(l, a, " "); t0[a[1]] = a[2] } }
        { k = ($1 in n) ? n[$1] : "postmaster and others"; d[k] += $2 - t0[$1] }
        END { for (k in d) if (d[k] > 0) printf "  %-26s %6d ticks\n", k, d[k] }' "$WORK/pg-ticks.1" | sort -k2 -nr
}

# batches : "count sum" of the leading worker's batches so far (commands per batch: sum / count)
batches() {
    curl -sf "http://127.0.0.1:$LC_WORKER_PORT/observe/metrics" \
        | awk '/^kvstream_worker_batch_size_count/ {c = $2} /^kvstream_worker_batch_size_sum/ {s = $2} END {print c + 0, s + 0}'
}

cluster_pids >"$WORK/switches-pids.txt"
counters <"$WORK/switches-pids.txt" >"$WORK/switches-before.txt"
batches >"$WORK/batches-before.txt"
( sleep 3; by_thread "$(cat "$LC_RUN_DIR/worker-1.pid")" $((SECS / 2)) >"$WORK/threads-worker.txt" ) &
( sleep 3; by_thread "$(cat "$LC_RUN_DIR/api-1.pid")" $((SECS / 2)) >"$WORK/threads-api.txt" ) &
( sleep 3; pg_sessions $((SECS / 2)) >"$WORK/pg-sessions.txt" ) &
"${PROBE[@]}" kv "$RATE" "$SECS" 0 "${TARGETS[@]}" | grep '^METRIC'
wait
counters <"$WORK/switches-pids.txt" >"$WORK/switches-after.txt"
batches >"$WORK/batches-after.txt"
awk -v writes=$((RATE * SECS)) -v hz="$(getconf CLK_TCK)" '
    FNR == NR { t[$1] -= $2; s[$1] -= $3; next } { t[$1] += $2; s[$1] += $3 }
    END { for (k in t) printf "%-11s %.3f ms CPU/write %6.2f switches/write\n", k, t[k] * 1000 / hz / writes, s[k] / writes }' \
    "$WORK/switches-before.txt" "$WORK/switches-after.txt" | sort
echo "worker-1 (started first, so it leads) by thread, $((SECS / 2)) s:"
cat "$WORK/threads-worker.txt"
echo "api-1 by thread, $((SECS / 2)) s:"
cat "$WORK/threads-api.txt"
echo "PostgreSQL by session, $((SECS / 2)) s:"
cat "$WORK/pg-sessions.txt"
awk 'FNR == NR { c = $1; s = $2; next } $1 > c { printf "worker-1: %d batches while measured, %.2f commands per batch\n", $1 - c, ($2 - s) / ($1 - c) }' \
    "$WORK/batches-before.txt" "$WORK/batches-after.txt"
echo "worker-1's batches (commands per batch, since it started):"
curl -sf "http://127.0.0.1:$LC_WORKER_PORT/observe/metrics" \
    | grep -E '^kvstream_worker_batch_size(_count|_max|\{.*quantile="0\.(5|99)")' | sed 's/^/  /' || true
