#!/usr/bin/env bash
# Recovery windows: how long no write is acknowledged when a worker, the broker or PostgreSQL fails, beyond the
# outage itself. The local cluster (scripts/local-cluster.sh: 3 API, 2 workers, WebSocket, nginx) runs against a
# private PostgreSQL (initdb + pg_ctl of the Debian binaries, in the scratch dir, own port) and a private RabbitMQ node
# (own node name, ports, config, mnesia and log dirs), so the faults injected here disturb nobody else on the machine.
# Steady synchronous writers (bench/RecoveryProbe.java) PUT new keys straight to the API processes; each run injects,
# in this order:
#   worker-leader-kill9      kill -9 of the worker whose relay leads and which takes the commands (the standby takes
#                            the lead and the commands), not restarted
#   worker-rejoin            that worker started again (it stands by)
#   worker-other-kill9-restart   kill -9 of the other worker (the standby since the rejoin), started again at once
#   broker-restart           rabbitmqctl stop_app, RECOVERY_BROKER_DOWN s, start_app
#   postgres-stop            pg_ctl stop -m fast, RECOVERY_PG_DOWN s, pg_ctl start
# and reports per fault the outage (fault injected → service restored: the broker's port accepts connections again,
# pg_isready answers; 0 for a killed worker) and the longest gap between two acknowledged writes around it; "beyond"
# is the time from the restoration to the end of that gap (for a killed worker, the gap itself). At the end every acknowledged key is read back
# (a lost write shows as missing) and the stored events are checked for a doubled command or a revision gap.
#   bench/recovery.sh        -> bench/results/recovery.md, recovery.tsv
# Tunables: RECOVERY_RUNS [BENCH_RUNS=3], RECOVERY_WRITERS [6], RECOVERY_PERIOD_MS [20] (per writer),
# RECOVERY_BROKER_DOWN [2], RECOVERY_PG_DOWN [6], RECOVERY_OBSERVE [8] seconds watched after each fault,
# RECOVERY_PG_PORT [15442], RECOVERY_AMQP_PORT [5682] (Erlang distribution on +20000), RECOVERY_NAME [recovery].
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools nginx=nginx-light curl=curl rabbitmqctl=rabbitmq-server ss=iproute2
ensure_jar
NAME="${RECOVERY_NAME:-recovery}"
RUNS="${RECOVERY_RUNS:-$RUNS}"
WRITERS="${RECOVERY_WRITERS:-6}"
PERIOD_MS="${RECOVERY_PERIOD_MS:-20}"
BROKER_DOWN="${RECOVERY_BROKER_DOWN:-2}"
PG_DOWN="${RECOVERY_PG_DOWN:-6}"
OBSERVE="${RECOVERY_OBSERVE:-8}"
PG_BIN=/usr/lib/postgresql/15/bin
PG_PRIVATE_PORT="${RECOVERY_PG_PORT:-15442}"
AMQP_PRIVATE_PORT="${RECOVERY_AMQP_PORT:-5682}"
NODE="rt-$NAME@localhost"
SCRATCH="$WORK/$NAME"
PGDATA_DIR="$SCRATCH/pg"
RMQ_DIR="$SCRATCH/rabbitmq"
[[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL 15 server binaries missing ($PG_BIN): apt-get install postgresql-15"

now_ms() { date +%s%3N; }

# ---- private PostgreSQL ---------------------------------------------------------------------------------

as_postgres() { runuser -u postgres -- "$@"; }
pg_private() { as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$SCRATCH/pg.log" "$@"; }

start_private_pg() {
    if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
        mkdir -p "$SCRATCH"
        install -d -o postgres -g postgres "$PGDATA_DIR"
        as_postgres "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust >/dev/null
        printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 200\n" \
            "$PG_PRIVATE_PORT" "$PGDATA_DIR" >>"$PGDATA_DIR/postgresql.conf"
    fi
    touch "$SCRATCH/pg.log" && chown postgres "$SCRATCH/pg.log"
    pg_private -w start >/dev/null
}

stop_private_pg() { pg_private -m fast -w stop >/dev/null 2>&1 || true; }

# ---- private RabbitMQ node ------------------------------------------------------------------------------

rmq_env() {
    env RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf" RABBITMQ_NODENAME="$NODE" \
        RABBITMQ_NODE_PORT="$AMQP_PRIVATE_PORT" RABBITMQ_DIST_PORT="$((AMQP_PRIVATE_PORT + 20000))" \
        RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf" RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia" \
        RABBITMQ_LOG_BASE="$RMQ_DIR/log" RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins" \
        RABBITMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid" "$@"
}
rmqctl() { rmq_env rabbitmqctl -q -n "$NODE" "$@"; }

start_private_rabbitmq() {
    mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
    printf 'ERL_EPMD_ADDRESS=127.0.0.1\nexport ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n' \
        >"$RMQ_DIR/rabbitmq-env.conf"
    printf 'listeners.tcp.local = 127.0.0.1:%s\nloopback_users = none\n' "$AMQP_PRIVATE_PORT" >"$RMQ_DIR/rabbitmq.conf"
    echo '[].' >"$RMQ_DIR/enabled_plugins"
    chown -R rabbitmq:rabbitmq "$RMQ_DIR"
    chmod 755 "$SCRATCH" "$WORK"
    port_free "$AMQP_PRIVATE_PORT" || die "port $AMQP_PRIVATE_PORT (private RabbitMQ) is in use"
    rmq_env rabbitmq-server -detached >/dev/null 2>&1 || true
    rmqctl wait --timeout 60 "$RMQ_DIR/rabbitmq.pid" >/dev/null 2>&1 || die "private RabbitMQ $NODE did not start"
    log "private RabbitMQ $NODE on 127.0.0.1:$AMQP_PRIVATE_PORT"
}

stop_private_rabbitmq() { rmqctl stop >/dev/null 2>&1 || true; }

# ---- the cluster ----------------------------------------------------------------------------------------

DB_URL="jdbc:postgresql://127.0.0.1:$PG_PRIVATE_PORT/postgres" DB_USERNAME=postgres DB_PASSWORD=""
AMQP_URI="amqp://guest:guest@127.0.0.1:$AMQP_PRIVATE_PORT/%2f"
KV_JAVA_OPTS="${KV_JAVA_OPTS:--Xmx512m}"
use_local_cluster "$NAME" 19170
PROC_DIR="$LC_RUN_DIR"
export LC_WORKERS=2
WORKER_PORTS=(19174 19176)
API_URLS=(http://127.0.0.1:19171 http://127.0.0.1:19172 http://127.0.0.1:19173)

cleanup() {
    touch "$SCRATCH/stop"
    "$CLUSTER" down >/dev/null 2>&1 || true
    stop_private_rabbitmq
    stop_private_pg
}
trap cleanup EXIT

# The worker process whose relay holds the lead: the advisory lock's session → its client port → the process.
leader_worker() {
    local port pid n
    port="$(psql_db -Atc "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                          WHERE l.locktype = 'advisory' AND l.granted LIMIT 1")"
    [[ -n "$port" ]] || return 0
    pid="$(ss -Htnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)"
    for n in 1 2; do
        [[ "$(pid_of "worker-$n")" == "$pid" ]] && echo "$n"
    done
}

# wait_leader : until one worker leads (at most 10 s); prints its number
wait_leader() {
    local deadline=$((SECONDS + 10)) n
    while ((SECONDS < deadline)); do
        n="$(leader_worker)"
        [[ -n "$n" ]] && { echo "$n"; return; }
        sleep 0.2
    done
    die "no worker leads the relay"
}

restart_worker() {
    local n="$1" deadline=$((SECONDS + 10))
    rm -f "$LC_RUN_DIR/worker-$n.pid"
    # A process killed a moment ago may still hold its port while the kernel tears it down.
    until port_free "${WORKER_PORTS[$((n - 1))]}" || ((SECONDS >= deadline)); do
        sleep 0.02
    done
    # shellcheck disable=SC2086 # the JVM options are words
    spawn_kvstream "worker-$n" worker "${WORKER_PORTS[$((n - 1))]}" "$LC_DB_SCHEMA" "$LC_AMQP_PREFIX" $KV_JAVA_OPTS
    wait_kvstream "worker-$n" "${WORKER_PORTS[$((n - 1))]}"
}

# fault NAME START END : one line of the faults file, observed until now + OBSERVE s (slept here)
fault() {
    sleep "$OBSERVE"
    echo "$1 $2 $3 $(now_ms)" >>"$FAULTS"
    log "  $1: outage $(($3 - $2)) ms"
}

one_run() {
    local run="$1" leader other t0 t1
    ACKS="$SCRATCH/acks-$run.txt" FAULTS="$SCRATCH/faults-$run.txt"
    rm -f "$SCRATCH/stop" "$FAULTS"
    "${PROBE[@]}" write "$WRITERS" "$PERIOD_MS" "$ACKS" "$SCRATCH/stop" "${API_URLS[@]}" &
    local probe=$!
    sleep 5

    leader="$(wait_leader)" other=$((3 - leader))
    log "run $run: kill -9 worker-$leader (relay leader)"
    t0="$(now_ms)"
    kill -9 "$(pid_of "worker-$leader")"
    fault worker-leader-kill9 "$t0" "$t0"

    log "run $run: worker-$leader started again"
    t0="$(now_ms)"
    restart_worker "$leader"
    fault worker-rejoin "$t0" "$t0"

    leader="$(wait_leader)" other=$((3 - leader))
    log "run $run: kill -9 worker-$other (the standby), started again at once"
    t0="$(now_ms)"
    kill -9 "$(pid_of "worker-$other")"
    restart_worker "$other"
    fault worker-other-kill9-restart "$t0" "$t0"

    log "run $run: RabbitMQ stop_app, ${BROKER_DOWN} s, start_app"
    t0="$(now_ms)"
    rmqctl stop_app >/dev/null
    sleep "$BROKER_DOWN"
    rmqctl start_app >/dev/null &
    # Restored: the broker accepts connections again (start_app returns a while later).
    until ! port_free "$AMQP_PRIVATE_PORT"; do
        sleep 0.02
    done
    t1="$(now_ms)"
    wait $!
    fault broker-restart "$t0" "$t1"

    log "run $run: PostgreSQL stop -m fast, ${PG_DOWN} s, start"
    t0="$(now_ms)"
    pg_private -m fast -w stop >/dev/null
    sleep "$PG_DOWN"
    pg_private start >/dev/null
    # Restored: PostgreSQL accepts sessions again.
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PRIVATE_PORT"; do
        sleep 0.02
    done
    t1="$(now_ms)"
    fault postgres-stop "$t0" "$t1"

    touch "$SCRATCH/stop"
    wait "$probe"
    "${PROBE[@]}" windows "$ACKS" "$FAULTS" >&2
    "${PROBE[@]}" verify "$ACKS" "${API_URLS[0]}" | tee -a "$SCRATCH/verify.txt" >&2
}

mkdir -p "$WORK/probe"
"$(jdk_tool javac)" -d "$WORK/probe" "$BENCH_DIR/RecoveryProbe.java" || die "cannot compile the probe"
PROBE=("$JAVA" -XX:+UseSerialGC -Xmx256m -cp "$WORK/probe" RecoveryProbe)
# `bench/recovery.sh report` writes the report again from the files of the last runs (no run).
if [[ "${1:-}" != report ]]; then
    rm -rf "$SCRATCH" "$LC_RUN_DIR"
    mkdir -p "$SCRATCH"
    start_private_pg
    start_private_rabbitmq
    "$CLUSTER" up
    {
        echo "LOAD='$(cut -d' ' -f1-3 /proc/loadavg)' JAR_BUILT='$(date -u -r "$JAR" '+%Y-%m-%d %H:%M UTC')'"
        echo "COMMIT='$(git -C "$ROOT" rev-parse --short HEAD)'"
    } >"$SCRATCH/about"
    for run in $(seq "$RUNS"); do
        one_run "$run"
    done
    psql_db -Atc "SELECT 'DOUBLED=' || (count(*) - count(DISTINCT command_id)),
                         'GAPS=' || (max(revision) - min(revision) + 1 - count(*))
                  FROM \"$LC_DB_SCHEMA\".kv_events" | tr '|' ' ' >>"$SCRATCH/about"
fi
# shellcheck disable=SC1091
source "$SCRATCH/about"
rm -f "$SCRATCH/windows.txt"
for faults in "$SCRATCH"/faults-*.txt; do
    "${PROBE[@]}" windows "${faults/faults-/acks-}" "$faults" >>"$SCRATCH/windows.txt"
done
RUNS="$(find "$SCRATCH" -name 'faults-*.txt' | wc -l)"

{
    echo "### Recovery windows: no write acknowledged beyond the outage itself"
    echo
    echo "\`bench/recovery.sh\` — \`scripts/local-cluster.sh\` (3 API, 2 workers, WebSocket, nginx) on a private PostgreSQL 15"
    echo "and a private RabbitMQ node; $WRITERS synchronous writers (one PUT of a new key every ${PERIOD_MS} ms at most each,"
    echo "straight to the API processes), $RUNS runs. Outage: fault injected → restored (the broker accepts connections"
    echo "again / \`pg_isready\` answers; 0 for a killed worker, as the other one is still there). Gap: the"
    echo "longest time between two acknowledged writes around the fault (observed ${OBSERVE} s after it). Beyond: from the"
    echo "restoration to the end of that gap (for a killed worker: the gap). Load average before the runs: $LOAD."
    echo "Jar built $JAR_BUILT, in a worktree at commit $COMMIT."
    echo
    echo "| fault | outage ms median | longest gap ms median (min–max) | beyond the outage ms median (min–max) |"
    echo "|---|---|---|---|"
    for f in worker-leader-kill9 worker-rejoin worker-other-kill9-restart broker-restart postgres-stop; do
        lines="$(grep "^WINDOW $f " "$SCRATCH/windows.txt")"
        printf '| %s | %s | %s | %s |\n' "$f" "$(echo "$lines" | awk '{print $3}' | median)" \
            "$(echo "$lines" | awk '{print $4}' | spread '%.0f')" "$(echo "$lines" | awk '{print $5}' | spread '%.0f')"
    done
    echo
    echo "Acknowledged writes read back: $(awk '{for (i = 2; i <= NF; i++) {split($i, kv, "="); s[kv[1]] += kv[2]}}
        END {printf "%d, missing %d, changed %d", s["acked"], s["missing"], s["wrong"]}' "$SCRATCH/verify.txt");"
    echo "stored events with a doubled command id: $DOUBLED; revision gaps: $GAPS."
    echo
} >"$RESULTS/$NAME.md"
awk '{print "RECOVERY\t" $2 "\t" $3 "\t" $4 "\t" $5}' "$SCRATCH/windows.txt" >"$RESULTS/$NAME.tsv"
cat "$RESULTS/$NAME.md"
