# Shared helpers for the bench/*.sh scripts (sourced, not run). Loopback only, bounded durations.
# Tunables (environment): BENCH_RUNS [3] runs per contestant, BENCH_DURATION [10] seconds per run,
# BENCH_WARMUP [20] seconds of load before the measured runs,
# BENCH_CONNECTIONS [64], BENCH_THREADS [2] wrk threads, BENCH_MAX_LOAD [1.5] load average to wait for,
# BENCH_MAX_WAIT [300] seconds to wait for it, BENCH_WORK [/tmp/kvstream-bench] scratch dir,
# BENCH_DB_URL / BENCH_DB_USERNAME / BENCH_AMQP_URI (defaults: the machine's PostgreSQL and RabbitMQ).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
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
AMQP_URI="${BENCH_AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/%2f}"
JAR="${BENCH_JAR:-$ROOT/target/kvstream.jar}"
if [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/temurin-25-jdk-amd64 ]]; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JCMD="${JAVA_HOME:+$JAVA_HOME/bin/}jcmd"
JFR="${JAVA_HOME:+$JAVA_HOME/bin/}jfr"
mkdir -p "$RESULTS" "$WORK"

PG_HOST_PORT="${DB_URL#jdbc:postgresql://}"
PG_HOST_PORT="${PG_HOST_PORT%%/*}"
PG_DB="${DB_URL##*/}"
PG_DB="${PG_DB%%\?*}"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "${PG_HOST_PORT%%:*}" -p "${PG_HOST_PORT##*:}" -U "$DB_USERNAME" -d "$PG_DB")

blog() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
bdie() { blog "ERROR: $*"; exit 1; }

# ---- packages -------------------------------------------------------------------------------------------

# ensure_tools CMD=PACKAGE ... : installs the Debian packages whose command is missing
ensure_tools() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
    done
    ((${#missing[@]} == 0)) && return
    [[ $(id -u) -eq 0 ]] || bdie "missing ${missing[*]}: run as root or apt-get install them"
    blog "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; } \
        || bdie "cannot install ${missing[*]}"
}

ensure_jar() {
    if [[ -f "$JAR" && -d "$(dirname "$JAR")/libs" ]]; then
        return
    fi
    blog "building $JAR"
    (cd "$ROOT" && mvn -B -q package -DskipTests -Dmaven.test.skip=true) >&2 || bdie "build failed"
}

# ---- machine --------------------------------------------------------------------------------------------

load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits (bounded) until the 1-minute load average is below BENCH_MAX_LOAD; never fails, just notes it.
wait_for_quiet() {
    local max="${BENCH_MAX_LOAD:-1.5}" deadline=$((SECONDS + ${BENCH_MAX_WAIT:-300}))
    while awk -v l="$(load1)" -v m="$max" 'BEGIN { exit !(l > m) }'; do
        if ((SECONDS >= deadline)); then
            blog "load average still $(load1) (> $max) after ${BENCH_MAX_WAIT:-300}s: measuring anyway"
            return
        fi
        sleep 5
    done
}

machine_info() {
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc)"
    echo "- memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r)"
    echo "- JVM: $("$JAVA" -version 2>&1 | head -1); nginx $(nginx -v 2>&1 | cut -d/ -f2); etcd $(etcd --version 2>/dev/null | head -1 | awk '{print $3}'); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); $("${PSQL[@]}" -Atc 'SELECT version()' | cut -d' ' -f1-2)"
    echo "- code: commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n "$(git -C "$ROOT" status --porcelain -- src pom.xml 2>/dev/null)" ]] && echo ' + uncommitted changes in src/'), jar built $(date -u -r "$JAR" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo '?')"
    echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
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

# wrk_run OUT URL [LUA] : appends one "rps p50_ms p99_ms errors non2xx" line to OUT
wrk_run() {
    local out="$1" url="$2" script="${3:-$BENCH_DIR/wrk/get.lua}" line
    line="$(BENCH_DIR="$BENCH_DIR" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$script" "$url" \
            | grep '^RESULT' || true)"
    [[ -n "$line" ]] || bdie "wrk produced no result for $url"
    echo "$line" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
                          print r["rps"], r["p50_ms"], r["p99_ms"], r["errors"], r["non2xx"] }' >>"$out"
    blog "  $(tail -1 "$out") <- $url"
}

# ---- processes ------------------------------------------------------------------------------------------

# start_kvstream NAME ROLE PORT SCHEMA PREFIX [JAVA_OPTS...]: starts the jar, records pid, waits until ready
# use_local_cluster NAME BASE_PORT : settings for scripts/local-cluster.sh ($CLUSTER): Ingress on BASE_PORT, the 3 API
# processes on BASE_PORT+1..3, worker +4, WebSocket +5, schema bench_NAME, AMQP prefix bench-NAME, $KV_JAVA_OPTS.
use_local_cluster() {
    local name="$1" base="$2"
    export LC_RUN_DIR="$WORK/cluster-$name" LC_INGRESS_PORT="$base" \
           LC_API_PORTS="$((base + 1)) $((base + 2)) $((base + 3))" LC_WORKER_PORT="$((base + 4))" \
           LC_WS_PORT="$((base + 5))" LC_DB_SCHEMA="bench_$name" LC_AMQP_PREFIX="bench-$name" \
           LC_JAR="$JAR" LC_JAVA_OPTS="${KV_JAVA_OPTS:--Xmx1g}" LC_DB_URL="$DB_URL" LC_DB_USERNAME="$DB_USERNAME" \
           LC_AMQP_URI="$AMQP_URI"
    CLUSTER="$ROOT/scripts/local-cluster.sh"
}

start_kvstream() {
    local name="$1" role="$2" port="$3" schema="$4" prefix="$5"
    shift 5
    ensure_jar
    date +%s%N >"$WORK/$name.started"
    env KVSTREAM_ROLE="$role" SERVER_PORT="$port" SERVER_HOST=127.0.0.1 KVSTREAM_MODE=prod \
        KVSTREAM_DB_URL="$DB_URL" KVSTREAM_DB_USERNAME="$DB_USERNAME" KVSTREAM_DB_SCHEMA="$schema" \
        KVSTREAM_AMQP_URI="$AMQP_URI" KVSTREAM_AMQP_NAME_PREFIX="$prefix" KVSTREAM_DATA_DIR="$WORK/data-$name" \
        setsid "$JAVA" --enable-native-access=ALL-UNNAMED "$@" -jar "$JAR" >"$WORK/$name.log" 2>&1 </dev/null &
    echo $! >"$WORK/$name.pid"
    wait_http_ready "$name" "http://127.0.0.1:$port/observe/health/ready"
}

# wait_http_ready NAME URL : waits for 200; writes the milliseconds since start to $WORK/NAME.ready-ms
wait_http_ready() {
    local name="$1" url="$2" deadline=$((SECONDS + 180)) pid
    pid="$(cat "$WORK/$name.pid")"
    until [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)" == 200 ]]; do
        kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/$name.log" >&2; bdie "$name exited (log $WORK/$name.log)"; }
        ((SECONDS < deadline)) || bdie "$name not ready in 180 s"
        sleep 0.05
    done
    echo $(( ($(date +%s%N) - $(cat "$WORK/$name.started")) / 1000000 )) >"$WORK/$name.ready-ms"
    blog "$name ready after $(cat "$WORK/$name.ready-ms") ms"
}

stop_proc() {
    local name="$1" pid
    pid="$(cat "$WORK/$name.pid" 2>/dev/null || true)"
    [[ -n "$pid" ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$WORK/$name.pid"
}

drop_schema() { "${PSQL[@]}" -c "DROP SCHEMA IF EXISTS \"$1\" CASCADE" >/dev/null 2>&1 || true; }
drop_queue() { rabbitmqctl -q delete_queue "$1.commands" >/dev/null 2>&1 || true; }

# start_etcd NAME CLIENT_PORT PEER_PORT : a single-member etcd with its own data dir (default fsync)
start_etcd() {
    local name="$1" client="$2" peer="$3"
    rm -rf "$WORK/$name.etcd"
    date +%s%N >"$WORK/$name.started"
    setsid etcd --name "$name" --data-dir "$WORK/$name.etcd" \
        --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "$name=http://127.0.0.1:$peer" --log-level error \
        >"$WORK/$name.log" 2>&1 </dev/null &
    echo $! >"$WORK/$name.pid"
    wait_http_ready "$name" "http://127.0.0.1:$client/health"
}

# start_nginx_static NAME PORT ROOT_DIR : nginx serving files, tuned like the Ingress (keepalive, no logs)
start_nginx_static() {
    local name="$1" port="$2" docroot="$3"
    local dir="$WORK/$name.nginx"
    mkdir -p "$dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
    cat >"$dir/nginx.conf" <<EOF
$([[ $(id -u) -eq 0 ]] && echo "user root;")
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=100;
    keepalive_requests 1000000;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    default_type application/json;
    server {
        listen 127.0.0.1:$port backlog=4096;
        root $docroot;
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    local deadline=$((SECONDS + 10))
    until [[ -s "$dir/nginx.pid" ]]; do ((SECONDS < deadline)) || bdie "nginx did not start"; sleep 0.1; done
    cp "$dir/nginx.pid" "$WORK/$name.pid"
}

stop_nginx_static() {
    local dir="$WORK/$1.nginx"
    [[ -s "$dir/nginx.pid" ]] && nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s quit 2>/dev/null || true
    rm -f "$WORK/$1.pid"
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

# verdict OK_CONDITION_AWK_EXPR : "met" or "**missed**"
verdict() { awk "BEGIN { exit !($1) }" && echo "met" || echo "**missed**"; }
