#!/usr/bin/env bash
# Runs the Kubernetes topology of kvstream as plain processes on this machine (loopback only):
#   3 API processes, 1 worker, 1 WebSocket process, and nginx as the Ingress on one port with the
#   Ingress's path routing (`/`, `/values`, `/static` -> API round robin over a keepalive upstream;
#   `/events` -> WebSocket with Upgrade/Connection headers and long timeouts).
# It uses the machine's PostgreSQL and RabbitMQ with its own schema and exchange/queue prefix.
#
#   scripts/local-cluster.sh up              build the jar if missing, start everything, wait until ready
#   scripts/local-cluster.sh status          one line per process: pid, alive, readiness
#   scripts/local-cluster.sh down [--purge]  SIGTERM everything (nginx first, worker last) and wait;
#                                            --purge also drops the schema and the broker objects
#   scripts/local-cluster.sh restart-api N   rolling restart of API process N (1-based): take it out of
#                                            the nginx upstream first (readiness-first, like preStop),
#                                            SIGTERM, wait, start, wait ready, put it back
#   scripts/local-cluster.sh ingress-replicas N   route the Ingress to the first N API processes only
#
# Everything is overridable by environment variables (defaults in brackets):
#   LC_RUN_DIR [target/local-cluster]   pids, logs, nginx config
#   LC_INGRESS_PORT [18080]  LC_API_PORTS ["18081 18082 18083"]  LC_WORKER_PORT [18090]  LC_WS_PORT [18091]
#   LC_DB_URL [jdbc:postgresql://127.0.0.1:5432/test]  LC_DB_USERNAME [postgres]  LC_DB_PASSWORD []
#   LC_DB_SCHEMA [kvstream_local]  LC_AMQP_URI [amqp://guest:guest@127.0.0.1:5672/%2f]
#   LC_AMQP_PREFIX [kvstream-local]  LC_JAR [target/kvstream.jar]  LC_READY_TIMEOUT [120] seconds
#   LC_JAVA_OPTS [-Xmx768m]  (extra JVM flags, e.g. a JFR recording)  LC_NGINX_WORKERS [auto]
#   JAVA_HOME [/usr/lib/jvm/temurin-25-jdk-amd64 if present]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${LC_RUN_DIR:-$ROOT/target/local-cluster}"
# Later commands (status, down, restart-api) use the settings `up` ran with, unless overridden again.
if [[ "${1:-}" != up && -f "$RUN_DIR/env" ]]; then
    # shellcheck disable=SC1091
    source "$RUN_DIR/env"
fi
INGRESS_PORT="${LC_INGRESS_PORT:-18080}"
read -r -a API_PORTS <<< "${LC_API_PORTS:-18081 18082 18083}"
WORKER_PORT="${LC_WORKER_PORT:-18090}"
WS_PORT="${LC_WS_PORT:-18091}"
DB_URL="${LC_DB_URL:-jdbc:postgresql://127.0.0.1:5432/test}"
DB_USERNAME="${LC_DB_USERNAME:-postgres}"
DB_PASSWORD="${LC_DB_PASSWORD:-}"
DB_SCHEMA="${LC_DB_SCHEMA:-kvstream_local}"
AMQP_URI="${LC_AMQP_URI:-amqp://guest:guest@127.0.0.1:5672/%2f}"
AMQP_PREFIX="${LC_AMQP_PREFIX:-kvstream-local}"
JAR="${LC_JAR:-$ROOT/target/kvstream.jar}"
READY_TIMEOUT="${LC_READY_TIMEOUT:-120}"
JAVA_OPTS="${LC_JAVA_OPTS:--Xmx768m}"
NGINX_WORKERS="${LC_NGINX_WORKERS:-auto}"
if [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/temurin-25-jdk-amd64 ]]; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
NGINX_DIR="$RUN_DIR/nginx"
NGINX_CONF="$NGINX_DIR/nginx.conf"

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- prerequisites --------------------------------------------------------------------------------------

ensure_nginx() {
    if command -v nginx >/dev/null 2>&1; then
        return
    fi
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "nginx is missing: installing nginx-light with apt-get"
        (apt-get install -y -q nginx-light >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q nginx-light >/dev/null 2>&1; }) \
            || die "cannot install nginx-light"
    fi
    command -v nginx >/dev/null 2>&1 || die "nginx is not installed (apt-get install nginx-light)"
}

ensure_jar() {
    if [[ -f "$JAR" && -d "$(dirname "$JAR")/libs" ]]; then
        return
    fi
    log "building $JAR (mvn package, tests skipped)"
    # maven.test.skip also skips compiling the tests: the jar does not need them.
    (cd "$ROOT" && mvn -B -q package -DskipTests -Dmaven.test.skip=true) >&2 || die "build failed"
    [[ -f "$JAR" ]] || die "build did not produce $JAR"
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---- processes ------------------------------------------------------------------------------------------

pid_of() { cat "$RUN_DIR/$1.pid" 2>/dev/null || true; }

alive() {
    local pid
    pid="$(pid_of "$1")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

http_code() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

# start NAME ROLE PORT
start_node() {
    local name="$1" role="$2" port="$3"
    if alive "$name"; then
        log "$name already running (pid $(pid_of "$name"))"
        return
    fi
    port_free "$port" || die "port $port (for $name) is in use"
    mkdir -p "$RUN_DIR"
    # shellcheck disable=SC2086
    env KVSTREAM_ROLE="$role" SERVER_PORT="$port" SERVER_HOST=127.0.0.1 KVSTREAM_MODE=prod \
        KVSTREAM_DB_URL="$DB_URL" KVSTREAM_DB_USERNAME="$DB_USERNAME" KVSTREAM_DB_PASSWORD="$DB_PASSWORD" \
        KVSTREAM_DB_SCHEMA="$DB_SCHEMA" KVSTREAM_AMQP_URI="$AMQP_URI" KVSTREAM_AMQP_NAME_PREFIX="$AMQP_PREFIX" \
        KVSTREAM_DATA_DIR="$RUN_DIR/data-$name" \
        setsid "$JAVA" --enable-native-access=ALL-UNNAMED $JAVA_OPTS -jar "$JAR" \
        >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.pid"
    date +%s%N >"$RUN_DIR/$name.started"
    log "started $name ($role) on 127.0.0.1:$port, pid $!"
}

# wait_ready NAME PORT
wait_ready() {
    local name="$1" port="$2" deadline=$((SECONDS + READY_TIMEOUT))
    while true; do
        if ! alive "$name"; then
            tail -n 30 "$RUN_DIR/$name.log" >&2 || true
            die "$name exited before it was ready (log: $RUN_DIR/$name.log)"
        fi
        if [[ "$(http_code "http://127.0.0.1:$port/observe/health/ready")" == 200 ]]; then
            local started now
            started="$(cat "$RUN_DIR/$name.started")"
            now="$(date +%s%N)"
            log "$name ready after $(( (now - started) / 1000000 )) ms"
            return
        fi
        ((SECONDS < deadline)) || die "$name not ready within ${READY_TIMEOUT}s (log: $RUN_DIR/$name.log)"
        sleep 0.2
    done
}

# stop NAME [SIGNAL]: signal, then wait up to 30 s, then SIGKILL
stop_node() {
    local name="$1" pid
    pid="$(pid_of "$name")"
    if [[ -z "$pid" ]]; then
        return
    fi
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    fi
    rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.started"
}

# ---- nginx (the Ingress) --------------------------------------------------------------------------------

# write_nginx_conf PORT... : the upstream holds exactly the given API ports
write_nginx_conf() {
    mkdir -p "$NGINX_DIR"/{client_body,proxy,fastcgi,uwsgi,scgi}
    local servers="" p
    for p in "$@"; do
        servers+="        server 127.0.0.1:$p max_fails=1 fail_timeout=2s;"$'\n'
    done
    if [[ -z "$servers" ]]; then
        # No ready endpoint: answer 503 like an Ingress with an empty Service.
        servers="        server 127.0.0.1:9 down;"$'\n'
    fi
    local user_line=""
    if [[ $(id -u) -eq 0 ]]; then
        user_line="user root;"
    fi
    cat >"$NGINX_CONF.tmp" <<EOF
# Generated by scripts/local-cluster.sh: the k8s Ingress (k8s/base/ingress.yaml) as a local nginx.
$user_line
worker_processes $NGINX_WORKERS;
pid $NGINX_DIR/nginx.pid;
error_log $RUN_DIR/nginx-error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    client_body_temp_path $NGINX_DIR/client_body;
    proxy_temp_path $NGINX_DIR/proxy;
    fastcgi_temp_path $NGINX_DIR/fastcgi;
    uwsgi_temp_path $NGINX_DIR/uwsgi;
    scgi_temp_path $NGINX_DIR/scgi;
    client_max_body_size 2m;
    keepalive_requests 100000;
    keepalive_timeout 75s;

    upstream kvstream_api {
$servers        keepalive 128;
        keepalive_requests 100000;
        keepalive_timeout 60s;
    }
    upstream kvstream_websocket {
        server 127.0.0.1:$WS_PORT;
    }
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }

    server {
        listen 127.0.0.1:$INGRESS_PORT backlog=4096;

        proxy_http_version 1.1;
        proxy_set_header Host \$http_host;
        proxy_set_header X-Real-IP \$remote_addr;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_connect_timeout 2s;
        proxy_read_timeout 60s;
        proxy_send_timeout 60s;
        # An idempotent request that hits a closing or refused endpoint goes to the next one; nginx never
        # retries a PUT/DELETE that was already sent (no non_idempotent), so a write is never doubled here.
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 3;

        location = / {
            proxy_set_header Connection "";
            proxy_pass http://kvstream_api;
        }
        location = /values {
            proxy_set_header Connection "";
            proxy_pass http://kvstream_api;
        }
        location /values/ {
            proxy_set_header Connection "";
            proxy_pass http://kvstream_api;
        }
        location /static/ {
            proxy_set_header Connection "";
            proxy_pass http://kvstream_api;
        }
        location = /events {
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
            proxy_pass http://kvstream_websocket;
        }
        location / {
            return 404;
        }
    }
}
EOF
    mv "$NGINX_CONF.tmp" "$NGINX_CONF"
    nginx -t -q -p "$NGINX_DIR" -c "$NGINX_CONF" -e "$RUN_DIR/nginx-error.log" \
        || die "generated nginx config is invalid: $NGINX_CONF"
}

nginx_pid() { cat "$NGINX_DIR/nginx.pid" 2>/dev/null || true; }

nginx_alive() {
    local pid
    pid="$(nginx_pid)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

start_nginx() {
    if nginx_alive; then
        log "nginx already running (pid $(nginx_pid))"
        return
    fi
    port_free "$INGRESS_PORT" || die "ingress port $INGRESS_PORT is in use"
    nginx -p "$NGINX_DIR" -c "$NGINX_CONF" -e "$RUN_DIR/nginx-error.log"
    local deadline=$((SECONDS + 10))
    until [[ "$(http_code "http://127.0.0.1:$INGRESS_PORT/")" == 200 ]]; do
        ((SECONDS < deadline)) || die "nginx does not answer on $INGRESS_PORT (see $RUN_DIR/nginx-error.log)"
        sleep 0.1
    done
    log "nginx (Ingress) on http://127.0.0.1:$INGRESS_PORT/ pid $(nginx_pid)"
}

# Graceful reload: new workers use the new upstream; old workers finish their in-flight requests first.
reload_nginx() {
    nginx_alive || return 0
    local before
    before="$(old_worker_pids)"
    nginx -p "$NGINX_DIR" -c "$NGINX_CONF" -e "$RUN_DIR/nginx-error.log" -s reload
    # Wait (bounded) until the workers of the previous configuration have drained and exited.
    local deadline=$((SECONDS + 15)) pid remaining
    while ((SECONDS < deadline)); do
        remaining=""
        for pid in $before; do
            if kill -0 "$pid" 2>/dev/null; then
                remaining+=" $pid"
            fi
        done
        [[ -z "$remaining" ]] && break
        sleep 0.05
    done
}

old_worker_pids() {
    local master
    master="$(nginx_pid)"
    [[ -n "$master" ]] && pgrep -P "$master" 2>/dev/null | tr '\n' ' ' || true
}

stop_nginx() {
    local pid
    pid="$(nginx_pid)"
    [[ -n "$pid" ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -QUIT "$pid" 2>/dev/null || true # graceful: finish in-flight requests
        local deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
        log "stopped nginx (pid $pid)"
    fi
    rm -f "$NGINX_DIR/nginx.pid"
}

# The API ports currently in the upstream (all by default), remembered across commands.
routed_ports() {
    if [[ -f "$RUN_DIR/routed-ports" ]]; then
        cat "$RUN_DIR/routed-ports"
    else
        echo "${API_PORTS[*]}"
    fi
}

route_to() {
    echo "$*" >"$RUN_DIR/routed-ports"
    # shellcheck disable=SC2048,SC2086
    write_nginx_conf $*
    reload_nginx
}

# ---- commands -------------------------------------------------------------------------------------------

cmd_up() {
    ensure_nginx
    ensure_jar
    mkdir -p "$RUN_DIR"
    {
        printf ': "${LC_INGRESS_PORT:=%q}"\n' "$INGRESS_PORT"
        printf ': "${LC_API_PORTS:=%q}"\n' "${API_PORTS[*]}"
        printf ': "${LC_WORKER_PORT:=%q}"\n' "$WORKER_PORT"
        printf ': "${LC_WS_PORT:=%q}"\n' "$WS_PORT"
        printf ': "${LC_DB_URL:=%q}"\n' "$DB_URL"
        printf ': "${LC_DB_USERNAME:=%q}"\n' "$DB_USERNAME"
        printf ': "${LC_DB_PASSWORD:=%q}"\n' "$DB_PASSWORD"
        printf ': "${LC_DB_SCHEMA:=%q}"\n' "$DB_SCHEMA"
        printf ': "${LC_AMQP_URI:=%q}"\n' "$AMQP_URI"
        printf ': "${LC_AMQP_PREFIX:=%q}"\n' "$AMQP_PREFIX"
        printf ': "${LC_JAR:=%q}"\n' "$JAR"
        printf ': "${LC_READY_TIMEOUT:=%q}"\n' "$READY_TIMEOUT"
        printf ': "${LC_JAVA_OPTS:=%q}"\n' "$JAVA_OPTS"
        printf ': "${LC_NGINX_WORKERS:=%q}"\n' "$NGINX_WORKERS"
    } >"$RUN_DIR/env"
    chmod 600 "$RUN_DIR/env"
    # The worker first: it migrates the schema and declares the command queue before anyone writes.
    start_node worker worker "$WORKER_PORT"
    wait_ready worker "$WORKER_PORT"
    local i
    for i in "${!API_PORTS[@]}"; do
        start_node "api-$((i + 1))" api "${API_PORTS[$i]}"
    done
    start_node websocket websocket "$WS_PORT"
    for i in "${!API_PORTS[@]}"; do
        wait_ready "api-$((i + 1))" "${API_PORTS[$i]}"
    done
    wait_ready websocket "$WS_PORT"
    rm -f "$RUN_DIR/routed-ports"
    # shellcheck disable=SC2046
    write_nginx_conf $(routed_ports)
    start_nginx
    log "up: http://127.0.0.1:$INGRESS_PORT/ (schema $DB_SCHEMA, prefix $AMQP_PREFIX, run dir $RUN_DIR)"
}

cmd_down() {
    stop_nginx
    local i
    for i in "${!API_PORTS[@]}"; do
        stop_node "api-$((i + 1))" &
    done
    stop_node websocket &
    wait
    # The worker last, so commands already sent by the API processes are committed and answered.
    stop_node worker
    rm -f "$RUN_DIR/routed-ports"
    if [[ "${1:-}" == "--purge" ]]; then
        purge
    fi
}

purge() {
    local db_name="${DB_URL##*/}" host_port="${DB_URL#jdbc:postgresql://}"
    host_port="${host_port%%/*}"
    db_name="${db_name%%\?*}"
    if command -v psql >/dev/null 2>&1; then
        PGPASSWORD="$DB_PASSWORD" psql -q -h "${host_port%%:*}" -p "${host_port##*:}" -U "$DB_USERNAME" -d "$db_name" \
            -c "DROP SCHEMA IF EXISTS \"$DB_SCHEMA\" CASCADE" >/dev/null 2>&1 \
            && log "dropped schema $DB_SCHEMA" || log "could not drop schema $DB_SCHEMA"
    fi
    if command -v rabbitmqctl >/dev/null 2>&1; then
        rabbitmqctl -q delete_queue "$AMQP_PREFIX.commands" >/dev/null 2>&1 || true
        # exchanges are tiny; rabbitmqctl cannot delete them, the broker keeps them
        log "deleted queue $AMQP_PREFIX.commands"
    fi
}

cmd_status() {
    local rc=0 i name port code
    printf '%-10s %-8s %-6s %-6s %s\n' NAME PID ALIVE READY URL
    for name in worker websocket $(for i in "${!API_PORTS[@]}"; do echo "api-$((i + 1))"; done); do
        case "$name" in
            worker) port="$WORKER_PORT" ;;
            websocket) port="$WS_PORT" ;;
            api-*) port="${API_PORTS[$((${name#api-} - 1))]}" ;;
        esac
        code="-"
        if alive "$name"; then
            code="$(http_code "http://127.0.0.1:$port/observe/health/ready")"
            printf '%-10s %-8s %-6s %-6s %s\n' "$name" "$(pid_of "$name")" yes "$code" "http://127.0.0.1:$port/"
        else
            printf '%-10s %-8s %-6s %-6s %s\n' "$name" "-" no "-" "http://127.0.0.1:$port/"
            rc=1
        fi
        [[ "$code" == 200 || "$code" == - ]] || rc=1
    done
    if nginx_alive; then
        printf '%-10s %-8s %-6s %-6s %s (upstream: %s)\n' nginx "$(nginx_pid)" yes \
            "$(http_code "http://127.0.0.1:$INGRESS_PORT/")" "http://127.0.0.1:$INGRESS_PORT/" "$(routed_ports)"
    else
        printf '%-10s %-8s %-6s %-6s %s\n' nginx - no - "http://127.0.0.1:$INGRESS_PORT/"
        rc=1
    fi
    return $rc
}

cmd_restart_api() {
    local n="${1:-}"
    [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= ${#API_PORTS[@]})) || die "usage: restart-api N (1..${#API_PORTS[@]})"
    local name="api-$n" port="${API_PORTS[$((n - 1))]}" p others=()
    for p in $(routed_ports); do
        [[ "$p" == "$port" ]] || others+=("$p")
    done
    # Readiness first (what the Endpoints controller + preStop sleep do in Kubernetes): stop routing new
    # requests to it, let nginx's old workers finish what they had sent, and only then SIGTERM.
    log "taking $name out of the Ingress upstream"
    route_to "${others[@]}"
    stop_node "$name"
    start_node "$name" api "$port"
    wait_ready "$name" "$port"
    log "putting $name back into the Ingress upstream"
    route_to "${others[@]}" "$port"
}

cmd_ingress_replicas() {
    local n="${1:-}"
    [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1 && n <= ${#API_PORTS[@]})) || die "usage: ingress-replicas N (1..${#API_PORTS[@]})"
    route_to "${API_PORTS[@]:0:$n}"
    log "Ingress routes to ${API_PORTS[*]:0:$n}"
}

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "$@" ;;
    status) cmd_status ;;
    restart-api) shift; cmd_restart_api "$@" ;;
    ingress-replicas) shift; cmd_ingress_replicas "$@" ;;
    *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
