#!/usr/bin/env bash
# Durable writes at the same concurrency (64), contestants interleaved run by run: kvstream synchronous PUT (200
# after the worker's PostgreSQL commit and the apply on the answering process) in both topologies, 1 API + 1 worker
# process (as Kubernetes runs it) and one process of role `all`; kvstream asynchronous PUT (`Prefer: respond-async`,
# 202 once the command is enqueued) on the first; pgbench running a single-row upsert script against the same
# PostgreSQL; etcd put through its JSON gateway (WAL fsync). Random keys out of KEYSPACE, 100-byte values.
# Each kvstream schema's revision must reach the writes acknowledged to wrk (async backlog committed first).
#   bench/put.sh            -> bench/results/put.md, put.tsv, put.targets (PUT_RESULTS=DIR: DIR/put.md ... instead)
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools wrk=wrk etcd=etcd-server pgbench=postgresql-contrib curl=curl
ensure_jar
NAME=put
RESULTS="${PUT_RESULTS:-$RESULTS}"
mkdir -p "$RESULTS"
# Two kvstream deployments, each with its own schema and AMQP prefix: (a) API + worker, (b) role `all`.
SCHEMA=bench_put$SUFFIX PREFIX=bench-put$SUFFIX ALL_SCHEMA=bench_put_all$SUFFIX ALL_PREFIX=bench-put-all$SUFFIX
PG_SCHEMA=bench_pgbench$SUFFIX
API=$((19111 + PORT_OFFSET)) WORKER=$((19112 + PORT_OFFSET)) ALL=$((19113 + PORT_OFFSET))
ETCD=$((19189 + PORT_OFFSET)) ETCD_PEER=$((19190 + PORT_OFFSET))
export KEYSPACE="${KEYSPACE:-10000}" KEY_PREFIX=bench- KEY_FIRST=0 VALUE_BYTES="${VALUE_BYTES:-100}"
VALUE="$(head -c "$VALUE_BYTES" /dev/zero | tr '\0' v)"
trap 'stop_proc put-api; stop_proc put-worker; stop_proc put-all; stop_proc put-etcd; drop_schema $SCHEMA
      drop_schema $ALL_SCHEMA; drop_schema $PG_SCHEMA; drop_queue $PREFIX; drop_queue $ALL_PREFIX' EXIT

drop_schema "$SCHEMA"
drop_schema "$ALL_SCHEMA"
start_kvstream put-worker worker "$WORKER" "$SCHEMA" "$PREFIX" -Xmx1g ${KV_WORKER_JAVA_OPTS:-}
start_kvstream put-api api "$API" "$SCHEMA" "$PREFIX" -Xmx1g ${KV_JAVA_OPTS:-}
start_kvstream put-all all "$ALL" "$ALL_SCHEMA" "$ALL_PREFIX" -Xmx1g ${KV_JAVA_OPTS:-}
start_etcd put-etcd "$ETCD" "$ETCD_PEER"

# pgbench: the same table shape as kv_values, the same keys and value, one upsert per transaction.
pgbench_upsert "$PG_SCHEMA" "$WORK/upsert.sql" "$KEYSPACE" "$KEY_PREFIX" "$VALUE"

# pgbench_run OUT : appends "tps p50_ms p99_ms errors 0" (latencies from the per-transaction log)
pgbench_run() {
    local out="$1" log="$WORK/pgbench-log" tps
    rm -f "$log".*
    tps="$(PGOPTIONS='-c synchronous_commit=on' pgbench -n -h "$PG_HOST" -p "$PG_PORT" \
            -U "$DB_USERNAME" -c "$CONNS" -j "$THREADS" -T "$DURATION" -M prepared -f "$WORK/upsert.sql" \
            -l --log-prefix="$log" "$PG_DB" 2>"$WORK/pgbench.err" \
           | awk '/^tps = / {print $3; exit}')"
    [[ -n "$tps" ]] || { cat "$WORK/pgbench.err" >&2; die "pgbench failed"; }
    cat "$log".* | awk '{print $3 / 1000}' | sort -g | awk -v tps="$tps" '{ v[NR] = $1 } END {
        printf "%s %.3f %.3f 0 0\n", tps, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1] }' >>"$out"
    rm -f "$log".*
    log "  $(tail -1 "$out") <- pgbench upsert"
}

# kv_run OUT URL : one wrk run of PUTs (asynchronous ones with PUT_ASYNC=1 in the environment)
kv_run() { wrk_run "$1" "$2" "$BENCH_DIR/wrk/put.lua"; }
# async_run OUT : one asynchronous run on (a), then, unmeasured, the wait until the worker has taken the backlog
# off the command queue (its seconds appended to OUT.drain), so that the next contestant does not compete with it
async_run() {
    local t0
    PUT_ASYNC=1 kv_run "$1" "http://127.0.0.1:$API"
    t0=$SECONDS
    drain "$PREFIX."
    echo $((SECONDS - t0)) >>"$1.drain"
}
# settled_revision SCHEMA : its revision once it has not moved for a second (bounded: 120 s)
settled_revision() {
    local rev prev="" deadline=$((SECONDS + 120))
    while true; do
        rev="$(psql_db -Atc "SELECT revision FROM $1.kv_meta")"
        if [[ "$rev" == "$prev" ]] || ((SECONDS >= deadline)); then
            break
        fi
        prev="$rev"
        sleep 1
    done
    echo "$rev"
}
# acked FILE... : the writes acknowledged (2xx answers) over the wrk runs in the files
acked() { cat "$@" | awk '{ s += $6 - $5 } END { print s + 0 }'; }

# Warm-up (JIT) of each kvstream contestant; these writes count in the acknowledged ones too.
rm -f "$WORK"/put-*.txt "$WORK"/put-*.txt.drain
DURATION=$WARMUP_S kv_run "$WORK/put-warm-kv.txt" "http://127.0.0.1:$API"
DURATION=$WARMUP_S kv_run "$WORK/put-warm-all.txt" "http://127.0.0.1:$ALL"
DURATION=$WARMUP_S async_run "$WORK/put-warm-async.txt"
wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS"
    kv_run "$WORK/put-kv.txt" "http://127.0.0.1:$API"
    kv_run "$WORK/put-all.txt" "http://127.0.0.1:$ALL"
    async_run "$WORK/put-async.txt"
    pgbench_run "$WORK/put-pg.txt"
    wrk_run "$WORK/put-etcd.txt" "http://127.0.0.1:$ETCD" "$BENCH_DIR/wrk/etcd-put.lua"
done
# Every acknowledged kvstream write must be in PostgreSQL: each committed write is one revision, so a schema's
# revision is at least the 2xx answers its processes gave (more when wrk stopped before a committed write's answer).
REV="$(settled_revision "$SCHEMA")" REV_ALL="$(settled_revision "$ALL_SCHEMA")"
ACKED="$(acked "$WORK"/put-{warm-kv,kv,warm-async,async}.txt)" ACKED_ALL="$(acked "$WORK"/put-{warm-all,all}.txt)"

KV="$(rps_of "$WORK/put-kv.txt")" KA="$(rps_of "$WORK/put-all.txt")" AS="$(rps_of "$WORK/put-async.txt")"
PG="$(rps_of "$WORK/put-pg.txt")" ET="$(rps_of "$WORK/put-etcd.txt")"
{
    echo "### Durable PUT: kvstream (API + worker, role \`all\`, async) vs pgbench upsert vs etcd put"
    echo
    echo "\`bench/put.sh\` — $CONNS concurrent clients, $RUNS × ${DURATION} s per contestant after ${WARMUP_S} s of warm-up each,"
    echo "interleaved run by run; random key of $KEYSPACE, $VALUE_BYTES-byte value. kvstream sync: 200 = committed in PostgreSQL"
    echo "(synchronous_commit=on) and applied on the answering process, (a) 1 API + 1 worker process (the Kubernetes topology),"
    echo "(b) one process of role \`all\`, each with its own schema and AMQP prefix; kvstream async: \`Prefer: respond-async\`,"
    echo "202 = enqueued for the worker, on (a); after each async run the worker's backlog was drained, unmeasured, in"
    echo "$(spread '%.0f' <"$WORK/put-async.txt.drain") s. pgbench: one \`INSERT … ON CONFLICT DO UPDATE\` per transaction,"
    echo "\`-M prepared\`, $CONNS connections, same PostgreSQL; etcd: single member, default WAL fsync. Load average before the"
    echo "runs: $LOAD. Acknowledged (2xx) writes vs revision after the runs, warm-ups included: (a) $ACKED vs $REV, (b) $ACKED_ALL"
    echo "vs $REV_ALL."
    echo
    echo "| contestant | writes/s median (min–max) | p50 ms | p99 ms | errors + non-2xx |"
    echo "|---|---|---|---|---|"
    md_row "kvstream \`PUT /values/{key}\` sync, (a) 1 API + 1 worker" "$WORK/put-kv.txt"
    md_row "kvstream \`PUT /values/{key}\` sync, (b) role \`all\`" "$WORK/put-all.txt"
    md_row "kvstream \`PUT /values/{key}\` async (202), (a)" "$WORK/put-async.txt"
    md_row "pgbench single-row upsert" "$WORK/put-pg.txt"
    md_row "etcd \`/v3/kv/put\` (JSON gateway)" "$WORK/put-etcd.txt"
    echo
    targets_header
    target_row "sync PUT, 1 API + 1 worker ≥ 1.0× etcd put" "$(ratio "$KV" "$ET")" "$KV >= $ET"
    target_row "sync PUT, 1 API + 1 worker ≥ 0.5× pgbench upsert TPS" "$(ratio "$KV" "$PG")" "$KV >= 0.5 * $PG"
    target_row "sync PUT, role \`all\` ≥ 1.0× etcd put" "$(ratio "$KA" "$ET")" "$KA >= $ET"
    target_row "sync PUT, role \`all\` ≥ 0.5× pgbench upsert TPS" "$(ratio "$KA" "$PG")" "$KA >= 0.5 * $PG"
    target_row "async PUT (202) ≥ 2× sync PUT, 1 API + 1 worker" "$(ratio "$AS" "$KV")" "$AS >= 2 * $KV"
    target_row "every acknowledged write committed, 1 API + 1 worker (sync + async)" \
        "revision $REV ≥ $ACKED acknowledged" "$REV >= $ACKED"
    target_row "every acknowledged write committed, role \`all\`" "revision $REV_ALL ≥ $ACKED_ALL acknowledged" \
        "$REV_ALL >= $ACKED_ALL"
    echo
} >"$RESULTS/$NAME.md"
{
    printf 'PUT\tkvstream\t%s\t%s\t%s\n' "$KV" "$(p50_of "$WORK/put-kv.txt")" "$(p99_of "$WORK/put-kv.txt")"
    printf 'PUT\tkvstream-all\t%s\t%s\t%s\n' "$KA" "$(p50_of "$WORK/put-all.txt")" "$(p99_of "$WORK/put-all.txt")"
    printf 'PUT\tkvstream-async\t%s\t%s\t%s\n' "$AS" "$(p50_of "$WORK/put-async.txt")" "$(p99_of "$WORK/put-async.txt")"
    printf 'PUT\tpgbench-upsert\t%s\t%s\t%s\n' "$PG" "$(p50_of "$WORK/put-pg.txt")" "$(p99_of "$WORK/put-pg.txt")"
    printf 'PUT\tetcd-put\t%s\t%s\t%s\n' "$ET" "$(p50_of "$WORK/put-etcd.txt")" "$(p99_of "$WORK/put-etcd.txt")"
} >"$RESULTS/$NAME.tsv"
cat "$RESULTS/$NAME.md"
