#!/usr/bin/env bash
# GET of one key: kvstream (API process, from memory) vs nginx serving a static file of the value's size vs
# etcd's range through its v3 JSON gateway. wrk, 64 connections, RUNS x DURATION s, contestants interleaved.
#   bench/get.sh            -> bench/results/get.md, get.tsv, get.targets
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools wrk=wrk nginx=nginx-light etcd=etcd-server curl=curl
ensure_jar
NAME=get
SCHEMA=bench_get PREFIX=bench-get
API=19101 WORKER=19102 STATIC=19103 ETCD=19179 ETCD_PEER=19180
VALUE_BYTES="${VALUE_BYTES:-100}"
VALUE="$(head -c "$VALUE_BYTES" /dev/zero | tr '\0' v)"
trap 'stop_proc get-api; stop_proc get-worker; stop_proc get-etcd; stop_nginx_static get-static; drop_schema $SCHEMA; drop_queue $PREFIX' EXIT

drop_schema "$SCHEMA"
start_kvstream get-worker worker "$WORKER" "$SCHEMA" "$PREFIX" -Xmx1g
start_kvstream get-api api "$API" "$SCHEMA" "$PREFIX" -Xmx1g ${KV_JAVA_OPTS:-}
curl -sf -X PUT "http://127.0.0.1:$API/values/bench-get" --data-binary "$VALUE" >/dev/null
mkdir -p "$WORK/static"
printf '%s' "$VALUE" >"$WORK/static/bench-get"
start_nginx_static get-static "$STATIC" "$WORK/static"
start_etcd get-etcd "$ETCD" "$ETCD_PEER"
curl -sf "http://127.0.0.1:$ETCD/v3/kv/put" -d "{\"key\":\"$(b64 bench-get)\",\"value\":\"$(b64 "$VALUE")\"}" >/dev/null
BODY_KV="$(curl -s "http://127.0.0.1:$API/values/bench-get" | wc -c)"
BODY_ETCD="$(curl -s "http://127.0.0.1:$ETCD/v3/kv/range" -d "{\"key\":\"$(b64 bench-get)\"}" | wc -c)"

# Warm-up (JIT), then measure when the machine is quiet.
DURATION=$WARMUP_S wrk_run "$WORK/warmup.txt" "http://127.0.0.1:$API/values/bench-get"
wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$WORK"/get-{kv,nginx,etcd}.txt
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS"
    wrk_run "$WORK/get-kv.txt" "http://127.0.0.1:$API/values/bench-get"
    wrk_run "$WORK/get-nginx.txt" "http://127.0.0.1:$STATIC/bench-get"
    KEY=bench-get wrk_run "$WORK/get-etcd.txt" "http://127.0.0.1:$ETCD/v3/kv/range" "$BENCH_DIR/wrk/etcd-range.lua"
done

KV="$(rps_of "$WORK/get-kv.txt")" NG="$(rps_of "$WORK/get-nginx.txt")" ET="$(rps_of "$WORK/get-etcd.txt")"
KV99="$(p99_of "$WORK/get-kv.txt")" NG99="$(p99_of "$WORK/get-nginx.txt")"
{
    echo "### GET one key: kvstream from memory vs nginx static file vs etcd range"
    echo
    echo "\`bench/get.sh\` — wrk -t$THREADS -c$CONNS, $RUNS × ${DURATION} s per contestant, interleaved; value $VALUE_BYTES bytes"
    echo "(response bodies: kvstream $BODY_KV B JSON, nginx $VALUE_BYTES B file, etcd $BODY_ETCD B JSON). Load average before the runs: $LOAD."
    echo
    echo "| contestant | requests/s median (min–max) | p50 ms | p99 ms | errors + non-2xx |"
    echo "|---|---|---|---|---|"
    md_row "kvstream \`GET /values/{key}\` (1 API process)" "$WORK/get-kv.txt"
    md_row "nginx static file ($VALUE_BYTES B)" "$WORK/get-nginx.txt"
    md_row "etcd \`/v3/kv/range\` (JSON gateway)" "$WORK/get-etcd.txt"
    echo
    targets_header
    target_row "GET ≥ 1.0× nginx static rps" "$(ratio "$KV" "$NG")" "$KV >= $NG"
    target_row "GET p99 ≤ 1.5× nginx static p99" \
        "$(printf '%.2f vs %.2f ms' "$KV99" "$NG99"), $(ratio "$KV99" "$NG99")" "$KV99 <= 1.5 * $NG99"
    target_row "GET ≥ 2× etcd range rps" "$(ratio "$KV" "$ET")" "$KV >= 2 * $ET"
    echo
} >"$RESULTS/$NAME.md"
{
    printf 'GET\tkvstream\t%s\t%s\t%s\n' "$KV" "$(p50_of "$WORK/get-kv.txt")" "$KV99"
    printf 'GET\tnginx-static\t%s\t%s\t%s\n' "$NG" "$(p50_of "$WORK/get-nginx.txt")" "$NG99"
    printf 'GET\tetcd-range\t%s\t%s\t%s\n' "$ET" "$(p50_of "$WORK/get-etcd.txt")" "$(p99_of "$WORK/get-etcd.txt")"
} >"$RESULTS/$NAME.tsv"
cat "$RESULTS/$NAME.md"
