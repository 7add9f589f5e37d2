#!/usr/bin/env bash
# 2-key transactions beside single PUTs (issue 16): synchronous POST /txn with two puts (no compare) vs
# PUT /values/{key}, same keys and values (random out of KEYSPACE, 100 bytes), same concurrency, one kvstream
# process of role `all` (API + worker + WebSocket) on the machine's PostgreSQL and RabbitMQ; interleaved run by
# run. CPU per operation of that process, RabbitMQ and PostgreSQL from /proc.
#   bench/txn.sh            -> bench/results/txn.md
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools wrk=wrk curl=curl
ensure_jar
SCHEMA=bench_txn PREFIX=bench-txn PORT=19221
export KEYSPACE="${KEYSPACE:-10000}" KEY_PREFIX=bench- KEY_FIRST=0 VALUE_BYTES="${VALUE_BYTES:-100}"
trap 'stop_proc txn-all; drop_schema $SCHEMA; drop_queue $PREFIX' EXIT
drop_schema "$SCHEMA"
start_kvstream txn-all all "$PORT" "$SCHEMA" "$PREFIX" -Xmx1g ${KV_JAVA_OPTS:-}
URL="http://127.0.0.1:$PORT"
# A 2-put transaction must answer 200 and succeed before anything is measured.
curl -sf -X POST "$URL/txn" -d '{"success":[{"op":"put","key":"bench-x","value":"1"},{"op":"put","key":"bench-y","value":"2"}]}' \
    | grep -q '"succeeded":true' || die "POST /txn did not succeed"

# ticks : "component ticks" of the kvstream process, RabbitMQ, PostgreSQL (every such process) and the machine
ticks() {
    echo "kvstream $(awk '{print $14 + $15}' "/proc/$(pid_of txn-all)/stat")"
    server_ticks beam.smp:rabbitmq postgres:postgresql
}
# measured OUT LUA : one wrk run (wrk_run) and "CPU component ms-per-request" lines for it in OUT.cpu
measured() {
    local out="$1" lua="$2"
    ticks >"$WORK/txn-before.txt"
    wrk_run "$out" "$URL" "$lua"
    ticks >"$WORK/txn-after.txt"
    awk -v requests="$(tail -1 "$out" | awk -v d="$DURATION" '{print $1 * d}')" -v hz="$(getconf CLK_TCK)" '
        FNR == NR { before[$1] += $2; next } { after[$1] += $2 }
        END { for (c in after) printf "CPU %s %.4f\n", c, (after[c] - before[c]) * 1000 / hz / requests }' \
        "$WORK/txn-before.txt" "$WORK/txn-after.txt" >>"$out.cpu"
    echo "LOAD $(load1)" >>"$out.cpu"
}

DURATION=$WARMUP_S wrk_run "$WORK/warmup.txt" "$URL" "$BENCH_DIR/wrk/put.lua"
DURATION=$WARMUP_S wrk_run "$WORK/warmup.txt" "$URL" "$BENCH_DIR/wrk/txn.lua"
wait_for_quiet
rm -f "$WORK"/txn-{put,txn}.txt*
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    measured "$WORK/txn-put.txt" "$BENCH_DIR/wrk/put.lua"
    measured "$WORK/txn-txn.txt" "$BENCH_DIR/wrk/txn.lua"
done
REV="$(psql_db -Atc "SELECT revision FROM $SCHEMA.kv_meta")"

cpu_of() { grep "^CPU $2 " "$1.cpu" | awk '{print $3}' | median; }
cpu_spread() { grep "^CPU $2 " "$1.cpu" | awk '{print $3}' | spread '%.3f'; }
PUT="$(rps_of "$WORK/txn-put.txt")" TXN="$(rps_of "$WORK/txn-txn.txt")"
CHANGES="$(awk '{print $1 * 2}' "$WORK/txn-txn.txt" | spread '%.0f')"
{
    echo "### 2-key transactions beside single PUTs (issue 16)"
    echo
    echo "\`bench/txn.sh\` — one kvstream process of role \`all\` (API + worker + WebSocket in one JVM, \`-Xmx1g\`) on the"
    echo "machine's PostgreSQL (synchronous_commit=on) and RabbitMQ; wrk -t$THREADS -c$CONNS, synchronous requests (200 = committed and"
    echo "applied on the process), $RUNS × ${DURATION} s per contestant after ${WARMUP_S} s of warm-up each, interleaved run by run."
    echo "PUT: \`bench/wrk/put.lua\`; txn: \`bench/wrk/txn.lua\`, \`POST /txn\` with no compare and two puts on two different"
    echo "random keys; both out of $KEYSPACE keys, $VALUE_BYTES-byte values. 1-minute load average at each run's start:"
    echo "$(awk '/^LOAD/ {print $2}' "$WORK"/txn-{put,txn}.txt.cpu | spread '%.2f') (median, min–max) — noisy: 2 cores shared"
    echo "with wrk, PostgreSQL, RabbitMQ and other engineers' test runs. Revision after the runs: $REV (warm-ups included)."
    echo
    echo "| contestant | requests/s median (min–max) | changes/s median (min–max) | p50 ms | p99 ms | errors + non-2xx |"
    echo "|---|---|---|---|---|---|"
    md_row "\`PUT /values/{key}\` (sync)" "$WORK/txn-put.txt" \
        | awk -F' \\| ' -v c="$(awk '{print $1}' "$WORK/txn-put.txt" | spread '%.0f')" \
            'BEGIN { OFS = " | " } { $2 = $2 " | " c; print }'
    md_row "\`POST /txn\`, 2 puts (sync)" "$WORK/txn-txn.txt" \
        | awk -F' \\| ' -v c="$CHANGES" 'BEGIN { OFS = " | " } { $2 = $2 " | " c; print }'
    echo
    echo "CPU per request (ms, /proc utime + stime over each measured run, median (min–max) of the runs; requests ="
    echo "requests/s × ${DURATION} s; RabbitMQ and PostgreSQL = every such process on the machine, \"machine\" = all CPU time on the box):"
    echo
    echo "| contestant | kvstream process | RabbitMQ | PostgreSQL | machine |"
    echo "|---|---|---|---|---|"
    for c in put txn; do
        printf '| %s | %s | %s | %s | %s |\n' "$([[ $c == put ]] && echo 'PUT (1 change)' || echo 'txn (2 changes)')" \
            "$(cpu_spread "$WORK/txn-$c.txt" kvstream)" "$(cpu_spread "$WORK/txn-$c.txt" rabbitmq)" \
            "$(cpu_spread "$WORK/txn-$c.txt" postgresql)" "$(cpu_spread "$WORK/txn-$c.txt" machine)"
    done
    echo
    KP="$(cpu_of "$WORK/txn-put.txt" kvstream)" KT="$(cpu_of "$WORK/txn-txn.txt" kvstream)"
    MP="$(cpu_of "$WORK/txn-put.txt" machine)" MT="$(cpu_of "$WORK/txn-txn.txt" machine)"
    echo "txn/s vs PUT/s: $(ratio "$TXN" "$PUT"); changes/s, txn vs PUT: $(ratio "$(awk -v t="$TXN" 'BEGIN { print 2 * t }')" "$PUT")."
    echo "CPU per txn vs per PUT: kvstream process $(ratio "$KT" "$KP"), machine $(ratio "$MT" "$MP");"
    echo "per change (txn ÷ 2 vs PUT): kvstream process $(ratio "$(awk -v t="$KT" 'BEGIN { print t / 2 }')" "$KP"),"
    echo "machine $(ratio "$(awk -v t="$MT" 'BEGIN { print t / 2 }')" "$MP")."
    echo
} >"$RESULTS/txn.md"
cat "$RESULTS/txn.md"
