# Shell library of scripts/local-cluster.sh and bench/*.sh (sourced, not run): the JDK, the jar build, Debian
# packages, kvstream/etcd/nginx processes (start, wait until ready, stop), the PostgreSQL JDBC URL, and the nginx
# configuration that mirrors the Ingress (generated from k8s/base/ingress.yaml, so the two cannot drift apart).
#
# The sourcing script sets (globals, read when a function runs):
#   LOG_TAG                   log lines are "[LOG_TAG] message"; LOG_CLOCK=1 adds the time of day
#   PROC_DIR                  NAME.pid, NAME.log, NAME.started, NAME.ready-ms of the processes started here
#   READY_TIMEOUT [120]       seconds wait_ready waits; READY_POLL [0.2] seconds between its probes
#   JAR                       the kvstream jar that ensure_jar builds if it is missing
#   DB_URL DB_USERNAME DB_PASSWORD AMQP_URI   where kvstream processes, psql_db and drop_* connect
#   AOT_CACHE_DIR [none]      where kvstream processes keep JDK 25 AOT caches, one per JVM, jar, flags and role (aot_flags)
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INGRESS_YAML="$ROOT/k8s/base/ingress.yaml"

# The JDK the project builds with, unless the caller chose one.
if [[ -z "${JAVA_HOME:-}" && -d /usr/lib/jvm/temurin-25-jdk-amd64 ]]; then
    export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
# jdk_tool NAME : the path of a JDK command (java, jcmd, jfr, javac) of $JAVA_HOME, else the one on PATH
jdk_tool() { echo "${JAVA_HOME:+$JAVA_HOME/bin/}$1"; }
JAVA="$(jdk_tool java)"

log() { printf '[%s] %s\n' "${LOG_TAG:-kvstream}${LOG_CLOCK:+ $(date +%T)}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- prerequisites --------------------------------------------------------------------------------------

# ensure_tools COMMAND=PACKAGE... : installs with apt-get (as root) the Debian packages whose command is missing
ensure_tools() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
    done
    ((${#missing[@]} > 0)) || return 0
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        die "not installed: ${missing[*]} (apt-get install ${missing[*]})"
    fi
    log "installing ${missing[*]} with apt-get"
    # The package lists may be missing or stale: update them only when the first attempt fails.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } \
        || die "cannot install ${missing[*]} with apt-get"
}

ensure_jar() {
    if [[ -f "$JAR" && -d "$(dirname "$JAR")/libs" ]]; then
        return 0
    fi
    log "building $JAR (mvn package, tests skipped)"
    # maven.test.skip also skips compiling the tests: the jar does not need them.
    (cd "$ROOT" && mvn -B -q package -DskipTests -Dmaven.test.skip=true) >&2 || die "build failed"
    [[ -f "$JAR" ]] || die "build did not produce $JAR"
}

# ---- PostgreSQL and RabbitMQ ----------------------------------------------------------------------------

# pg_parse_url JDBC_URL : sets PG_HOST, PG_PORT and PG_DB from jdbc:postgresql://[host][:port]/database[?options]
pg_parse_url() {
    local rest="${1#jdbc:postgresql://}" host_port
    [[ "$rest" != "$1" && "$rest" == */* ]] || die "not a PostgreSQL JDBC URL (jdbc:postgresql://host:port/db): $1"
    host_port="${rest%%/*}"
    PG_DB="${rest#*/}"
    PG_DB="${PG_DB%%\?*}"
    PG_HOST="${host_port%%:*}"
    PG_HOST="${PG_HOST:-localhost}"
    PG_PORT=5432
    if [[ "$host_port" == *:* ]]; then
        PG_PORT="${host_port##*:}"
    fi
}

# psql_db ARG... : psql on the database of DB_URL as DB_USERNAME, stopping at the first error
psql_db() {
    pg_parse_url "$DB_URL"
    env ${DB_PASSWORD:+"PGPASSWORD=$DB_PASSWORD"} \
        psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$DB_USERNAME" -d "$PG_DB" "$@"
}

# drop_schema SCHEMA : drops it with everything in it; says whether that worked and never fails (cleanup traps)
drop_schema() {
    if ! command -v psql >/dev/null 2>&1; then
        log "psql is missing: schema $1 left in place"
    elif psql_db -c "DROP SCHEMA IF EXISTS \"$1\" CASCADE" >/dev/null 2>&1; then
        log "dropped schema $1"
    else
        log "could not drop schema $1"
    fi
}

# drop_queue AMQP_PREFIX : deletes the command queue of that prefix. Exchanges stay: rabbitmqctl cannot delete them.
drop_queue() {
    if ! command -v rabbitmqctl >/dev/null 2>&1; then
        log "rabbitmqctl is missing: queue $1.commands left in place"
    elif rabbitmqctl -q delete_queue "$1.commands" >/dev/null 2>&1; then
        log "deleted queue $1.commands"
    fi
}

# ---- processes ------------------------------------------------------------------------------------------

pid_of() { cat "$PROC_DIR/$1.pid" 2>/dev/null || true; }

alive() {
    local pid
    pid="$(pid_of "$1")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# http_code URL : the status code, 000 when nothing answers
http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# spawn NAME COMMAND... : runs COMMAND in its own session (a terminal's Ctrl-C does not reach it), appending its
# output to NAME.log; does not wait for it
spawn() {
    local name="$1"
    shift
    mkdir -p "$PROC_DIR"
    date +%s%N >"$PROC_DIR/$name.started"
    setsid "$@" >>"$PROC_DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$PROC_DIR/$name.pid"
}

# aot_jvm : sets AOT_JVM, once per run of the script, to what names this JVM build (its home and version), or to
# nothing when it has no AOT caches (before JDK 25)
aot_jvm() {
    local properties version
    [[ -z "${AOT_JVM+set}" ]] || return 0
    properties="$("$JAVA" -XshowSettings:properties -version 2>&1)"
    version="$(awk '/java.specification.version/ {print $3}' <<<"$properties")"
    AOT_JVM=""
    if [[ "$version" =~ ^[0-9]+$ ]] && ((version >= 25)); then
        AOT_JVM="$(grep -E 'java\.(home|vm\.version) = ' <<<"$properties")"
    fi
}

# aot_cache ROLE JVM_ARG... : the path of the AOT cache of a kvstream process of ROLE started with these JVM flags from
# $JAR, under $AOT_CACHE_DIR; nothing unless AOT_CACHE_DIR is set and the JVM has AOT caches (aot_jvm, run first).
aot_cache() {
    local role="$1"
    shift
    [[ -n "${AOT_CACHE_DIR:-}" && -n "${AOT_JVM:-}" ]] || return 0
    # A cache fits one JVM build, one jar and one set of flags (the JVM refuses it otherwise): all are in its name.
    echo "$AOT_CACHE_DIR/$( { echo "$AOT_JVM"; cksum <"$JAR"; echo "$*"; } | cksum | cut -d' ' -f1)-$role.aot"
}

# aot_flags CACHE : how a process uses CACHE (aot_cache): it starts from it if it is there. Otherwise the first process
# of its kind to start records what it loads and compiles, and the JVM writes the cache as that process exits (after a
# SIGTERM too), for every later start; the others start without. Start-up then skips loading and linking the classes,
# and the JIT compiles early from the recorded profiles (bench/results/ab/startup-aot-cache.md).
aot_flags() {
    local cache="$1" trainer
    [[ -n "$cache" ]] || return 0
    if [[ -f "$cache" ]]; then
        echo "-XX:AOTCache=$cache"
        return
    fi
    trainer="$(cat "$cache.trainer" 2>/dev/null || true)"
    if [[ -z "$trainer" ]] || ! kill -0 "$trainer" 2>/dev/null; then
        mkdir -p "${cache%/*}"
        echo "-XX:AOTCacheOutput=$cache"
    fi
}

# spawn_kvstream NAME ROLE PORT SCHEMA AMQP_PREFIX [JVM_ARG...] : starts one kvstream process on 127.0.0.1:PORT
spawn_kvstream() {
    local name="$1" role="$2" port="$3" schema="$4" prefix="$5" cache aot
    shift 5
    if alive "$name"; then
        log "$name already running (pid $(pid_of "$name"))"
        return 0
    fi
    ensure_jar
    # Another process on the port would answer the readiness probe in its place.
    port_free "$port" || die "port $port (for $name) is in use"
    [[ -z "${AOT_CACHE_DIR:-}" ]] || aot_jvm
    cache="$(aot_cache "$role" "$@")"
    aot="$(aot_flags "$cache")"
    spawn "$name" env KVSTREAM_ROLE="$role" SERVER_PORT="$port" SERVER_HOST=127.0.0.1 KVSTREAM_MODE=prod \
        KVSTREAM_DB_URL="$DB_URL" KVSTREAM_DB_USERNAME="$DB_USERNAME" KVSTREAM_DB_PASSWORD="${DB_PASSWORD:-}" \
        KVSTREAM_DB_SCHEMA="$schema" KVSTREAM_AMQP_URI="$AMQP_URI" KVSTREAM_AMQP_NAME_PREFIX="$prefix" \
        KVSTREAM_DATA_DIR="$PROC_DIR/data-$name" \
        "$JAVA" --enable-native-access=ALL-UNNAMED ${aot:+"$aot"} "$@" -jar "$JAR"
    rm -f "$PROC_DIR/$name.records-aot"
    if [[ "$aot" == -XX:AOTCacheOutput=* ]]; then
        pid_of "$name" >"$cache.trainer"
        touch "$PROC_DIR/$name.records-aot"
    fi
    log "started $name ($role) on 127.0.0.1:$port, pid $(pid_of "$name")${aot:+, ${aot#-XX:}}"
}

# wait_kvstream NAME PORT : until its readiness probe answers 200
wait_kvstream() { wait_ready "$1" "http://127.0.0.1:$2/observe/health/ready"; }

# start_kvstream NAME ROLE PORT SCHEMA AMQP_PREFIX [JVM_ARG...] : spawn_kvstream, then wait_kvstream
start_kvstream() {
    spawn_kvstream "$@"
    wait_kvstream "$1" "$3"
}

# wait_ready NAME URL : waits (READY_TIMEOUT) for a 200 from URL while NAME lives; writes the milliseconds since
# NAME was started to NAME.ready-ms
wait_ready() {
    local name="$1" url="$2" timeout="${READY_TIMEOUT:-120}" deadline ms
    deadline=$((SECONDS + timeout))
    until [[ "$(http_code "$url")" == 200 ]]; do
        if ! alive "$name"; then
            tail -n 30 "$PROC_DIR/$name.log" >&2 || true
            die "$name exited before it was ready (log: $PROC_DIR/$name.log)"
        fi
        ((SECONDS < deadline)) || die "$name not ready within ${timeout}s (log: $PROC_DIR/$name.log)"
        sleep "${READY_POLL:-0.2}"
    done
    ms=$((($(date +%s%N) - $(cat "$PROC_DIR/$name.started")) / 1000000))
    echo "$ms" >"$PROC_DIR/$name.ready-ms"
    log "$name ready after $ms ms"
}

# terminate NAME PID SIGNAL SECONDS LAST_SIGNAL : sends SIGNAL, waits up to SECONDS for the exit, then LAST_SIGNAL
terminate() {
    local name="$1" pid="$2" signal="$3" seconds="$4" last="$5" deadline
    kill -0 "$pid" 2>/dev/null || return 0
    kill -"$signal" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + seconds))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name (pid $pid) ignored SIG$signal for $seconds s: SIG$last"
        kill -"$last" "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
}

# stop_proc NAME : SIGTERM, then up to 30 s for it to exit (120 s for a process that writes an AOT cache as it exits:
# aot_flags), then SIGKILL
stop_proc() {
    local pid grace=30
    pid="$(pid_of "$1")"
    [[ -f "$PROC_DIR/$1.records-aot" ]] && grace=120
    if [[ -n "$pid" ]]; then
        terminate "$1" "$pid" TERM "$grace" KILL
    fi
    rm -f "$PROC_DIR/$1.pid" "$PROC_DIR/$1.started" "$PROC_DIR/$1.records-aot"
}

# ---- nginx ----------------------------------------------------------------------------------------------
# One nginx = one directory DIR: DIR/nginx.conf, DIR/nginx.pid, DIR/error.log and its temp directories.

# nginx_write_conf DIR WORKERS HTTP_BODY : writes DIR/nginx.conf around the given http {} body, checked by nginx -t
# before it replaces the previous one
nginx_write_conf() {
    local dir="$1" workers="$2" body="$3"
    mkdir -p "$dir"/{client_body,proxy,fastcgi,uwsgi,scgi}
    {
        # As root, nginx would switch its workers to nobody, who may not read the run directory.
        if [[ $(id -u) -eq 0 ]]; then
            echo "user root;"
        fi
        cat <<EOF
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
$body
}
EOF
    } >"$dir/nginx.conf.new"
    nginx -t -q -p "$dir" -c "$dir/nginx.conf.new" -e "$dir/error.log" \
        || die "generated nginx config is invalid: $dir/nginx.conf.new"
    mv "$dir/nginx.conf.new" "$dir/nginx.conf"
}

nginx_pid() { cat "$1/nginx.pid" 2>/dev/null || true; }

nginx_alive() {
    local pid
    pid="$(nginx_pid "$1")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# nginx_start DIR PORT [PATH] : starts nginx and waits until 127.0.0.1:PORT answers (with 200 on PATH if given)
nginx_start() {
    local dir="$1" port="$2" path="${3:-}" deadline code
    if nginx_alive "$dir"; then
        log "nginx already running (pid $(nginx_pid "$dir"))"
        return 0
    fi
    port_free "$port" || die "nginx port $port is in use"
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    deadline=$((SECONDS + 10))
    while true; do
        code="$(http_code "http://127.0.0.1:$port${path:-/}")"
        if [[ -s "$dir/nginx.pid" ]] && { [[ -n "$path" && "$code" == 200 ]] || [[ -z "$path" && "$code" != 000 ]]; }; then
            break
        fi
        ((SECONDS < deadline)) || die "nginx does not answer on $port${path:+ with 200 on $path} (see $dir/error.log)"
        sleep 0.1
    done
    log "nginx on http://127.0.0.1:$port/ pid $(nginx_pid "$dir")"
}

# nginx_reload DIR : graceful: new workers use the new configuration, the old ones finish their in-flight requests;
# returns once they have exited (at most 15 s)
nginx_reload() {
    local dir="$1" before pid remaining deadline
    nginx_alive "$dir" || return 0
    before="$(pgrep -P "$(nginx_pid "$dir")" 2>/dev/null | tr '\n' ' ' || true)"
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s reload
    deadline=$((SECONDS + 15))
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

# nginx_stop DIR : graceful (SIGQUIT: in-flight requests finish), SIGTERM after 10 s
nginx_stop() {
    local pid
    pid="$(nginx_pid "$1")"
    if [[ -n "$pid" ]]; then
        terminate nginx "$pid" QUIT 10 TERM
    fi
    rm -f "$1/nginx.pid"
}

# ---- the Ingress as nginx -------------------------------------------------------------------------------

# ingress_routes : the Ingress manifest (INGRESS_YAML, k8s/base/ingress.yaml) as lines
#   "route PATH PATH_TYPE SERVICE" (every rule's paths) and "annotation KEY VALUE" (metadata.annotations).
# A small reader for the block-style YAML of Kubernetes manifests, so that no YAML tool is needed.
ingress_routes() {
    awk '
        function unquote(s) {
            sub(/[ \t]+#.*$/, "", s); sub(/[ \t]+$/, "", s)
            if (s ~ /^".*"$/ || s ~ /^\047.*\047$/) s = substr(s, 2, length(s) - 2)
            return s
        }
        function flush() {
            if (path != "") print "route", path, (type == "" ? "-" : type), (service == "" ? "-" : service)
            path = type = service = ""; in_service = 0
        }
        /^[ \t]*(#.*)?$/ || /^---/ { next }
        {
            match($0, /^ */); indent = RLENGTH; line = substr($0, indent + 1); item = 0
            if (line ~ /^- /) { item = 1; line = substr(line, 3); indent += 2 }
            key = line; sub(/:.*/, "", key)
            value = line; if (!sub(/^[^:]*:[ \t]*/, "", value)) value = ""; value = unquote(value)
        }
        in_annotations && indent <= annotations_indent { in_annotations = 0 }
        in_annotations { print "annotation", key, value; next }
        key == "annotations" && value == "" { in_annotations = 1; annotations_indent = indent; next }
        in_paths && indent <= paths_indent { flush(); in_paths = 0 }
        key == "paths" && value == "" { in_paths = 1; paths_indent = indent; item_indent = 0; next }
        !in_paths { next }
        item && (item_indent == 0 || indent == item_indent) { flush(); item_indent = indent }
        in_service && indent <= service_indent { in_service = 0 }
        in_service && key == "name" && indent == service_indent + 2 { service = value; next }
        key == "path" { path = value }
        key == "pathType" { type = value }
        key == "service" && value == "" { in_service = 1; service_indent = indent }
        END { if (in_paths) flush() }
    ' "$INGRESS_YAML"
}

# ingress_nginx_http PORT SERVICE=[HOST:PORT[,HOST:PORT...]]... : the http {} body of an nginx that does what the
# Ingress (k8s/base/ingress.yaml) does, listening on 127.0.0.1:PORT: its paths go to one upstream per Service,
# named after it, holding the given endpoints (none: 503, like a Service without ready endpoints), and its
# ingress-nginx annotations (timeouts, body size, next upstream) apply to every path, as in ingress-nginx.
ingress_nginx_http() {
    local port="$1" arg kind a b c service
    shift
    local -A endpoints=()
    for arg in "$@"; do
        endpoints["${arg%%=*}"]="${arg#*=}"
    done
    # ingress-nginx defaults, except a shorter connect timeout: an endpoint of this machine that does not accept
    # within 2 s is gone.
    local read_timeout=60 send_timeout=60 connect_timeout=2 body_size=1m next_upstream="error timeout" limit_connections=""
    local routes=() services=()
    while read -r kind a b c; do
        case "$kind $a" in
            "annotation nginx.ingress.kubernetes.io/proxy-read-timeout") read_timeout="$b" ;;
            "annotation nginx.ingress.kubernetes.io/proxy-send-timeout") send_timeout="$b" ;;
            "annotation nginx.ingress.kubernetes.io/proxy-connect-timeout") connect_timeout="$b" ;;
            "annotation nginx.ingress.kubernetes.io/proxy-body-size") body_size="$b" ;;
            "annotation nginx.ingress.kubernetes.io/proxy-next-upstream") next_upstream="$b${c:+ $c}" ;;
            "annotation nginx.ingress.kubernetes.io/limit-connections") limit_connections="${b//\"/}" ;;
            "annotation nginx.ingress.kubernetes.io/"*) log "warning: Ingress annotation $a is not mirrored by the local nginx" ;;
            "route "*)
                [[ -v "endpoints[$c]" ]] || die "the Ingress routes $a to Service $c: no endpoints given for it"
                routes+=("$a $b $c")
                [[ " ${services[*]} " == *" $c "* ]] || services+=("$c")
                ;;
        esac
    done < <(ingress_routes)
    ((${#routes[@]} > 0)) || die "no routes read from $INGRESS_YAML"

    cat <<EOF
    # Generated from $INGRESS_YAML by scripts/lib.sh (ingress_nginx_http).
    client_max_body_size $body_size;
    keepalive_requests 100000;
    keepalive_timeout 75s;
    # As in ingress-nginx: the WebSocket handshake headers are passed on every path; a request without Upgrade
    # sends no Connection header, so the upstream connection stays in the keepalive pool.
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      '';
    }
EOF
    if [[ -n "$limit_connections" ]]; then
        printf '    # limit-connections: concurrent connections per client address.\n'
        printf '    limit_conn_zone $binary_remote_addr zone=per_address:10m;\n'
    fi
    local servers endpoint
    for service in "${services[@]}"; do
        servers=""
        for endpoint in ${endpoints[$service]//,/ }; do
            servers+="        server $endpoint max_fails=1 fail_timeout=2s;"$'\n'
        done
        servers="${servers:-        server 127.0.0.1:9 down;$'\n'}"
        printf '    upstream %s {\n%s        keepalive 128;\n        keepalive_requests 100000;\n        keepalive_timeout 60s;\n    }\n' \
            "$service" "$servers"
    done
    cat <<EOF
    server {
        listen 127.0.0.1:$port backlog=4096;

        proxy_http_version 1.1;
        proxy_set_header Host \$http_host;
        proxy_set_header X-Real-IP \$remote_addr;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_set_header Upgrade \$http_upgrade;
        proxy_set_header Connection \$connection_upgrade;
        proxy_connect_timeout ${connect_timeout}s;
        proxy_read_timeout ${read_timeout}s;
        proxy_send_timeout ${send_timeout}s;
        # The Ingress's proxy-next-upstream, for every method (ingress-nginx has no per-method setting). A 503 is
        # never in it: kvstream's own 503 + Retry-After reaches the client, and does not count towards max_fails
        # (only what proxy_next_upstream names does), so a database outage cannot mark every endpoint down.
        proxy_next_upstream $next_upstream;
        proxy_next_upstream_tries 3;
EOF
    if [[ -n "$limit_connections" ]]; then
        printf '        limit_conn per_address %s;\n        limit_conn_status 503;\n' "$limit_connections"
    fi
    local path type covers_root=""
    for arg in "${routes[@]}"; do
        read -r path type service <<<"$arg"
        case "$type" in
            Exact) ingress_location "= $path" "$service" ;;
            Prefix)
                # Prefix matches whole path elements: /values matches /values and /values/x, not /valuesx.
                path="${path%/}"
                if [[ -z "$path" ]]; then
                    covers_root=1
                    ingress_location "/" "$service"
                else
                    ingress_location "= $path" "$service"
                    ingress_location "$path/" "$service"
                fi
                ;;
            *) die "Ingress path $path: pathType $type is not mirrored (Exact and Prefix are)" ;;
        esac
    done
    if [[ -z "$covers_root" ]]; then
        printf '        # Not in the Ingress.\n        location / {\n            return 404;\n        }\n'
    fi
    printf '    }\n'
}

# ingress_location MATCH SERVICE : one location of ingress_nginx_http
ingress_location() {
    cat <<EOF
        location $1 {
            proxy_pass http://$2;
        }
EOF
}
