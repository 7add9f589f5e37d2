#!/usr/bin/env bash
# Durable synchronous writes at the same concurrency (64): kvstream PUT (200 after the worker's PostgreSQL
# commit and the apply on the answering API process) vs pgbench running a single-row upsert script against the
# same PostgreSQL vs etcd put through its JSON gateway (WAL fsync). Random keys out of KEYSPACE, 100-byte values.
#   bench/put.sh            -> bench/results/put.md, put.tsv (or PUT_RESULTS/put.md, put.tsv if PUT_RESULTS is set)
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools wrk=wrk etcd=etcd-server pgbench=postgresql-contrib curl=curl
ensure_jar
NAME=put
OUT="${PUT_RESULTS:-$RESULTS}"
mkdir -p "$OUT"
SCHEMA=bench_put$SUFFIX PREFIX=bench-put$SUFFIX PG_SCHEMA=bench_pgbench$SUFFIX
API=$((19111 + PORT_OFFSET)) WORKER=$((19112 + PORT_OFFSET)) ETCD=$((19189 + PORT_OFFSET)) ETCD_PEER=$((19190 + PORT_OFFSET))
export KEYSPACE="${KEYSPACE:-10000}" KEY_PREFIX=bench- KEY_FIRST=0 VALUE_BYTES="${VALUE_BYTES:-100}"
VALUE="$(head -c "$VALUE_BYTES" /dev/zero | tr '\0' v)"
trap 'stop_proc put-api; stop_proc put-worker; stop_proc put-etcd; drop_schema $SCHEMA; drop_schema $PG_SCHEMA; drop_queue $PREFIX' EXIT

drop_schema "$SCHEMA"
start_kvstream put-worker worker "$WORKER" "$SCHEMA" "$PREFIX" -Xmx1g ${KV_WORKER_JAVA_OPTS:-}
start_kvstream put-api api "$API" "$SCHEMA" "$PREFIX" -Xmx1g ${KV_JAVA_OPTS:-}
start_etcd put-etcd "$ETCD" "$ETCD_PEER"

# pgbench: the same table shape as kv_values, the same keys and value, one upsert per transaction.
psql_db <<SQL
DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE;
CREATE SCHEMA $PG_SCHEMA;
CREATE TABLE $PG_SCHEMA.kv (key text COLLATE "C" PRIMARY KEY, value text NOT NULL, mod_revision bigint NOT NULL);
SQL
cat >"$WORK/upsert.sql" <<SQL
\set k random(0, $((KEYSPACE - 1)))
INSERT INTO $PG_SCHEMA.kv (key, value, mod_revision) VALUES ('$KEY_PREFIX' || lpad(:k::text, 7, '0'), '$VALUE', 1)
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, mod_revision = $PG_SCHEMA.kv.mod_revision + 1;
SQL
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

DURATION=$WARMUP_S wrk_run "$WORK/warmup.txt" "http://127.0.0.1:$API" "$BENCH_DIR/wrk/put.lua"
wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$WORK"/put-{kv,pg,etcd}.txt
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS"
    wrk_run "$WORK/put-kv.txt" "http://127.0.0.1:$API" "$BENCH_DIR/wrk/put.lua"
    pgbench_run "$WORK/put-pg.txt"
    wrk_run "$WORK/put-etcd.txt" "http://127.0.0.1:$ETCD" "$BENCH_DIR/wrk/etcd-put.lua"
done
# Every acknowledged kvstream write must be in PostgreSQL: the revision counter equals the events written.
REV="$(psql_db -Atc "SELECT revision FROM $SCHEMA.kv_meta")"

KV="$(rps_of "$WORK/put-kv.txt")" PG="$(rps_of "$WORK/put-pg.txt")" ET="$(rps_of "$WORK/put-etcd.txt")"
{
    echo "### Durable synchronous PUT: kvstream vs pgbench upsert vs etcd put"
    echo
    echo "\`bench/put.sh\` — $CONNS concurrent clients, $RUNS × ${DURATION} s per contestant, interleaved; random key of $KEYSPACE,"
    echo "$VALUE_BYTES-byte value. kvstream: 1 API + 1 worker process, 200 = committed in PostgreSQL (synchronous_commit=on)"
    echo "and applied on the answering process; pgbench: one \`INSERT … ON CONFLICT DO UPDATE\` per transaction, \`-M prepared\`,"
    echo "$CONNS connections, same PostgreSQL; etcd: single member, default WAL fsync. Load average before the runs: $LOAD."
    echo "kvstream revision after the runs: $REV (all writes committed, warm-up included)."
    echo
    echo "| contestant | writes/s median (min–max) | p50 ms | p99 ms | errors + non-2xx |"
    echo "|---|---|---|---|---|"
    md_row "kvstream \`PUT /values/{key}\` (sync)" "$WORK/put-kv.txt"
    md_row "pgbench single-row upsert" "$WORK/put-pg.txt"
    md_row "etcd \`/v3/kv/put\` (JSON gateway)" "$WORK/put-etcd.txt"
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    echo "| sync PUT ≥ 0.5× pgbench upsert TPS | $(ratio "$KV" "$PG") | $(verdict "$KV >= 0.5 * $PG") |"
    echo "| sync PUT ≥ 1.0× etcd put | $(ratio "$KV" "$ET") | $(verdict "$KV >= $ET") |"
    echo
} >"$OUT/$NAME.md"
{
    printf 'PUT\tkvstream\t%s\t%s\t%s\n' "$KV" "$(p50_of "$WORK/put-kv.txt")" "$(p99_of "$WORK/put-kv.txt")"
    printf 'PUT\tpgbench-upsert\t%s\t%s\t%s\n' "$PG" "$(p50_of "$WORK/put-pg.txt")" "$(p99_of "$WORK/put-pg.txt")"
    printf 'PUT\tetcd-put\t%s\t%s\t%s\n' "$ET" "$(p50_of "$WORK/put-etcd.txt")" "$(p99_of "$WORK/put-etcd.txt")"
} >"$OUT/$NAME.tsv"
cat "$OUT/$NAME.md"
