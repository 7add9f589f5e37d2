#!/usr/bin/env bash
# The servers' floor under one kvstream write at a fixed rate, beside etcd's whole cost at that rate: what RabbitMQ
# and PostgreSQL spend per write when nothing but the write's own messages and one commit go through them. It bounds
# the latency section's CPU target from below: kvstream cannot spend less than this outside its JVMs.
# - broker: bench/BrokerFloor.java, a transient command with its confirm, its delivery and ack, and one event with its
#   confirm fanned out to FLOOR_REPLICAS [4] queues (three API processes and the WebSocket process), per write;
# - PostgreSQL: pgbench at the rate on one connection (the leading worker's), one single-row upsert per transaction
#   (the same as put.sh's), synchronous_commit on;
# - etcd: bench/LatencyProbe.java's etcd mode (put through the JSON gateway, a watch stream open), its process's CPU.
# Interleaved run by run, CPU per write from /proc (utime + stime; PostgreSQL's ended backends via the postmaster's
# children's time). Knobs: FLOOR_RATE [1000], FLOOR_REPLICAS [4], FLOOR_PROBE_OPTS [] (JVM flags of the broker probe,
# e.g. -DnoCommandConfirm=true or -DautoAck=true: see bench/BrokerFloor.java), BENCH_RUNS, BENCH_DURATION.
#   bench/floor.sh        -> bench/results/floor.md, floor.tsv
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools etcd=etcd-server pgbench=postgresql-contrib curl=curl
ensure_jar
RATE="${FLOOR_RATE:-1000}" REPLICAS="${FLOOR_REPLICAS:-4}"
ETCD=19209 ETCD_PEER=19210 PG_SCHEMA=bench_floor
trap 'stop_proc floor-etcd; psql_db <<<"DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1' EXIT
start_etcd floor-etcd "$ETCD" "$ETCD_PEER"
latency_probe
LIBS="$(dirname "$JAR")/libs"
"$(jdk_tool javac)" -d "$WORK/probe" -cp "$LIBS/*" "$BENCH_DIR/BrokerFloor.java" || die "cannot compile BrokerFloor"
BROKER_PROBE=("$JAVA" -XX:+UseSerialGC ${FLOOR_PROBE_OPTS:-} -cp "$WORK/probe:$LIBS/*" BrokerFloor "$AMQP_URI")
VALUE="$(head -c 100 /dev/zero | tr '\0' v)"
psql_db <<SQL
DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE;
CREATE SCHEMA $PG_SCHEMA;
CREATE TABLE $PG_SCHEMA.kv (key text COLLATE "C" PRIMARY KEY, value text NOT NULL, mod_revision bigint NOT NULL);
SQL
cat >"$WORK/floor-upsert.sql" <<SQL
\set k random(0, 9999)
INSERT INTO $PG_SCHEMA.kv (key, value, mod_revision) VALUES ('bench-' || lpad(:k::text, 7, '0'), '$VALUE', 1)
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, mod_revision = $PG_SCHEMA.kv.mod_revision + 1;
SQL

# floor_ticks : "component ticks" of RabbitMQ, PostgreSQL (its backends that ended meanwhile included, through the
# oldest postgres process's children's time), etcd and the machine
floor_ticks() {
    local pid t=0
    for pid in $(pgrep -x beam.smp); do pid_ticks rabbitmq "$pid"; done
    for pid in $(pgrep -x postgres); do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
    pid="$(pgrep -o -x postgres)"
    echo "postgresql $((t + $(awk '{print $16 + $17}' "/proc/$pid/stat")))"
    pid_ticks etcd "$(pid_of floor-etcd)"
    echo "machine $(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat)"
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

# cpu FILE COMPONENT : the median over the runs of the component's ms per write
cpu() { awk -v c="$2" '$1 == "CPU" && $2 == c {print $3}' "$1" | median; }
cpu_spread() { awk -v c="$2" '$1 == "CPU" && $2 == c {print $3}' "$1" | spread '%.3f'; }
BROKER="$(cpu "$WORK/floor-broker.txt" rabbitmq)" PG="$(cpu "$WORK/floor-pg.txt" postgresql)"
ETCD_CPU="$(cpu "$WORK/floor-etcd.txt" etcd)"
SUM="$(awk -v a="$BROKER" -v b="$PG" 'BEGIN { printf "%.3f", a + b }')"
RECEIVED="$(awk '$1 == "RECEIVED" {s += $2} END {print s + 0}' "$WORK/floor-broker.txt")"
SENT="$(awk '$1 == "SENT" {s += $2} END {print s + 0}' "$WORK/floor-broker.txt")"
{
    echo "### The servers' floor under a write at $RATE/s, beside etcd"
    echo
    echo "\`bench/floor.sh\` — what RabbitMQ and PostgreSQL spend per write when nothing but one write's own broker"
    echo "traffic and one commit go through them, at $RATE writes/s, $RUNS × ${DURATION} s each, interleaved with etcd at"
    echo "the same rate. Broker (\`bench/BrokerFloor.java\`): a transient command published with a confirm, delivered and"
    echo "acknowledged, and one transient event published with a confirm to a fanout exchange with $REPLICAS auto-acknowledged"
    echo "queues, each on a connection of its own ($SENT writes sent, $RECEIVED of $((SENT * REPLICAS)) deliveries arrived)."
    echo "PostgreSQL: pgbench on one connection at the rate, one single-row upsert per transaction (put.sh's)."
    echo "etcd: \`bench/LatencyProbe.java\` etcd mode (JSON gateway, a watch open). ms of CPU per write, /proc utime +"
    echo "stime, median (min–max). Load average before: $LOAD."
    echo
    echo "| what | ms CPU per write | machine ms CPU per write |"
    echo "|---|---|---|"
    echo "| RabbitMQ: a command and an event to $REPLICAS replicas | $(cpu_spread "$WORK/floor-broker.txt" rabbitmq) | $(cpu_spread "$WORK/floor-broker.txt" machine) |"
    echo "| PostgreSQL: one single-row upsert committed | $(cpu_spread "$WORK/floor-pg.txt" postgresql) | $(cpu_spread "$WORK/floor-pg.txt" machine) |"
    echo "| the two servers' floor, no JVM counted | $SUM | |"
    echo "| etcd's process | $(cpu_spread "$WORK/floor-etcd.txt" etcd) | $(cpu_spread "$WORK/floor-etcd.txt" machine) |"
    echo
    echo "The floor is $(awk -v a="$SUM" -v b="$ETCD_CPU" 'BEGIN { printf "%.2f", a / b }')× etcd's process: what is left"
    echo "of etcd's CPU per write for kvstream's JVMs (HTTP, command, commit, replicas, WebSocket) is"
    echo "$(awk -v a="$SUM" -v b="$ETCD_CPU" 'BEGIN { printf "%.3f", b - a }') ms."
} | tee "$RESULTS/floor.md"
awk '$1 == "CPU" {print FILENAME "\t" $2 "\t" $3}' "$WORK"/floor-*.txt | sed "s|$WORK/floor-||; s|\.txt||" >"$RESULTS/floor.tsv"
