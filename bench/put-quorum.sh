#!/usr/bin/env bash
# What a quorum command queue costs a synchronous PUT, side by side with a classic one: starts a 3-node RabbitMQ
# cluster on loopback (scripts/rabbitmq-cluster.sh; nodes rb1..rb3@localhost on 127.0.0.1:5791-5793) and runs
# bench/ab.sh put twice, each side with its own schema, worker and API process, wrk alternating between the sides:
#   1. the queue type alone: classic vs quorum, both on the cluster (a classic queue lives on one of its nodes);
#   2. today's path vs the production default: classic on the machine's single RabbitMQ vs quorum with synchronous
#      commands in the workers' own queues (kvstream.amqp.sync-command-lane=worker-queues) on the cluster;
# then bench/put.sh (kvstream vs pgbench upsert vs etcd put: the performance targets) with the production default.
#   bench/put-quorum.sh      -> bench/results/ab/put-quorum-vs-classic.md
# The last step alone, the targets with the production default:
#   bench/put-quorum.sh targets -> bench/results/put-production-default.md
# The third contestant, quorum with synchronous commands in the workers' own queues
# (kvstream.amqp.sync-command-lane=worker-queues, the Kubernetes default), against the two others on the cluster:
#   bench/put-quorum.sh lanes -> bench/results/ab/put-quorum-worker-queues-vs-quorum-vs-classic.md
# BENCH_RUNS, BENCH_DURATION etc. as for every bench script (bench/lib.sh).
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_jar
WHAT="${1:-all}"
[[ $WHAT == all || $WHAT == lanes || $WHAT == targets ]] || die "usage: bench/put-quorum.sh [lanes|targets]"
OUT="$RESULTS/ab/put-quorum-vs-classic.md"
[[ $WHAT == lanes ]] && OUT="$RESULTS/ab/put-quorum-worker-queues-vs-quorum-vs-classic.md"
[[ $WHAT == targets ]] && OUT="$RESULTS/put-production-default.md"
# Names and ports of their own: another benchmark may run the same scripts beside this one.
export AB_NAME="${AB_NAME:-abq}" AB_PORT="${AB_PORT:-19571}"
export BENCH_SUFFIX="${BENCH_SUFFIX:-_quorum}" BENCH_PORT_OFFSET="${BENCH_PORT_OFFSET:-400}"
export RMQ_CLUSTER_DIR="$WORK/rabbitmq-cluster" RMQ_CLUSTER_NAME=rb RMQ_CLUSTER_PORT=5790 RMQ_CLUSTER_DIST_PORT=25790
"$ROOT/scripts/rabbitmq-cluster.sh" stop
trap '"$ROOT/scripts/rabbitmq-cluster.sh" stop' EXIT
CLUSTER_URI="$("$ROOT/scripts/rabbitmq-cluster.sh" start | tail -1)"
CLASSIC=-Dkvstream.amqp.command-queue-type=classic QUORUM=-Dkvstream.amqp.command-queue-type=quorum
LANES="$QUORUM -Dkvstream.amqp.sync-command-lane=worker-queues"

if [[ $WHAT == lanes ]]; then
    A_OPTS="$QUORUM" B_OPTS="$LANES" A_AMQP_URI="$CLUSTER_URI" B_AMQP_URI="$CLUSTER_URI" \
        AB_RESULT="$WORK/put-lanes-1.md" "$BENCH_DIR/ab.sh" put
    # Queues of their own: a queue keeps its type, and side A's command queue of the first comparison is a quorum one.
    AB_NAME="${AB_NAME}c" A_OPTS="$CLASSIC" B_OPTS="$LANES" A_AMQP_URI="$CLUSTER_URI" B_AMQP_URI="$CLUSTER_URI" \
        AB_RESULT="$WORK/put-lanes-2.md" "$BENCH_DIR/ab.sh" put
    {
        echo "## Synchronous PUT: quorum command queue with the workers' own queues vs quorum alone vs classic"
        echo
        echo "\`bench/put-quorum.sh lanes\` — RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null | cut -d- -f1):"
        echo "a 3-node cluster of Debian's rabbitmq-server on loopback (scripts/rabbitmq-cluster.sh, plugin"
        echo "rabbitmq_random_exchange enabled); each side 1 API + 1 worker process with its own schema and queues, $CONNS"
        echo "clients, 200 = committed in PostgreSQL and applied on the answering process. With"
        echo "sync-command-lane=worker-queues a synchronous command goes through the x-random exchange to the worker's own"
        echo "exclusive classic queue (on the node of the worker's connection) instead of the quorum queue; every node of"
        echo "this machine shares the same 2 cores and disk."
        echo
        machine_info
        echo
        echo "#### 1. quorum (shared queue) vs quorum + worker-queues (both on the cluster)"
        echo
        tail -n +3 "$WORK/put-lanes-1.md"
        echo
        echo "#### 2. classic vs quorum + worker-queues (both on the cluster)"
        echo
        tail -n +3 "$WORK/put-lanes-2.md"
    } >"$OUT"
    log "wrote $OUT"
    exit 0
fi

# The performance targets with the production default (the chart's: quorum queue, workers' own queues).
production_default_targets() {
    BENCH_AMQP_URI="$CLUSTER_URI" KV_JAVA_OPTS="$LANES" KV_WORKER_JAVA_OPTS="$LANES" \
        PUT_RESULTS="$WORK/put-quorum-targets" "$BENCH_DIR/put.sh"
}

if [[ $WHAT == targets ]]; then
    production_default_targets
    {
        echo "## Synchronous PUT with the production default: the performance targets"
        echo
        echo "\`bench/put-quorum.sh targets\` — RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null | cut -d- -f1):"
        echo "a 3-node cluster of Debian's rabbitmq-server on loopback (scripts/rabbitmq-cluster.sh), the command queue a"
        echo "quorum queue and synchronous commands in the workers' own queues, as the chart deploys them; every node of"
        echo "this machine shares the same 2 cores and disk with kvstream, PostgreSQL, etcd and the load generator."
        echo
        machine_info
        echo
        tail -n +3 "$WORK/put-quorum-targets/put.md"
    } >"$OUT"
    log "wrote $OUT"
    exit 0
fi

A_OPTS="$CLASSIC" B_OPTS="$QUORUM" A_AMQP_URI="$CLUSTER_URI" B_AMQP_URI="$CLUSTER_URI" \
    AB_RESULT="$WORK/put-quorum-1.md" "$BENCH_DIR/ab.sh" put
A_OPTS="$CLASSIC" B_OPTS="$LANES" A_AMQP_URI="$AMQP_URI" B_AMQP_URI="$CLUSTER_URI" \
    AB_RESULT="$WORK/put-quorum-2.md" "$BENCH_DIR/ab.sh" put
production_default_targets

{
    echo "## Synchronous PUT: quorum vs classic command queue"
    echo
    echo "\`bench/put-quorum.sh\` — RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null | cut -d- -f1):"
    echo "a 3-node cluster of Debian's rabbitmq-server on loopback (scripts/rabbitmq-cluster.sh) beside the machine's single"
    echo "node; each side 1 API + 1 worker process with its own schema and queue, $CONNS clients, 200 = committed in"
    echo "PostgreSQL and applied on the answering process. A quorum queue confirms a command once a majority of the three"
    echo "nodes has written it to disk; every node of this machine shares the same 2 cores and disk."
    echo
    machine_info
    echo
    echo "#### 1. The queue type alone (both sides on the cluster)"
    echo
    tail -n +3 "$WORK/put-quorum-1.md"
    echo
    echo "#### 2. Today's path (classic queue, the machine's single RabbitMQ) vs the production default (quorum and the"
    echo "workers' own queues, cluster)"
    echo
    tail -n +3 "$WORK/put-quorum-2.md"
    echo
    echo "#### 3. The performance targets with the production default (bench/put.sh, quorum queue and the workers' own"
    echo "queues for synchronous commands, on the cluster)"
    echo
    tail -n +3 "$WORK/put-quorum-targets/put.md"
} >"$OUT"
log "wrote $OUT"
