#!/usr/bin/env bash
# Many keys expiring at once: 1 API + 1 worker + 1 websocket process (it serves /events); KEYS keys PUT with ?ttl=TTL (enqueued by 64 clients, so they commit in large batches) while
# WRITERS synchronous writers keep PUTting other keys. How long after the last deadline until every key's
# "expired":true delete has arrived on /events, and what the other writes' latency did meanwhile
# (bench/ExpiryProbe.java). Readers need not wait for that: from its deadline on a key answers 404.
#   bench/expiry.sh                                 -> bench/results/expiry.md, expiry.tsv
#   EXPIRY_KEYS="1000 10000" EXPIRY_TTL=5 EXPIRY_WRITERS=8 bench/expiry.sh
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_jar
NAME=expiry
SCHEMA=bench_expiry PREFIX=bench-expiry
API=19141 WORKER=19142 WS=19143
KEY_COUNTS="${EXPIRY_KEYS:-1000 10000}"
TTL="${EXPIRY_TTL:-5}"
WRITERS="${EXPIRY_WRITERS:-8}"
trap 'stop_proc expiry-api; stop_proc expiry-ws; stop_proc expiry-worker; drop_schema $SCHEMA; drop_queue $PREFIX' EXIT

drop_schema "$SCHEMA"
start_kvstream expiry-worker worker "$WORKER" "$SCHEMA" "$PREFIX" -Xmx1g ${KV_WORKER_JAVA_OPTS:-}
start_kvstream expiry-api api "$API" "$SCHEMA" "$PREFIX" -Xmx1g ${KV_JAVA_OPTS:-}
start_kvstream expiry-ws websocket "$WS" "$SCHEMA" "$PREFIX" -Xmx512m
wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"

: >"$WORK/expiry.txt"
for keys in $KEY_COUNTS; do
    for run in $(seq 1 "$RUNS"); do
        line="$("$JAVA" "$BENCH_DIR/ExpiryProbe.java" "http://127.0.0.1:$API" "http://127.0.0.1:$WS" "$keys" "$TTL" "$WRITERS" "$keys-$run" \
                | grep '^EXPIRY ')"
        log "  $line"
        echo "$line" >>"$WORK/expiry.txt"
    done
done

# row KEYS : "| keys | spread | first | last (min–max) | base p50/p99 | during p50/p99/max | writes | errors |"
row() {
    awk -v k="$1" '$2 == k' "$WORK/expiry.txt" >"$WORK/expiry-$1.txt"
    printf '| %s | %s | %s | %s | %s / %s | %s / %s / %s | %s | %s |\n' "$1" \
        "$(awk '{print $3}' "$WORK/expiry-$1.txt" | median)" \
        "$(awk '{print $4}' "$WORK/expiry-$1.txt" | median)" \
        "$(awk '{print $5}' "$WORK/expiry-$1.txt" | spread '%.0f')" \
        "$(awk '{print $6}' "$WORK/expiry-$1.txt" | median)" "$(awk '{print $7}' "$WORK/expiry-$1.txt" | median)" \
        "$(awk '{print $8}' "$WORK/expiry-$1.txt" | median)" "$(awk '{print $9}' "$WORK/expiry-$1.txt" | median)" \
        "$(awk '{print $10}' "$WORK/expiry-$1.txt" | median)" \
        "$(awk '{s += $11} END {print s + 0}' "$WORK/expiry-$1.txt")" \
        "$(awk '{s += $12} END {print s + 0}' "$WORK/expiry-$1.txt")"
}
{
    echo "### Many keys expiring at once"
    echo
    echo "\`bench/expiry.sh\` — 1 API + 1 worker + 1 websocket process; N keys PUT with \`?ttl=$TTL\` (\`Prefer: respond-async\`, 64 clients), $WRITERS"
    echo "synchronous writers PUTting other keys throughout; $RUNS runs per N. Times in ms after the last key's deadline"
    echo "(spread: last deadline − first); \"all gone\": the last \`\"expired\":true\` delete seen on \`/events\`. Writer latency"
    echo "between the last put's event and the first deadline (base) and from it until all were gone (during). Load average"
    echo "before the runs: $LOAD."
    echo
    echo "| keys | deadline spread ms | first expiry ms | all gone ms median (min–max) | base p50 / p99 ms | during p50 / p99 / max ms | writes during | errors |"
    echo "|---|---|---|---|---|---|---|---|"
    for keys in $KEY_COUNTS; do row "$keys"; done
    echo
} >"$RESULTS/$NAME.md"
awk '{ printf "EXPIRY\t%s\t%s\t%s\t%s\n", $2, $5, $9, $10 }' "$WORK/expiry.txt" >"$RESULTS/$NAME.tsv"
cat "$RESULTS/$NAME.md"
