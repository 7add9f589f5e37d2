#!/usr/bin/env bash
# JFR profiles behind the numbers: GET load on an API process, PUT load on the API process and the worker (with
# PostgreSQL wait events sampled from pg_stat_activity), and the start of an API process holding 1M keys.
#   bench/profile.sh        -> bench/results/profile.md and bench/results/profile/*.txt (+ .jfr in $BENCH_WORK)
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools wrk=wrk curl=curl
ensure_jar
NAME=profile
SECS="${PROFILE_SECONDS:-20}"
SCHEMA=bench_prof PREFIX=bench-prof API=19161 WORKER=19162 API_BIG=19163
OUT="$RESULTS/profile"
mkdir -p "$OUT"
trap 'stop_proc prof-api; stop_proc prof-worker; stop_proc prof-big; drop_schema $SCHEMA; drop_queue $PREFIX' EXIT
drop_schema "$SCHEMA"
start_kvstream prof-worker worker "$WORKER" "$SCHEMA" "$PREFIX" -Xmx1g
start_kvstream prof-api api "$API" "$SCHEMA" "$PREFIX" -Xmx1g
VALUE="$(head -c 100 /dev/zero | tr '\0' v)"
curl -sf -X PUT "http://127.0.0.1:$API/values/bench-get" --data-binary "$VALUE" >/dev/null
DURATION=$WARMUP_S wrk_run "$WORK/warmup.txt" "http://127.0.0.1:$API/values/bench-get"
export KEYSPACE=10000 KEY_PREFIX=bench- KEY_FIRST=0 VALUE_BYTES=100
DURATION=$WARMUP_S wrk_run "$WORK/warmup.txt" "http://127.0.0.1:$API" "$BENCH_DIR/wrk/put.lua"
wait_for_quiet

jfr_start() { "$JCMD" "$(cat "$WORK/$1.pid")" JFR.start name="$2" settings=profile >/dev/null; }
jfr_stop() { "$JCMD" "$(cat "$WORK/$1.pid")" JFR.stop name="$2" filename="$WORK/$2-$1.jfr" >/dev/null; }
hot() { "$JFR" view --width 160 hot-methods "$1" | sed -n '1,20p' | sed 's/[[:space:]]*$//' | grep -v '^$'; }
# socket_waits FILE.jfr : time spent in socket reads, by the innermost kvstream frame and remote port
socket_waits() {
    "$JFR" print --stack-depth 64 --events jdk.SocketRead "$1" | awk '
        function flush() { if (d != "") { k = port " " (frame == "" ? "(no kvstream frame)" : frame); t[k] += d; n[k]++ } d = ""; frame = ""; port = "" }
        /jdk.SocketRead \{/ { flush() }
        /duration = / { d = $3; if ($4 == "s") d *= 1000; if ($4 == "us") d /= 1000 }
        /port = / { port = "port " $3 }
        /io\.kvstream\./ && frame == "" { frame = $1; sub(/\(.*/, "", frame); line = $0; sub(/.*line: /, "", line); sub(/[^0-9].*/, "", line); frame = frame ":" line }
        END { flush(); for (k in t) printf "%10.0f ms %7d reads  %s\n", t[k], n[k], k }' | sort -rn | head -14
}

rm -f "$WORK/prof-get.txt" "$WORK/prof-put.txt"
log "GET profile ($SECS s)"
jfr_start prof-api get
DURATION="$SECS" wrk_run "$WORK/prof-get.txt" "http://127.0.0.1:$API/values/bench-get"
jfr_stop prof-api get
hot "$WORK/get-prof-api.jfr" >"$OUT/get-api-hot-methods.txt"

log "PUT profile ($SECS s)"
jfr_start prof-api put
jfr_start prof-worker put
( for _ in $(seq $((SECS * 5))); do
      psql_db -Atc "SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') || '  ' ||
                                regexp_replace(left(query, 70), '\s+', ' ', 'g')
                         FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle'
                           AND query NOT LIKE '%pg_stat_activity%' AND query ~ 'kv_'"
      sleep 0.2
  done ) >"$WORK/pg-waits.txt" &
SAMPLER=$!
DURATION="$SECS" wrk_run "$WORK/prof-put.txt" "http://127.0.0.1:$API" "$BENCH_DIR/wrk/put.lua"
wait "$SAMPLER" || true
jfr_stop prof-api put
jfr_stop prof-worker put
hot "$WORK/put-prof-api.jfr" >"$OUT/put-api-hot-methods.txt"
hot "$WORK/put-prof-worker.jfr" >"$OUT/put-worker-hot-methods.txt"
socket_waits "$WORK/put-prof-worker.jfr" >"$OUT/put-worker-socket-waits.txt"
sort "$WORK/pg-waits.txt" | uniq -c | sort -rn | head -12 >"$OUT/put-postgres-waits.txt"

log "start-up profile with ${SCALE_KEYS:-1000000} keys"
stop_proc prof-api
psql_db <<SQL
SET search_path TO $SCHEMA;
INSERT INTO kv_values (key, value, mod_revision)
  SELECT 'key-' || lpad(i::text, 7, '0'), repeat('x', 100), 1 FROM generate_series(1, ${SCALE_KEYS:-1000000}) AS i;
SQL
start_kvstream prof-big api "$API_BIG" "$SCHEMA" "$PREFIX" -Xmx2g \
    -XX:StartFlightRecording=name=boot,settings=profile
"$JCMD" "$(cat "$WORK/prof-big.pid")" JFR.dump name=boot filename="$WORK/boot-prof-big.jfr" >/dev/null
hot "$WORK/boot-prof-big.jfr" >"$OUT/boot-1m-hot-methods.txt"
BOOT_MS="$(cat "$WORK/prof-big.ready-ms")"

{
    echo "### Profiles (JFR, \`settings=profile\`)"
    echo
    echo "\`bench/profile.sh\` — $SECS s of wrk -c$CONNS load per recording; full listings in [bench/results/profile/](bench/results/profile/)."
    echo
    echo "GET load on the API process ($(awk '{printf "%.0f rps", $1}' "$WORK/prof-get.txt")), top methods by execution samples:"
    echo; echo '```'; sed -n '4,16p' "$OUT/get-api-hot-methods.txt"; echo '```'; echo
    echo "PUT load ($(awk '{printf "%.0f writes/s, p50 %.1f ms", $1, $2}' "$WORK/prof-put.txt")): worker socket-read time (waiting for PostgreSQL port 5432 /"
    echo "RabbitMQ port 5672) by the innermost kvstream frame:"
    echo; echo '```'; cat "$OUT/put-worker-socket-waits.txt"; echo '```'; echo
    echo "PostgreSQL sessions of this database that were not idle, sampled every 200 ms during the PUT load (count, wait event, query):"
    echo; echo '```'; cat "$OUT/put-postgres-waits.txt"; echo '```'; echo
    echo "Worker top methods under PUT load:"
    echo; echo '```'; sed -n '4,14p' "$OUT/put-worker-hot-methods.txt"; echo '```'; echo
    echo "API process start with ${SCALE_KEYS:-1000000} keys (ready after $BOOT_MS ms), top methods from JVM start to ready:"
    echo; echo '```'; sed -n '4,16p' "$OUT/boot-1m-hot-methods.txt"; echo '```'; echo
} >"$RESULTS/$NAME.md"
cat "$RESULTS/$NAME.md"
