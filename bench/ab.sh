#!/usr/bin/env bash
# A/B of two builds or JVM/config flags (given to the side's worker and API process) on the same machine in the same
# minutes: each side gets its own schema, worker and API process (AB_ROLE=all: one all-in-one process instead); wrk
# alternates between them (RUNS x DURATION s each), so machine noise hits both. CPU per request: the side's own
# processes, RabbitMQ and PostgreSQL, and the whole machine, over that side's runs (/proc ticks).
#   A_JAR=... B_JAR=... [A_OPTS=...] [B_OPTS=...] [A_AMQP_URI=...] [B_AMQP_URI=...] [AB_ROLE=all] bench/ab.sh get|put
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
# AB_PORT: the first of the four ports (two A/B runs at once need their own), AB_NAME the schemas' and queues' infix.
P="${AB_PORT:-19171}" N="${AB_NAME:-ab}"
declare -A PORT=([a]=$P [b]=$((P + 2))) WPORT=([a]=$((P + 1)) [b]=$((P + 3))) SIDE_JAR=([a]="$A_JAR" [b]="$B_JAR") \
    SIDE_AMQP=([a]="${A_AMQP_URI:-$AMQP_URI}" [b]="${B_AMQP_URI:-$AMQP_URI}")
AB_ROLE="${AB_ROLE:-api+worker}"
[[ $AB_ROLE == all || $AB_ROLE == api+worker ]] || die "AB_ROLE is all or api+worker, not $AB_ROLE"
trap 'for s in a b; do stop_proc $N-$s-api; stop_proc $N-$s-worker; drop_schema bench_${N}_$s; drop_queue bench-$N-$s; done' EXIT
VALUE="$(head -c 100 /dev/zero | tr '\0' v)"
export KEYSPACE=10000 KEY_PREFIX=bench- KEY_FIRST=0 VALUE_BYTES=100
for s in a b; do
    drop_schema "bench_${N}_$s"
    flags=(-Xmx1g)
    if [[ $s == a ]]; then flags+=("${A_FLAGS[@]}"); else flags+=("${B_FLAGS[@]}"); fi
    if [[ $AB_ROLE == all ]]; then
        JAR="${SIDE_JAR[$s]}" AMQP_URI="${SIDE_AMQP[$s]}" \
            start_kvstream "$N-$s-api" all "${PORT[$s]}" "bench_${N}_$s" "bench-$N-$s" "${flags[@]}"
    else
        JAR="${SIDE_JAR[$s]}" AMQP_URI="${SIDE_AMQP[$s]}" \
            start_kvstream "$N-$s-worker" worker "${WPORT[$s]}" "bench_${N}_$s" "bench-$N-$s" "${flags[@]}"
        JAR="${SIDE_JAR[$s]}" AMQP_URI="${SIDE_AMQP[$s]}" \
            start_kvstream "$N-$s-api" api "${PORT[$s]}" "bench_${N}_$s" "bench-$N-$s" "${flags[@]}"
    fi
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
# side_ticks SIDE : "component ticks" for the side's kvstream processes, RabbitMQ, PostgreSQL and the machine
side_ticks() {
    local name
    for name in "$N-$1-api" "$N-$1-worker"; do
        alive "$name" && echo "kvstream $(awk '{print $14 + $15}' "/proc/$(pid_of "$name")/stat")"
    done
    server_ticks beam.smp:rabbitmq postgres:postgresql
}
rm -f "$WORK"/ab-{a,b}.txt "$WORK"/ab-{a,b}.cpu
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS"
    for s in a b; do
        side_ticks "$s" >"$WORK/ticks-before"
        target "$WORK/ab-$s.txt" "$s"
        side_ticks "$s" >"$WORK/ticks-after"
        cpu_per_write "$WORK/ticks-before" "$WORK/ticks-after" "$(tail -1 "$WORK/ab-$s.txt" | awk -v d="$DURATION" '{print $1 * d}')" \
            >>"$WORK/ab-$s.cpu"
    done
done
# cpu_cell SIDE COMPONENT : median CPU ms per request of that component over the side's runs
cpu_cell() { awk -v c="$2" '$2 == c {print $3}' "$WORK/ab-$1.cpu" | median; }
{
    echo "### A/B ($MODE): A = $(basename "$A_JAR") ${A_OPTS:-}, B = $(basename "$B_JAR") ${B_OPTS:-}"
    echo
    echo "wrk -t$THREADS -c$CONNS, $RUNS × ${DURATION} s each, alternating; kvstream as $AB_ROLE;" \
         "load average before: $LOAD; $(date -u "+%Y-%m-%d %H:%M UTC")."
    echo
    echo "| side | requests/s median (min–max) | p50 ms | p99 ms | errors + non-2xx |"
    echo "|---|---|---|---|---|"
    md_row "A ${A_OPTS:-} ($A_JAR)${A_AMQP_URI:+, broker ${A_AMQP_URI#*@}}" "$WORK/ab-a.txt"
    md_row "B ${B_OPTS:-} ($B_JAR)${B_AMQP_URI:+, broker ${B_AMQP_URI#*@}}" "$WORK/ab-b.txt"
    echo
    echo "B/A requests/s: $(ratio "$(rps_of "$WORK/ab-b.txt")" "$(rps_of "$WORK/ab-a.txt")")"
    echo
    echo "CPU ms per request (median of the runs; machine = every process on the box, wrk included):"
    echo
    echo "| side | kvstream | RabbitMQ | PostgreSQL | machine |"
    echo "|---|---|---|---|---|"
    for s in a b; do
        echo "| ${s^^} | $(cpu_cell "$s" kvstream) | $(cpu_cell "$s" rabbitmq) | $(cpu_cell "$s" postgresql) |" \
             "$(cpu_cell "$s" machine) |"
    done
} | tee "${AB_RESULT:-$RESULTS/ab/$MODE-$(date +%Y%m%d-%H%M%S).md}"
