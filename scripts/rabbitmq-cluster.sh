#!/usr/bin/env bash
# A RabbitMQ cluster of N nodes on loopback from Debian's rabbitmq-server, beside the machine's own broker (whose node
# name, port 5672, configuration and data it never touches): each node has its own node name (<name>1@localhost ...),
# AMQP port, Erlang distribution port, configuration file and data/log directories under one run directory. The nodes
# share the machine's Erlang cookie and epmd (as root they run as the rabbitmq user, like the machine's broker).
# For the fault test (BrokerNodeLossIT), the benchmark (bench/put-quorum.sh) and operators trying broker HA.
#
#   scripts/rabbitmq-cluster.sh start        start the nodes, join them to the first, wait until all run; prints the
#                                            kvstream.amqp.uri that lists them
#   scripts/rabbitmq-cluster.sh uri          that URI
#   scripts/rabbitmq-cluster.sh status       the cluster as its first running node sees it
#   scripts/rabbitmq-cluster.sh pid N        the OS pid of node N (1-based)
#   scripts/rabbitmq-cluster.sh kill N       SIGKILL node N (its data stays: start-node N brings it back)
#   scripts/rabbitmq-cluster.sh start-node N start node N again; it rejoins the cluster by itself
#   scripts/rabbitmq-cluster.sh leader QUEUE the number of the node that leads quorum queue QUEUE
#   scripts/rabbitmq-cluster.sh members QUEUE its leader, members and online members
#   scripts/rabbitmq-cluster.sh stop         stop every node (SIGKILL what does not stop) and delete the run directory
#
# Overridable by environment variables (defaults in brackets):
#   RMQ_CLUSTER_DIR [/tmp/kvstream-rabbitmq-cluster]  RMQ_CLUSTER_NODES [3]  RMQ_CLUSTER_NAME [rt]
#   RMQ_CLUSTER_PORT [5780]: node N listens on 127.0.0.1:(RMQ_CLUSTER_PORT + N)
#   RMQ_CLUSTER_DIST_PORT [25780]: node N's Erlang distribution port is RMQ_CLUSTER_DIST_PORT + N
#   RMQ_CLUSTER_TIMEOUT [120] seconds a node may take to start
#   RMQ_CLUSTER_KEEP_LOGS [unset]: stop copies the nodes' logs into this directory before deleting the run directory
#   RMQ_CLUSTER_SCHEDULERS [unset]: Erlang schedulers per node (+S N:N); unset, one per core, as Erlang chooses
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_TAG=rabbitmq-cluster
RUN_DIR="${RMQ_CLUSTER_DIR:-/tmp/kvstream-rabbitmq-cluster}"
NODES="${RMQ_CLUSTER_NODES:-3}"
NAME="${RMQ_CLUSTER_NAME:-rt}"
PORT="${RMQ_CLUSTER_PORT:-5780}"
DIST_PORT="${RMQ_CLUSTER_DIST_PORT:-25780}"
TIMEOUT="${RMQ_CLUSTER_TIMEOUT:-120}"
ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}${RMQ_CLUSTER_SCHEDULERS:+ +S $RMQ_CLUSTER_SCHEDULERS:$RMQ_CLUSTER_SCHEDULERS}"
RABBITMQ_BIN=/usr/lib/rabbitmq/bin
[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || die "RMQ_CLUSTER_NODES must be a positive number: $NODES"

node_name() { echo "$NAME$1@localhost"; }
node_dir() { echo "$RUN_DIR/$NAME$1"; }

# as_rabbitmq COMMAND... : as root, runs COMMAND as the rabbitmq user with its home (the Erlang cookie's place);
# as anyone else, as that user with their own cookie
as_rabbitmq() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq "$@"
    else
        "$@"
    fi
}

ctl() {
    local node="$1"
    shift
    as_rabbitmq "$RABBITMQ_BIN/rabbitmqctl" -q -n "$(node_name "$node")" "$@"
}

# node_env N : the environment of node N's server, and of nothing else: the machine's rabbitmq-env.conf (which names
# the machine's node) and /etc/rabbitmq files are replaced by the node's own
node_env() {
    local dir
    dir="$(node_dir "$1")"
    echo RABBITMQ_NODENAME="$(node_name "$1")" \
        RABBITMQ_DIST_PORT="$((DIST_PORT + $1))" \
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
        RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" \
        RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_PID_FILE="$dir/pid" \
        ERL_EPMD_ADDRESS=127.0.0.1
}

prepare_node() {
    local n="$1" dir
    dir="$(node_dir "$n")"
    port_free "$((PORT + n))" || die "port $((PORT + n)) (for $(node_name "$n")) is in use"
    port_free "$((DIST_PORT + n))" || die "port $((DIST_PORT + n)) (for $(node_name "$n")) is in use"
    mkdir -p "$dir/mnesia" "$dir/log"
    : >"$dir/rabbitmq-env.conf"
    # The exchange type of kvstream.amqp.sync-command-lane=worker-queues.
    echo "[rabbitmq_random_exchange]." >"$dir/enabled_plugins"
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.local = 127.0.0.1:$((PORT + n))
# The default user may connect from loopback only (RabbitMQ's default, said here because these nodes are for tests).
loopback_users.guest = true
# New quorum queues put their leader on the node with the fewest leaders, not always on the declaring client's node.
queue_leader_locator = balanced
EOF
    if [[ $(id -u) -eq 0 ]]; then
        chown -R rabbitmq:rabbitmq "$RUN_DIR"
    fi
}

# spawn_node N : starts node N's server in the background (its own session; output in NAME.log)
spawn_node() {
    local n="$1"
    PROC_DIR="$RUN_DIR" spawn "$NAME$n" \
        bash -c "$(declare -f as_rabbitmq); as_rabbitmq env $(node_env "$n") \
                 RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='$ERL_ARGS' \
                 $RABBITMQ_BIN/rabbitmq-server"
}

# wait_node N : until node N's RabbitMQ application runs (it writes its pid file first)
wait_node() {
    local n="$1"
    if ! ctl "$n" wait --timeout "$TIMEOUT" "$(node_dir "$n")/pid" >/dev/null; then
        tail -n 30 "$RUN_DIR/$NAME$n.log" >&2 || true
        die "$(node_name "$n") did not start within ${TIMEOUT}s (logs: $(node_dir "$n")/log, $RUN_DIR/$NAME$n.log)"
    fi
}

node_pid() { cat "$(node_dir "$1")/pid" 2>/dev/null || true; }

uri() {
    local hosts="" n
    for ((n = 1; n <= NODES; n++)); do
        hosts+="${hosts:+,}127.0.0.1:$((PORT + n))"
    done
    echo "amqp://guest:guest@$hosts/%2f"
}

start() {
    local n out
    command -v "$RABBITMQ_BIN/rabbitmq-server" >/dev/null || ensure_tools rabbitmq-server=rabbitmq-server
    [[ ! -e "$RUN_DIR" ]] || die "$RUN_DIR exists: a cluster runs there (stop it first)"
    for ((n = 1; n <= NODES; n++)); do
        prepare_node "$n"
    done
    for ((n = 1; n <= NODES; n++)); do
        spawn_node "$n"
    done
    for ((n = 1; n <= NODES; n++)); do
        wait_node "$n"
        log "$(node_name "$n") runs on 127.0.0.1:$((PORT + n)), pid $(node_pid "$n")"
    done
    for ((n = 2; n <= NODES; n++)); do
        # join_cluster logs errors about tables of the stopped node that it then creates: shown only on failure.
        out="$(ctl "$n" stop_app 2>&1 && ctl "$n" join_cluster "$(node_name 1)" 2>&1 && ctl "$n" start_app 2>&1)" \
            || { printf '%s\n' "$out" >&2; die "$(node_name "$n") could not join $(node_name 1)"; }
        log "$(node_name "$n") joined $(node_name 1)"
    done
    uri
}

start_node() {
    local n="$1" pid
    pid="$(node_pid "$n")"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        log "$(node_name "$n") runs already (pid $pid)"
        return 0
    fi
    rm -f "$(node_dir "$n")/pid"
    spawn_node "$n"
    wait_node "$n"
    log "$(node_name "$n") runs again, pid $(node_pid "$n")"
}

kill_node() {
    local n="$1" pid
    pid="$(node_pid "$n")"
    [[ -n "$pid" ]] || die "no pid of $(node_name "$n") in $(node_dir "$n")/pid"
    kill -KILL "$pid"
    log "killed $(node_name "$n") (pid $pid)"
}

stop() {
    local n pid
    [[ -d "$RUN_DIR" ]] || return 0
    for ((n = NODES; n >= 1; n--)); do
        pid="$(node_pid "$n")"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            ctl "$n" stop >/dev/null 2>&1 || true
            terminate "$(node_name "$n")" "$pid" TERM 30 KILL
        fi
    done
    if [[ -n "${RMQ_CLUSTER_KEEP_LOGS:-}" ]]; then
        mkdir -p "$RMQ_CLUSTER_KEEP_LOGS"
        for ((n = 1; n <= NODES; n++)); do
            cp -r "$(node_dir "$n")/log" "$RMQ_CLUSTER_KEEP_LOGS/$NAME$n" 2>/dev/null || true
            cp "$RUN_DIR/$NAME$n.log" "$RMQ_CLUSTER_KEEP_LOGS/$NAME$n/console.log" 2>/dev/null || true
        done
        log "kept the nodes' logs in $RMQ_CLUSTER_KEEP_LOGS"
    fi
    rm -rf "$RUN_DIR"
    log "removed $RUN_DIR"
}

status() {
    local n pid
    for ((n = 1; n <= NODES; n++)); do
        pid="$(node_pid "$n")"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            ctl "$n" cluster_status
            return 0
        fi
    done
    die "no node runs"
}

# leader QUEUE : the number of the node that leads quorum queue QUEUE (of vhost /)
leader() {
    local n pid node
    for ((n = 1; n <= NODES; n++)); do
        pid="$(node_pid "$n")"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            node="$(ctl "$n" list_queues --no-table-headers name leader | awk -v q="$1" '$1 == q { print $2 }')"
            [[ -n "$node" ]] || die "no quorum queue $1"
            node="${node%@localhost}"
            echo "${node#"$NAME"}"
            return 0
        fi
    done
    die "no node runs"
}

# members QUEUE : quorum queue QUEUE's leader, members and online members, as the first running node sees them
members() {
    local n pid
    for ((n = 1; n <= NODES; n++)); do
        pid="$(node_pid "$n")"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            ctl "$n" list_queues --no-table-headers name leader members online | awk -F'\t' -v q="$1" '$1 == q'
            return 0
        fi
    done
    die "no node runs"
}

node_arg() {
    [[ "${1:-}" =~ ^[1-9][0-9]*$ ]] && (($1 <= NODES)) || die "node number 1..$NODES expected, not '${1:-}'"
    echo "$1"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    uri) uri ;;
    status) status ;;
    pid) node_pid "$(node_arg "${2:-}")" ;;
    kill) kill_node "$(node_arg "${2:-}")" ;;
    start-node) start_node "$(node_arg "${2:-}")" ;;
    leader) leader "${2:?queue name expected}" ;;
    members) members "${2:?queue name expected}" ;;
    *) die "usage: $0 start|stop|uri|status|pid N|kill N|start-node N|leader QUEUE|members QUEUE" ;;
esac
