# Helpers of the bench/*.sh scripts (sourced, not run), on top of scripts/lib.sh (the JDK, the jar, apt, processes,
# PostgreSQL, nginx) shared with scripts/local-cluster.sh. Loopback only, bounded durations.
# Tunables (environment): BENCH_RUNS [3] runs per contestant, BENCH_DURATION [10] seconds per run,
# BENCH_WARMUP [20] seconds of load before the measured runs,
# BENCH_CONNECTIONS [64], BENCH_THREADS [2] wrk threads, BENCH_MAX_LOAD [1.5] load average to wait for,
# BENCH_MAX_WAIT [300] seconds to wait for it, BENCH_WORK [/tmp/kvstream-bench] scratch dir,
# BENCH_BROKER_SCHEDULERS [1] Erlang schedulers online in the machine's RabbitMQ (0: leave it as it is),
# BENCH_DB_URL / BENCH_DB_USERNAME / BENCH_DB_PASSWORD / BENCH_AMQP_URI (defaults: the machine's PostgreSQL and
# RabbitMQ), BENCH_JAR [target/kvstream.jar], BENCH_SUFFIX [] and BENCH_PORT_OFFSET [0] for put.sh: appended to its
# schema and queue names and added to its ports, so that a second run beside another one on the same servers touches
# none of its schemas, queues or ports (ab.sh has AB_NAME and AB_PORT for that).
# shellcheck shell=bash disable=SC2034 # the settings below are read by the bench scripts
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"
LOG_TAG=bench LOG_CLOCK=1
RESULTS="$BENCH_DIR/results"
WORK="${BENCH_WORK:-/tmp/kvstream-bench}"
RUNS="${BENCH_RUNS:-3}"
DURATION="${BENCH_DURATION:-10}"
# Load before the measured runs: the JIT needs ~20 s of load on 2 shared cores to reach steady state.
WARMUP_S="${BENCH_WARMUP:-20}"
CONNS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-2}"
DB_URL="${BENCH_DB_URL:-jdbc:postgresql://127.0.0.1:5432/test}"
DB_USERNAME="${BENCH_DB_USERNAME:-postgres}"
DB_PASSWORD="${BENCH_DB_PASSWORD:-}"
AMQP_URI="${BENCH_AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/%2f}"
JAR="${BENCH_JAR:-$ROOT/target/kvstream.jar}"
SUFFIX="${BENCH_SUFFIX:-}"
PORT_OFFSET="${BENCH_PORT_OFFSET:-0}"
JCMD="$(jdk_tool jcmd)"
JFR="$(jdk_tool jfr)"
# The processes' files (NAME.pid, .log, .ready-ms) go to the scratch dir; readiness is probed often, as time to
# ready is measured.
PROC_DIR="$WORK" READY_TIMEOUT=180 READY_POLL=0.05
# The chart gives its broker one CPU (limits.cpu), and Erlang runs as many schedulers as its cgroup's CPU quota;
# the machine's RabbitMQ runs one per core. On 2 shared cores the second one adds wake-ups and thread switches, not
# throughput (bench/results/ab/latency-broker-one-scheduler.md), so the benchmarks measure the broker as the chart
# runs it; so do the nodes of a cluster that scripts/rabbitmq-cluster.sh starts for a benchmark.
BROKER_SCHEDULERS="${BENCH_BROKER_SCHEDULERS:-1}"
if ((BROKER_SCHEDULERS > 0)); then
    export RMQ_CLUSTER_SCHEDULERS="${RMQ_CLUSTER_SCHEDULERS:-$BROKER_SCHEDULERS}"
fi
mkdir -p "$RESULTS" "$WORK"
pg_parse_url "$DB_URL"

# ---- machine --------------------------------------------------------------------------------------------

load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits (bounded) until the 1-minute load average is below BENCH_MAX_LOAD; never fails, just notes it.
wait_for_quiet() {
    local max="${BENCH_MAX_LOAD:-1.5}" deadline=$((SECONDS + ${BENCH_MAX_WAIT:-300}))
    while awk -v l="$(load1)" -v m="$max" 'BEGIN { exit !(l > m) }'; do
        if ((SECONDS >= deadline)); then
            log "load average still $(load1) (> $max) after ${BENCH_MAX_WAIT:-300}s: measuring anyway"
            return
        fi
        sleep 5
    done
}

# broker_schedulers : the machine's RabbitMQ (rabbitmqctl's default node) to BENCH_BROKER_SCHEDULERS schedulers
# online, at run time (no restart; it stays so after the benchmark)
broker_schedulers() {
    ((BROKER_SCHEDULERS > 0)) || return 0
    rabbitmqctl -q eval "erlang:system_flag(schedulers_online, $BROKER_SCHEDULERS)." >/dev/null 2>&1 \
        || log "could not set the machine's RabbitMQ to $BROKER_SCHEDULERS schedulers online"
}

machine_info() {
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc)"
    echo "- memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r)"
    echo "- JVM: $("$JAVA" -version 2>&1 | head -1); nginx $(nginx -v 2>&1 | cut -d/ -f2); etcd $(etcd --version 2>/dev/null | head -1 | awk '{print $3}'); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); $(psql_db -Atc 'SELECT version()' | cut -d' ' -f1-2)"
    echo "- code: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n "$(git -C "$ROOT" status --porcelain -- src pom.xml 2>/dev/null)" ]] && echo ' + uncommitted changes in src/'), jar built $(date -u -r "$JAR" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo '?')"
    echo "- RabbitMQ: $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null | cut -d- -f1), $(rabbitmqctl -q eval 'erlang:system_info(schedulers_online).' 2>/dev/null || echo '?') of $(nproc) Erlang schedulers online (\`BENCH_BROKER_SCHEDULERS\`)"
    echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    machine_gauge
}

# machine_gauge : one line of bench/MachineGauge.java's figures, to tell a change of machine from a change of code
machine_gauge() {
    local figures cpu handoff fsync
    mkdir -p "$WORK"
    figures="$("$JAVA" "$BENCH_DIR/MachineGauge.java" "$WORK" 2>/dev/null)" || { echo "- gauge: failed"; return; }
    read -r cpu handoff fsync <<<"$figures"
    echo "- gauge (\`bench/MachineGauge.java\`, medians): a CPU step ${cpu} ns, a hand-off between two threads and back" \
         "${handoff} µs, an 8 KiB write + fdatasync ${fsync} µs"
}

# ---- statistics -----------------------------------------------------------------------------------------

# median / min / max of the numbers on stdin
stats() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan nan"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s %s %s\n", m, v[1], v[NR] }'
}
median() { stats | awk '{print $1}'; }
# "median (min–max)" formatted with a printf format
spread() { stats | awk -v f="$1" '{ printf f " (" f "–" f ")", $1, $2, $3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f×", a / b }'; }

# ---- wrk ------------------------------------------------------------------------------------------------

# wrk_run OUT URL [LUA] : appends one "rps p50_ms p99_ms errors non2xx requests" line to OUT (requests: the answers
# received, whatever their status)
wrk_run() {
    local out="$1" url="$2" script="${3:-$BENCH_DIR/wrk/get.lua}" line
    line="$(BENCH_DIR="$BENCH_DIR" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$script" "$url" \
            | grep '^RESULT' || true)"
    [[ -n "$line" ]] || die "wrk produced no result for $url"
    echo "$line" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
                          print r["rps"], r["p50_ms"], r["p99_ms"], r["errors"], r["non2xx"], r["requests"] }' >>"$out"
    log "  $(tail -1 "$out") <- $url"
}

# ---- processes ------------------------------------------------------------------------------------------

# use_local_cluster NAME BASE_PORT : settings for scripts/local-cluster.sh ($CLUSTER): Ingress on BASE_PORT, the 3 API
# processes on BASE_PORT+1..3, worker +4, WebSocket +5, schema bench_NAME, AMQP prefix bench-NAME, $KV_JAVA_OPTS; AOT
# caches only with KV_AOT_CACHE_DIR (a run that records one is not like the others).
use_local_cluster() {
    local name="$1" base="$2"
    export LC_RUN_DIR="$WORK/cluster-$name" LC_INGRESS_PORT="$base" \
           LC_API_PORTS="$((base + 1)) $((base + 2)) $((base + 3))" LC_WORKER_PORT="$((base + 4))" \
           LC_WS_PORT="$((base + 5))" LC_DB_SCHEMA="bench_$name" LC_AMQP_PREFIX="bench-$name" \
           LC_JAR="$JAR" LC_JAVA_OPTS="${KV_JAVA_OPTS:--Xmx1g}" LC_DB_URL="$DB_URL" LC_DB_USERNAME="$DB_USERNAME" \
           LC_AMQP_URI="$AMQP_URI" LC_AOT_CACHE_DIR="${KV_AOT_CACHE_DIR:-}"
    CLUSTER="$ROOT/scripts/local-cluster.sh"
}

# start_etcd NAME CLIENT_PORT PEER_PORT : a single-member etcd with its own data dir (default fsync)
start_etcd() {
    local name="$1" client="$2" peer="$3"
    rm -rf "$WORK/$name.etcd"
    spawn "$name" etcd --name "$name" --data-dir "$WORK/$name.etcd" \
        --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "$name=http://127.0.0.1:$peer" --log-level error
    wait_ready "$name" "http://127.0.0.1:$client/health"
}

# start_nginx_static NAME PORT ROOT_DIR : nginx serving files, tuned like the Ingress (keepalive, no logs)
start_nginx_static() {
    local name="$1" port="$2" docroot="$3"
    nginx_write_conf "$WORK/$name.nginx" auto "    sendfile on;
    tcp_nopush on;
    open_file_cache max=100;
    keepalive_requests 1000000;
    default_type application/json;
    server {
        listen 127.0.0.1:$port backlog=4096;
        root $docroot;
    }"
    nginx_start "$WORK/$name.nginx" "$port"
}

stop_nginx_static() { nginx_stop "$WORK/$1.nginx"; }

# pgbench_upsert SCHEMA SCRIPT KEYSPACE KEY_PREFIX VALUE : a fresh SCHEMA holding a table shaped as kv_values, and
# the pgbench SCRIPT that upserts one random key of KEYSPACE (KEY_PREFIX and 7 digits, as the benchmarks' keys) with
# VALUE per transaction
pgbench_upsert() {
    local schema="$1" script="$2" keyspace="$3" key_prefix="$4" value="$5"
    psql_db <<SQL
DROP SCHEMA IF EXISTS $schema CASCADE;
CREATE SCHEMA $schema;
CREATE TABLE $schema.kv (key text COLLATE "C" PRIMARY KEY, value text NOT NULL, mod_revision bigint NOT NULL);
SQL
    cat >"$script" <<SQL
\set k random(0, $((keyspace - 1)))
INSERT INTO $schema.kv (key, value, mod_revision) VALUES ('$key_prefix' || lpad(:k::text, 7, '0'), '$value', 1)
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, mod_revision = $schema.kv.mod_revision + 1;
SQL
}

# ---- the local cluster: queues and CPU per write ----------------------------------------------------

# An overloaded run leaves commands queued for the worker and events queued for the replicas: let every queue
# on the broker drain (bounded) before the next run. drain [QUEUE_PREFIX]: only the queues whose name starts with it
# (others' runs on the same broker then do not hold this one up).
drain() {
    local deadline=$((SECONDS + 90)) depth
    while ((SECONDS < deadline)); do
        depth="$(rabbitmqctl -q list_queues name messages 2>/dev/null \
                 | awk -v p="${1:-}" 'index($1, p) == 1 && $2 ~ /^[0-9]+$/ {s += $2} END {print s + 0}')"
        [[ "$depth" == 0 ]] && return
        sleep 1
    done
    log "the broker still holds $depth messages after 90 s"
}
# cluster_pids : "process pid" for each process a write crosses on the local cluster of use_local_cluster: its
# kvstream processes by name (api-1, …, websocket), then every rabbitmq, postgresql and nginx process on the machine.
cluster_pids() {
    local name pid
    for name in api-1 api-2 api-3 worker-1 worker-2 websocket; do
        echo "$name $(cat "$LC_RUN_DIR/$name.pid")"
    done
    for name in beam.smp:rabbitmq postgres:postgresql nginx:nginx; do
        for pid in $(pgrep -x "${name%%:*}"); do echo "${name##*:} $pid"; done
    done
}
# cpu_ticks : "component ticks" for each process a write crosses (utime + stime from /proc, all threads), the API
# processes as one component and the workers as another (cluster_pids), then the machine's.
cpu_ticks() {
    local name pid
    cluster_pids | while read -r name pid; do
        pid_ticks "${name%-[0-9]}" "$pid"
    done
    server_ticks
}
# server_ticks COMMAND:COMPONENT... : "component ticks" summed over every process of each command, then the machine's
# (no argument: the machine's alone)
server_ticks() {
    local name pid
    for name in "$@"; do
        for pid in $(pgrep -x "${name%%:*}"); do
            pid_ticks "${name##*:}" "$pid"
        done
    done
    echo "machine $(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat)"
}
# pid_ticks COMPONENT PID : "component ticks" of one process, all its threads (0 once it is gone)
pid_ticks() { echo "$1 $(awk '{print $14 + $15}' "/proc/$2/stat" 2>/dev/null || echo 0)"; }
# cpu_per_write BEFORE AFTER WRITES >> FILE : "CPU component ms-per-write" lines. The machine's line is left out
# (a NOTE says so) when /proc/stat gave the machine less CPU time than the processes listed beside it: on this
# virtual machine its counters sometimes lag the processes' own (etcd's process 0.53 ms per write, the machine 0.28),
# and a median must not take such a run.
cpu_per_write() {
    awk -v writes="$3" -v hz="$(getconf CLK_TCK)" '
        FNR == NR { before[$1] += $2; next } { after[$1] += $2 }
        END {
            for (c in after) if (c != "machine") parts += after[c] - before[c]
            for (c in after) {
                if (c == "machine" && after[c] - before[c] < parts) {
                    print "NOTE the machine'"'"'s CPU time came out below its listed processes'"'"': left out"
                    continue
                }
                printf "CPU %s %.3f\n", c, (after[c] - before[c]) * 1000 / hz / writes
            }
        }' "$1" "$2"
}
# cpu_of FILE COMPONENT : median over the runs in FILE of the component's ms of CPU per write (its cpu_per_write
# lines); nan when there is none
cpu_of() { awk -v c="$2" '$1 == "CPU" && $2 == c {print $3}' "$1" | median; }
# latency_probe [JVM_FLAG...] : compiles bench/LatencyProbe.java once and sets PROBE to run it (with these flags).
# Compiled once: `java File.java` would compile it again at every run, ~3 CPU-seconds taken from the servers measured.
latency_probe() {
    mkdir -p "$WORK/probe"
    "$(jdk_tool javac)" -d "$WORK/probe" "$BENCH_DIR/LatencyProbe.java" || die "cannot compile the probe"
    PROBE=("$JAVA" -XX:+UseSerialGC "$@" -cp "$WORK/probe" LatencyProbe)
}
# probe_run TICKS OUT MODE RATE SECONDS WARMUP ARG... : one run of bench/LatencyProbe.java ($PROBE, with these
# arguments) appended to OUT, then the CPU per write over it of each component that TICKS (a function: cpu_ticks,
# ...) lists: the probe sends RATE × (WARMUP + SECONDS) writes
probe_run() {
    local ticks="$1" out="$2"
    shift 2
    "$ticks" >"$WORK/cpu-before.txt"
    "${PROBE[@]}" "$@" | tee -a "$out" >&2
    "$ticks" >"$WORK/cpu-after.txt"
    cpu_per_write "$WORK/cpu-before.txt" "$WORK/cpu-after.txt" $(($2 * ($3 + $4))) >>"$out"
}
# b64 STRING
b64() { printf '%s' "$1" | base64 -w0; }

# summarize FILE : "rps_median rps_min rps_max p50_median p99_median errors non2xx" over the runs in FILE
summarize() {
    local f="$1" rps
    rps="$(awk '{print $1}' "$f" | stats)"
    echo "$rps $(awk '{print $2}' "$f" | median) $(awk '{print $3}' "$f" | median)" \
         "$(awk '{s += $4} END {print s + 0}' "$f") $(awk '{s += $5} END {print s + 0}' "$f")"
}

# md_row LABEL FILE : a markdown table row "| label | rps median (min–max) | p50 | p99 | errors |"
md_row() {
    local s
    read -r -a s <<<"$(summarize "$2")"
    printf '| %s | %.0f (%.0f–%.0f) | %.2f | %.2f | %s |\n' "$1" "${s[0]}" "${s[1]}" "${s[2]}" "${s[3]}" "${s[4]}" \
        "$((${s[5]} + ${s[6]}))"
}

rps_of() { summarize "$1" | awk '{print $1}'; }
p99_of() { summarize "$1" | awk '{print $5}'; }
p50_of() { summarize "$1" | awk '{print $4}'; }

# verdict OK_CONDITION_AWK_EXPR : "met" or "**missed**" (missed too when a number is missing: nan, n/a, empty)
verdict() {
    # Only numbers and operators: awk would read nan or n/a as an unset variable, 0.
    [[ "$1" =~ ^[-+*/\<\>=\!\&\|\(\).0-9eE[:space:]]+$ ]] && awk "BEGIN { exit !($1) }" 2>/dev/null \
        && echo "met" || echo "**missed**"
}

# ---- targets --------------------------------------------------------------------------------------------
# A script that judges targets prints its table with targets_header and one target_row per target; the rows also go
# to bench/results/$NAME.targets, after the section's name, for the table that ends BENCHMARKS.md (run-all.sh).

# targets_header : the table's header; starts $NAME.targets afresh
# shellcheck disable=SC2153 # NAME is the sourcing script's
targets_header() {
    : >"$RESULTS/$NAME.targets"
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
}
# target_row TARGET MEASURED OK_CONDITION_AWK_EXPR : "| target | measured | verdict |", also appended to $NAME.targets
# shellcheck disable=SC2153
target_row() {
    local row
    row="| $1 | $2 | $(verdict "$3") |"
    echo "$row"
    echo "| $NAME $row" >>"$RESULTS/$NAME.targets"
}

broker_schedulers
