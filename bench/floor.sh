#!/usr/bin/env bash
# What RabbitMQ and PostgreSQL spend on a write that travels through them alone (its own messages, nothing batched, and
# one commit), at a fixed rate, beside etcd's whole CPU per write at that rate: how much of etcd's budget the two
# servers take before any kvstream JVM does anything, when batches hold one command (the latency section's target).
# - broker: bench/BrokerFloor.java, a transient command with its confirm, its delivery and ack, and one event with its
#   confirm fanned out to FLOOR_REPLICAS [4] queues (three API processes and the WebSocket process), per write;
# - PostgreSQL: pgbench at the rate on one connection (the leading worker's), one single-row upsert per transaction
#   (the same as put.sh's), synchronous_commit on;
# - etcd: bench/LatencyProbe.java's etcd mode (put through the JSON gateway, a watch stream open), its process's CPU.
# Interleaved run by run, CPU per write from /proc (utime + stime; PostgreSQL's ended backends via the postmaster's
# children's time). Knobs: FLOOR_RATE [1000], FLOOR_REPLICAS [4], FLOOR_PROBE_OPTS [] (JVM flags of the broker probe,
# e.g. -DnoCommandConfirm=true or -DautoAck=true: see bench/BrokerFloor.java), BENCH_RUNS, BENCH_DURATION.
#   bench/floor.sh         -> bench/results/floor.md, floor.tsv
#   bench/floor.sh report  -> floor.md again from the last run's measurements (no runs)
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools etcd=etcd-server pgbench=postgresql-contrib curl=curl
ensure_jar
RATE="${FLOOR_RATE:-1000}" REPLICAS="${FLOOR_REPLICAS:-4}"
ETCD=19209 ETCD_PEER=19210 PG_SCHEMA=bench_floor
# floor_ticks : "component ticks" of PostgreSQL (its backends that ended meanwhile included, through the oldest
# postgres process's children's time), etcd, RabbitMQ and the machine
floor_ticks() {
    local pid t=0
    for pid in $(pgrep -x postgres); do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
    pid="$(pgrep -o -x postgres)"
    echo "postgresql $((t + $(awk '{print $16 + $17}' "/proc/$pid/stat")))"
    pid_ticks etcd "$(pid_of floor-etcd)"
    server_ticks beam.smp:rabbitmq
}
# measured OUT WRITES CMD... : runs CMD between two samples and appends "CPU component ms-per-write" to OUT
measured() {
    local out="$1" writes="$2"
    shift 2
    floor_ticks >"$WORK/cpu-before.txt"
    "$@" >>"$out"
    floor_ticks >"$WORK/cpu-after.txt"
    cpu_per_write "$WORK/cpu-before.txt" "$WORK/cpu-after.txt" "$writes" >>"$out"
}
pgbench_at_rate() {
    PGOPTIONS='-c synchronous_commit=on' pgbench -n -h "$PG_HOST" -p "$PG_PORT" -U "$DB_USERNAME" -c 1 -j 1 \
        -R "$RATE" -T "$1" -M prepared -f "$WORK/floor-upsert.sql" "$PG_DB" 2>&1 | awk '/^tps = / {print "TPS", $3}'
}

if [[ "${1:-}" != report ]]; then
    trap 'stop_proc floor-etcd; psql_db <<<"DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1' EXIT
    start_etcd floor-etcd "$ETCD" "$ETCD_PEER"
    latency_probe
    LIBS="$(dirname "$JAR")/libs"
    "$(jdk_tool javac)" -d "$WORK/probe" -cp "$LIBS/*" "$BENCH_DIR/BrokerFloor.java" || die "cannot compile BrokerFloor"
    BROKER_PROBE=("$JAVA" -XX:+UseSerialGC ${FLOOR_PROBE_OPTS:-} -cp "$WORK/probe:$LIBS/*" BrokerFloor "$AMQP_URI")
    VALUE="$(head -c 100 /dev/zero | tr '\0' v)"
    pgbench_upsert "$PG_SCHEMA" "$WORK/floor-upsert.sql" 10000 bench- "$VALUE"

    log "warming up: 10 s of each at $RATE/s (not measured)"
    "${BROKER_PROBE[@]}" "$RATE" 10 "$REPLICAS" >/dev/null
    pgbench_at_rate 10 >/dev/null
    "${PROBE[@]}" etcd "$RATE" 10 0 "http://127.0.0.1:$ETCD" >/dev/null 2>&1
    wait_for_quiet
    LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
    WRITES=$((RATE * DURATION))
    rm -f "$WORK"/floor-*.txt
    for run in $(seq "$RUNS"); do
        log "run $run/$RUNS: broker hops of $RATE writes/s for $DURATION s"
        measured "$WORK/floor-broker.txt" "$WRITES" "${BROKER_PROBE[@]}" "$RATE" "$DURATION" "$REPLICAS"
        log "run $run/$RUNS: pgbench upsert at $RATE/s for $DURATION s"
        measured "$WORK/floor-pg.txt" "$WRITES" pgbench_at_rate "$DURATION"
        log "run $run/$RUNS: etcd at $RATE put/s for $DURATION s"
        measured "$WORK/floor-etcd.txt" "$WRITES" "${PROBE[@]}" etcd "$RATE" "$DURATION" 0 "http://127.0.0.1:$ETCD"
    done
    echo "$LOAD" >"$WORK/floor-load.txt"
fi
LOAD="$(cat "$WORK/floor-load.txt")"
# cpu_spread FILE COMPONENT : median (min–max) over the runs of the component's ms per write
cpu_spread() { awk -v c="$2" '$1 == "CPU" && $2 == c {print $3}' "$1" | spread '%.3f'; }
BROKER="$(cpu_of "$WORK/floor-broker.txt" rabbitmq)" PG="$(cpu_of "$WORK/floor-pg.txt" postgresql)"
ETCD_CPU="$(cpu_of "$WORK/floor-etcd.txt" etcd)"
SUM="$(awk -v a="$BROKER" -v b="$PG" 'BEGIN { printf "%.3f", a + b }')"
RECEIVED="$(awk '$1 == "RECEIVED" {s += $2} END {print s + 0}' "$WORK/floor-broker.txt")"
SENT="$(awk '$1 == "SENT" {s += $2} END {print s + 0}' "$WORK/floor-broker.txt")"
{
    echo "### What RabbitMQ and PostgreSQL spend on a write that travels alone, at $RATE/s, beside etcd"
    echo
    echo "\`bench/floor.sh\` — the two servers' CPU per write when each write goes through them on its own: one"
    echo "command and one event, nothing batched, and one commit, at $RATE writes/s, $RUNS × ${DURATION} s each,"
    echo "interleaved with etcd at the same rate. Broker (\`bench/BrokerFloor.java\`): a transient command published with a"
    echo "confirm, delivered and acknowledged, and one transient event published with a confirm to a fanout exchange with"
    echo "$REPLICAS auto-acknowledged queues, each on a connection of its own ($SENT writes sent, $RECEIVED of $((SENT * REPLICAS))"
    echo "deliveries arrived). PostgreSQL: pgbench on one connection at the rate, one single-row upsert per transaction"
    echo "(put.sh's). etcd: \`bench/LatencyProbe.java\` etcd mode (JSON gateway, a watch open). ms of CPU per write, /proc"
    echo "utime + stime, median (min–max). Load average before: $LOAD."
    echo
    echo "| what | ms CPU per write |"
    echo "|---|---|"
    echo "| RabbitMQ: a command and an event to $REPLICAS replicas | $(cpu_spread "$WORK/floor-broker.txt" rabbitmq) |"
    echo "| PostgreSQL: one single-row upsert committed | $(cpu_spread "$WORK/floor-pg.txt" postgresql) |"
    echo "| both | $SUM |"
    echo "| etcd's process | $(cpu_spread "$WORK/floor-etcd.txt" etcd) |"
    echo
    echo "Writes that travel alone cost these two servers $(awk -v a="$SUM" -v b="$ETCD_CPU" 'BEGIN { printf "%.2f", a / b }')×"
    echo "etcd's whole CPU per write, which would leave $(awk -v a="$SUM" -v b="$ETCD_CPU" 'BEGIN { printf "%.3f", b - a }') ms"
    echo "per write for kvstream's JVMs (HTTP, command, commit, replicas, WebSocket) to match etcd. kvstream sends what"
    echo "arrives together as one message and one commit (the latency section's commands per batch), so it spends less on"
    echo "them than this at the same rate; PostgreSQL's row is one row, where a kvstream write also records its event and"
    echo "its command."
} | tee "$RESULTS/floor.md"
awk '$1 == "CPU" {print FILENAME "\t" $2 "\t" $3}' "$WORK"/floor-*.txt | sed "s|$WORK/floor-||; s|\.txt||" >"$RESULTS/floor.tsv"
