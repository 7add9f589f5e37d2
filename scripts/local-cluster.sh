#!/usr/bin/env bash
# Runs the Kubernetes topology of kvstream as plain processes on this machine (loopback only):
#   3 API processes, 2 workers (as the chart and kustomize run), 1 WebSocket process, and nginx as the Ingress on one port: its configuration is
#   generated from k8s/base/ingress.yaml (paths to the API or WebSocket Service, annotations), the API Service
#   being a round robin over the API processes with keepalive connections (scripts/lib.sh, ingress_nginx_http).
# It uses the machine's PostgreSQL and RabbitMQ with its own schema and exchange/queue prefix.
#
#   scripts/local-cluster.sh up              build the jar if missing, start everything, wait until ready
#   scripts/local-cluster.sh status          one line per process: pid, alive, readiness
#   scripts/local-cluster.sh down [--purge]  SIGTERM everything (nginx first, worker last) and wait;
#                                            --purge also drops the schema and the command queue
#   scripts/local-cluster.sh restart-api N   rolling restart of API process N (1-based): take it out of
#                                            the nginx upstream first (readiness-first, like preStop),
#                                            SIGTERM, wait, start, wait ready, put it back
#   scripts/local-cluster.sh ingress-replicas N   route the Ingress to the first N API processes only
#
# Everything is overridable by environment variables (defaults in brackets):
#   LC_RUN_DIR [target/local-cluster]   pids, logs, nginx config
#   LC_INGRESS_PORT [18080]  LC_API_PORTS ["18081 18082 18083"]  LC_WS_PORT [18091]
#   LC_WORKERS [2]  LC_WORKER_PORT [18090]: worker N (worker-N) serves /observe on LC_WORKER_PORT + 2(N-1),
#   unless LC_WORKER_PORTS ["18090 18092"] lists the ports (one worker per port)
#   LC_DB_URL [jdbc:postgresql://127.0.0.1:5432/test]  LC_DB_USERNAME [postgres]  LC_DB_PASSWORD []
#   LC_DB_SCHEMA [kvstream_local]  LC_AMQP_URI [amqp://guest:guest@127.0.0.1:5672/%2f]
#   LC_AMQP_PREFIX [kvstream-local]  LC_JAR [target/kvstream.jar]  LC_READY_TIMEOUT [120] seconds
#   LC_JAVA_OPTS [-Xmx768m]  (extra JVM flags, e.g. a JFR recording)  LC_NGINX_WORKERS [auto]
#   LC_AOT_CACHE_DIR [target/aot]  JDK 25 AOT caches, one per role (the first run records them; empty: none)
#   JAVA_HOME [/usr/lib/jvm/temurin-25-jdk-amd64 if present]
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_TAG=local-cluster
RUN_DIR="${LC_RUN_DIR:-$ROOT/target/local-cluster}"
# Later commands (status, down, restart-api) use the settings `up` ran with, unless overridden again.
if [[ "${1:-}" != up && -f "$RUN_DIR/env" ]]; then
    # shellcheck disable=SC1091
    source "$RUN_DIR/env"
fi
INGRESS_PORT="${LC_INGRESS_PORT:-18080}"
read -r -a API_PORTS <<< "${LC_API_PORTS:-18081 18082 18083}"
WORKER_PORT="${LC_WORKER_PORT:-18090}"
WORKERS="${LC_WORKERS:-2}"
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || die "LC_WORKERS must be a positive number: $WORKERS"
if [[ -n "${LC_WORKER_PORTS:-}" ]]; then
    read -r -a WORKER_PORTS <<< "$LC_WORKER_PORTS"
else
    WORKER_PORTS=()
    for ((i = 0; i < WORKERS; i++)); do
        WORKER_PORTS+=("$((WORKER_PORT + 2 * i))")
    done
fi
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
read -r -a JAVA_ARGS <<< "$JAVA_OPTS"
AOT_CACHE_DIR="${LC_AOT_CACHE_DIR-$ROOT/target/aot}"
NGINX_WORKERS="${LC_NGINX_WORKERS:-auto}"
PROC_DIR="$RUN_DIR"
NGINX_DIR="$RUN_DIR/nginx"

# ---- nginx (the Ingress) --------------------------------------------------------------------------------

# write_nginx_conf PORT... : the Ingress's routes, its API Service holding exactly the given API ports
write_nginx_conf() {
    local api=() p body
    for p in "$@"; do
        api+=("127.0.0.1:$p")
    done
    body="$(ingress_nginx_http "$INGRESS_PORT" "kvstream-api=$(IFS=,; echo "${api[*]}")" \
        "kvstream-websocket=127.0.0.1:$WS_PORT")"
    nginx_write_conf "$NGINX_DIR" "$NGINX_WORKERS" "$body"
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
    nginx_reload "$NGINX_DIR"
}

# remember VAR VALUE : a line of $RUN_DIR/env that sets VAR to VALUE unless the caller set it (%q quotes VALUE as a
# plain shell word, so it is not put inside "..." where its quotes would stay)
remember() { printf '[[ -n "${%s:-}" ]] || %s=%q\n' "$1" "$1" "$2"; }

# ---- commands -------------------------------------------------------------------------------------------

cmd_up() {
    ensure_tools nginx=nginx-light curl=curl
    ensure_jar
    mkdir -p "$RUN_DIR"
    {
        remember LC_INGRESS_PORT "$INGRESS_PORT"
        remember LC_API_PORTS "${API_PORTS[*]}"
        remember LC_WORKER_PORTS "${WORKER_PORTS[*]}"
        remember LC_WS_PORT "$WS_PORT"
        remember LC_DB_URL "$DB_URL"
        remember LC_DB_USERNAME "$DB_USERNAME"
        remember LC_DB_PASSWORD "$DB_PASSWORD"
        remember LC_DB_SCHEMA "$DB_SCHEMA"
        remember LC_AMQP_URI "$AMQP_URI"
        remember LC_AMQP_PREFIX "$AMQP_PREFIX"
        remember LC_JAR "$JAR"
        remember LC_READY_TIMEOUT "$READY_TIMEOUT"
        remember LC_JAVA_OPTS "$JAVA_OPTS"
        remember LC_NGINX_WORKERS "$NGINX_WORKERS"
        # Kept even when empty: an empty LC_AOT_CACHE_DIR turns the caches off.
        printf '[[ -v LC_AOT_CACHE_DIR ]] || LC_AOT_CACHE_DIR=%q\n' "$AOT_CACHE_DIR"
    } >"$RUN_DIR/env"
    chmod 600 "$RUN_DIR/env"
    # The first worker alone: it migrates the schema and declares the command queue before anyone writes.
    local i
    start_kvstream worker-1 worker "${WORKER_PORTS[0]}" "$DB_SCHEMA" "$AMQP_PREFIX" "${JAVA_ARGS[@]}"
    for ((i = 1; i < ${#WORKER_PORTS[@]}; i++)); do
        spawn_kvstream "worker-$((i + 1))" worker "${WORKER_PORTS[$i]}" "$DB_SCHEMA" "$AMQP_PREFIX" "${JAVA_ARGS[@]}"
    done
    for i in "${!API_PORTS[@]}"; do
        spawn_kvstream "api-$((i + 1))" api "${API_PORTS[$i]}" "$DB_SCHEMA" "$AMQP_PREFIX" "${JAVA_ARGS[@]}"
    done
    spawn_kvstream websocket websocket "$WS_PORT" "$DB_SCHEMA" "$AMQP_PREFIX" "${JAVA_ARGS[@]}"
    for i in "${!API_PORTS[@]}"; do
        wait_kvstream "api-$((i + 1))" "${API_PORTS[$i]}"
    done
    wait_kvstream websocket "$WS_PORT"
    for ((i = 1; i < ${#WORKER_PORTS[@]}; i++)); do
        wait_kvstream "worker-$((i + 1))" "${WORKER_PORTS[$i]}"
    done
    rm -f "$RUN_DIR/routed-ports"
    # shellcheck disable=SC2046
    write_nginx_conf $(routed_ports)
    nginx_start "$NGINX_DIR" "$INGRESS_PORT" /
    log "up: http://127.0.0.1:$INGRESS_PORT/ (schema $DB_SCHEMA, prefix $AMQP_PREFIX, run dir $RUN_DIR)"
}

cmd_down() {
    nginx_stop "$NGINX_DIR"
    local i
    for i in "${!API_PORTS[@]}"; do
        stop_proc "api-$((i + 1))" &
    done
    stop_proc websocket &
    wait
    # The workers last, so commands already sent by the API processes are committed and answered.
    for i in "${!WORKER_PORTS[@]}"; do
        stop_proc "worker-$((i + 1))" &
    done
    wait
    rm -f "$RUN_DIR/routed-ports"
    if [[ "${1:-}" == "--purge" ]]; then
        drop_schema "$DB_SCHEMA"
        drop_queue "$AMQP_PREFIX"
    fi
}

cmd_status() {
    local rc=0 i name port code
    printf '%-10s %-8s %-6s %-6s %s\n' NAME PID ALIVE READY URL
    for name in $(for i in "${!WORKER_PORTS[@]}"; do echo "worker-$((i + 1))"; done) websocket $(for i in "${!API_PORTS[@]}"; do echo "api-$((i + 1))"; done); do
        case "$name" in
            worker-*) port="${WORKER_PORTS[$((${name#worker-} - 1))]}" ;;
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
    if nginx_alive "$NGINX_DIR"; then
        printf '%-10s %-8s %-6s %-6s %s (upstream: %s)\n' nginx "$(nginx_pid "$NGINX_DIR")" yes \
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
    stop_proc "$name"
    start_kvstream "$name" api "$port" "$DB_SCHEMA" "$AMQP_PREFIX" "${JAVA_ARGS[@]}"
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
    *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2 ;;
esac
