#!/usr/bin/env bash
# A/B of two builds or JVM/config flags (given to the side's worker and API process) on the same machine in the same
# minutes: each side gets its own schema, worker and API process; wrk alternates between them (RUNS x DURATION s each), so machine noise hits both.
#   A_JAR=... B_JAR=... [A_OPTS=...] [B_OPTS=...] [A_AMQP_URI=...] [B_AMQP_URI=...] bench/ab.sh get|put
# Example: is response-header validation worth turning off?
#   B_OPTS=-Dserver.protocols.http_1_1.validate-response-headers=false bench/ab.sh get
# A side's broker is BENCH_AMQP_URI unless A_AMQP_URI / B_AMQP_URI name another (e.g. a RabbitMQ cluster: see
# bench/put-quorum.sh). Prints a markdown table (and writes it to bench/results/ab/, or to AB_RESULT if set).
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
mkdir -p "$RESULTS/ab"
ensure_tools wrk=wrk curl=curl
MODE="${1:-get}"
A_JAR="${A_JAR:-$JAR}" B_JAR="${B_JAR:-$JAR}"
read -r -a A_FLAGS <<<"${A_OPTS:-}"
read -r -a B_FLAGS <<<"${B_OPTS:-}"
declare -A PORT=([a]=$((19171 + PORT_OFFSET)) [b]=$((19173 + PORT_OFFSET))) \
    WPORT=([a]=$((19172 + PORT_OFFSET)) [b]=$((19174 + PORT_OFFSET))) SIDE_JAR=([a]="$A_JAR" [b]="$B_JAR") \
    SIDE_AMQP=([a]="${A_AMQP_URI:-$AMQP_URI}" [b]="${B_AMQP_URI:-$AMQP_URI}")
trap 'for s in a b; do stop_proc ab-$s-api; stop_proc ab-$s-worker; drop_schema bench_ab_$s$SUFFIX; drop_queue bench-ab-$s$SUFFIX; done' EXIT
VALUE="$(head -c 100 /dev/zero | tr '\0' v)"
export KEYSPACE=10000 KEY_PREFIX=bench- KEY_FIRST=0 VALUE_BYTES=100
for s in a b; do
    drop_schema "bench_ab_$s$SUFFIX"
    flags=(-Xmx1g)
    if [[ $s == a ]]; then flags+=("${A_FLAGS[@]}"); else flags+=("${B_FLAGS[@]}"); fi
    JAR="${SIDE_JAR[$s]}" AMQP_URI="${SIDE_AMQP[$s]}" \
        start_kvstream "ab-$s-worker" worker "${WPORT[$s]}" "bench_ab_$s$SUFFIX" "bench-ab-$s$SUFFIX" "${flags[@]}"
    JAR="${SIDE_JAR[$s]}" AMQP_URI="${SIDE_AMQP[$s]}" \
        start_kvstream "ab-$s-api" api "${PORT[$s]}" "bench_ab_$s$SUFFIX" "bench-ab-$s$SUFFIX" "${flags[@]}"
    curl -sf -X PUT "http://127.0.0.1:${PORT[$s]}/values/bench-get" --data-binary "$VALUE" >/dev/null
done
target() {
    if [[ $MODE == get ]]; then
        wrk_run "$1" "http://127.0.0.1:${PORT[$2]}/values/bench-get"
    else
        wrk_run "$1" "http://127.0.0.1:${PORT[$2]}" "$BENCH_DIR/wrk/put.lua"
    fi
}
for s in a b; do DURATION=$WARMUP_S target "$WORK/warmup.txt" "$s"; done
wait_for_quiet
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$WORK"/ab-{a,b}.txt
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS"
    for s in a b; do target "$WORK/ab-$s.txt" "$s"; done
done
{
    echo "### A/B ($MODE): A = $(basename "$A_JAR") ${A_OPTS:-}, B = $(basename "$B_JAR") ${B_OPTS:-}"
    echo
    echo "wrk -t$THREADS -c$CONNS, $RUNS × ${DURATION} s each, alternating; load average before: $LOAD."
    echo
    echo "| side | requests/s median (min–max) | p50 ms | p99 ms | errors + non-2xx |"
    echo "|---|---|---|---|---|"
    md_row "A ${A_OPTS:-} ($A_JAR)${A_AMQP_URI:+, broker ${A_AMQP_URI#*@}}" "$WORK/ab-a.txt"
    md_row "B ${B_OPTS:-} ($B_JAR)${B_AMQP_URI:+, broker ${B_AMQP_URI#*@}}" "$WORK/ab-b.txt"
    echo
    echo "B/A requests/s: $(ratio "$(rps_of "$WORK/ab-b.txt")" "$(rps_of "$WORK/ab-a.txt")")"
} | tee "${AB_RESULT:-$RESULTS/ab/$MODE-$(date +%Y%m%d-%H%M%S).md}"
