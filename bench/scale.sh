#!/usr/bin/env bash
# Scale: PUT throughput with 1M keys vs 1k keys, time to ready of an API process holding 1M keys, heap per key.
# Keys are preloaded straight into the schema (kv_values + kv_meta revision) while no API process runs, as a
# restored database would be; values are 100 bytes, keys "key-0000001".. (11 bytes).
#   bench/scale.sh          -> bench/results/scale.md, scale.tsv, scale.targets
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools wrk=wrk curl=curl
ensure_jar
NAME=scale
BIG="${SCALE_KEYS:-1000000}" SMALL=1000
API_OPTS=(-Xmx2g ${KV_JAVA_OPTS:-})
stacks=(small big)
declare -A KEYS=([small]=$SMALL [big]=$BIG) API=([small]=19141 [big]=19143) WORKER=([small]=19142 [big]=19144)
cleanup() {
    for s in "${stacks[@]}"; do
        stop_proc "scale-$s-api"; stop_proc "scale-$s-worker"; drop_schema "bench_scale_$s"; drop_queue "bench-scale-$s"
    done
}
trap cleanup EXIT

for s in "${stacks[@]}"; do
    drop_schema "bench_scale_$s"
    # The worker creates the schema (Flyway); then the keys go in with one INSERT … SELECT.
    start_kvstream "scale-$s-worker" worker "${WORKER[$s]}" "bench_scale_$s" "bench-scale-$s" -Xmx1g
    log "preloading ${KEYS[$s]} keys into bench_scale_$s"
    t0=$(date +%s%N)
    psql_db <<SQL
SET search_path TO bench_scale_$s;
INSERT INTO kv_values (key, value, mod_revision)
  SELECT 'key-' || lpad(i::text, 7, '0'), repeat('x', 100), i FROM generate_series(1, ${KEYS[$s]}) AS i;
UPDATE kv_meta SET revision = ${KEYS[$s]}; UPDATE kv_relay SET relayed_revision = ${KEYS[$s]}, compacted_revision = ${KEYS[$s]};
ANALYZE kv_values;
SQL
    log "preloaded in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done

# Time to ready: RUNS cold starts of the API process on each schema (snapshot load included).
wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$WORK"/scale-*-ready.txt
for run in $(seq "$RUNS"); do
    for s in "${stacks[@]}"; do
        stop_proc "scale-$s-api"
        start_kvstream "scale-$s-api" api "${API[$s]}" "bench_scale_$s" "bench-scale-$s" "${API_OPTS[@]}"
        cat "$WORK/scale-$s-api.ready-ms" >>"$WORK/scale-$s-ready.txt"
        grep -o '[0-9]* milliseconds since JVM startup' "$WORK/scale-$s-api.log" | tail -1 | awk '{print $1}' \
            >>"$WORK/scale-$s-ready-jvm.txt"
    done
done
for s in "${stacks[@]}"; do
    keys="$(curl -s "http://127.0.0.1:${API[$s]}/observe/health/ready" | grep -o '"keys":[0-9]*' | cut -d: -f2)"
    [[ "$keys" == "${KEYS[$s]}" ]] || die "$s replica holds $keys keys, expected ${KEYS[$s]}"
done

# Heap per key: live heap after a full GC (class histogram forces one), 1M minus 1k process, per extra key.
declare -A LIVE
for s in "${stacks[@]}"; do
    pid="$(cat "$WORK/scale-$s-api.pid")"
    "$JCMD" "$pid" GC.class_histogram >"$WORK/scale-$s-histo.txt"
    LIVE[$s]="$(awk '/^Total/ {print $3}' "$WORK/scale-$s-histo.txt")"
done
PER_KEY="$(awk -v b="${LIVE[big]}" -v s="${LIVE[small]}" -v n="$BIG" -v m="$SMALL" 'BEGIN { printf "%.1f", (b - s) / (n - m) }')"
PAYLOAD=111 # 11-byte key + 100-byte value, Latin-1 compact strings: one byte per character
OVERHEAD="$(awk -v p="$PER_KEY" -v q="$PAYLOAD" 'BEGIN { printf "%.1f", p - q }')"

# PUT throughput over the existing key space of each.
export KEY_PREFIX=key- KEY_FIRST=1 VALUE_BYTES=100
for s in "${stacks[@]}"; do
    KEYSPACE="${KEYS[$s]}" DURATION=$WARMUP_S wrk_run "$WORK/warmup.txt" "http://127.0.0.1:${API[$s]}" "$BENCH_DIR/wrk/put.lua"
done
rm -f "$WORK"/scale-put-*.txt
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS"
    for s in "${stacks[@]}"; do
        KEYSPACE="${KEYS[$s]}" wrk_run "$WORK/scale-put-$s.txt" "http://127.0.0.1:${API[$s]}" "$BENCH_DIR/wrk/put.lua"
    done
done

SMALL_RPS="$(rps_of "$WORK/scale-put-small.txt")" BIG_RPS="$(rps_of "$WORK/scale-put-big.txt")"
READY_BIG="$(median <"$WORK/scale-big-ready.txt")"
{
    echo "### Scale: 1M keys vs 1k keys"
    echo
    echo "\`bench/scale.sh\` — $BIG and $SMALL keys (11-byte keys, 100-byte values) preloaded into their own schemas; API process"
    echo "\`${API_OPTS[*]}\` (G1), worker separate. Load average before the runs: $LOAD."
    echo
    echo "| measure | $SMALL keys | $BIG keys |"
    echo "|---|---|---|"
    echo "| sync PUT writes/s, wrk -c$CONNS, random existing key, median (min–max) | $(awk '{print $1}' "$WORK/scale-put-small.txt" | spread '%.0f') | $(awk '{print $1}' "$WORK/scale-put-big.txt" | spread '%.0f') |"
    echo "| PUT p50 / p99 ms | $(printf '%.1f / %.1f' "$(p50_of "$WORK/scale-put-small.txt")" "$(p99_of "$WORK/scale-put-small.txt")") | $(printf '%.1f / %.1f' "$(p50_of "$WORK/scale-put-big.txt")" "$(p99_of "$WORK/scale-put-big.txt")") |"
    echo "| time to ready (process spawn → /observe/health/ready 200), ms, median (min–max) of $RUNS | $(spread '%.0f' <"$WORK/scale-small-ready.txt") | $(spread '%.0f' <"$WORK/scale-big-ready.txt") |"
    echo "| … of which Helidon reports since JVM start (replica loaded before the server starts), ms | $(median <"$WORK/scale-small-ready-jvm.txt") | $(median <"$WORK/scale-big-ready-jvm.txt") |"
    echo "| live heap after full GC (GC.class_histogram total) | $(awk -v b="${LIVE[small]}" 'BEGIN { printf "%.1f MiB", b / 1048576 }') | $(awk -v b="${LIVE[big]}" 'BEGIN { printf "%.1f MiB", b / 1048576 }') |"
    echo
    echo "Heap per key: ($(awk -v b="${LIVE[big]}" -v s="${LIVE[small]}" 'BEGIN { printf "%.0f − %.0f", b, s }') B) / $((BIG - SMALL)) keys = **$PER_KEY B/key**;"
    echo "minus the $PAYLOAD bytes of key and value characters = **$OVERHEAD B/key overhead**."
    echo
    echo "Largest classes in the $BIG-key process after full GC (\`jcmd <pid> GC.class_histogram\`):"
    echo
    echo '```'
    sed -n '2,11p' "$WORK/scale-big-histo.txt" | sed 's/[[:space:]]*$//'
    echo '```'
    echo
    targets_header
    target_row "PUT rps at 1M keys ≥ 0.9× at 1k keys" "$(ratio "$BIG_RPS" "$SMALL_RPS")" "$BIG_RPS >= 0.9 * $SMALL_RPS"
    target_row "1M keys ready ≤ 10 s" "$(awk -v m="$READY_BIG" 'BEGIN { printf "%.1f s", m / 1000 }')" "$READY_BIG <= 10000"
    target_row "heap overhead ≤ 250 B/key" "$OVERHEAD B/key" "$OVERHEAD <= 250"
    echo
} >"$RESULTS/$NAME.md"
{
    printf 'SCALE\tput-1k\t%s\t%s\t%s\n' "$SMALL_RPS" "$(p50_of "$WORK/scale-put-small.txt")" "$(p99_of "$WORK/scale-put-small.txt")"
    printf 'SCALE\tput-1M\t%s\t%s\t%s\n' "$BIG_RPS" "$(p50_of "$WORK/scale-put-big.txt")" "$(p99_of "$WORK/scale-put-big.txt")"
} >"$RESULTS/$NAME.tsv"
cat "$RESULTS/$NAME.md"
