#!/usr/bin/env bash
# Runs every benchmark (get, put, latency, floor, idle, scale, cluster, recovery, watch, txn, expiry, profile) and writes BENCHMARKS.md at the repository root,
# ending with one table of every target judged (bench/results/*.targets).
#   bench/run-all.sh                    everything (its length: each benchmark's warm-ups, BENCH_RUNS x
#                                       BENCH_DURATION s per contestant, and the waits for a quiet machine below)
#   bench/run-all.sh get put            only these (BENCHMARKS.md is rebuilt from all results present)
#   bench/run-all.sh report             no runs: rebuild BENCHMARKS.md and the plot from bench/results/
# Each benchmark waits (bounded, BENCH_MAX_WAIT) for the 1-minute load average to drop below BENCH_MAX_LOAD.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_tools wrk=wrk nginx=nginx-light etcd=etcd-server etcdctl=etcd-client pgbench=postgresql-contrib \
    gnuplot=gnuplot-nox curl=curl
ensure_jar
ALL=(get put latency floor idle scale cluster recovery watch txn expiry profile)
SELECTED=("${@:-${ALL[@]}}")
if [[ "${SELECTED[0]}" == report ]]; then
    SELECTED=()
fi
# targets_of SECTION : its "| section | target | measured | verdict |" rows: bench/results/SECTION.targets, or for
# results written before the scripts wrote that file, the rows of the target table in SECTION.md
targets_of() {
    if [[ -f "$RESULTS/$1.targets" ]]; then
        cat "$RESULTS/$1.targets"
    elif [[ -f "$RESULTS/$1.md" ]]; then
        awk -v s="$1" '/^\| target \| measured \| verdict \|$/ { t = 1; next }
                       t && /^\|---/ { next } t && /^\|/ { print "| " s " " $0; next } { t = 0 }' "$RESULTS/$1.md"
    fi
}
# targets_table : every section's targets in one table (the sections of ALL in their order, then any other
# bench/results/*.targets), with the count met, or nothing when no section judged a target
targets_table() {
    local rows="" b f extra
    for b in "${ALL[@]}"; do
        rows+="$(targets_of "$b")"$'\n'
    done
    for f in "$RESULTS"/*.targets; do
        [[ -f "$f" ]] || continue
        extra="$(basename "$f" .targets)"
        [[ " ${ALL[*]} " == *" $extra "* ]] || rows+="$(cat "$f")"$'\n'
    done
    rows="$(grep '^|' <<<"$rows" || true)"
    [[ -n "$rows" ]] || return 0
    echo
    echo "## Targets"
    echo
    echo "Every target the benchmarks judge, section by section (\`bench/results/*.targets\`): $(grep -c '| met |$' <<<"$rows") of $(wc -l <<<"$rows") met."
    echo
    echo "| section | target | measured | verdict |"
    echo "|---|---|---|---|"
    echo "$rows"
}
if ((${#SELECTED[@]} > 0)); then
    machine_info >"$RESULTS/machine.md"
    printf '%s ' "${SELECTED[@]}" >"$RESULTS/selected.txt"
fi
for b in "${SELECTED[@]}"; do
    log "=== $b"
    bash "$BENCH_DIR/$b.sh" >"$WORK/$b.out" 2>&1 || { tail -30 "$WORK/$b.out" >&2; die "$b.sh failed"; }
done
cat "$RESULTS"/{get,put,latency,scale,cluster}.tsv 2>/dev/null >"$RESULTS/all.tsv" || true
if [[ -s "$RESULTS/all.tsv" ]]; then
    gnuplot -e "data='$RESULTS/all.tsv'; out='$RESULTS/throughput-latency.png'" "$BENCH_DIR/plot.gp" 2>/dev/null \
        || log "gnuplot failed (plot skipped)"
fi
{
    echo "# kvstream benchmarks"
    echo
    echo "Measured with \`bench/run-all.sh\` ($(cat "$RESULTS/selected.txt" 2>/dev/null)) — every server on this machine, loopback only, $CONNS"
    echo "connections, $RUNS runs × $DURATION s per contestant, contestants interleaved run by run, median and (min–max) over runs."
    echo "Each script runs alone too (\`bench/<name>.sh\` for $(printf '%s, ' "${ALL[@]}" | sed 's/, $//'));"
    echo "they install their Debian packages (wrk, nginx-light, etcd-server, etcd-client, postgresql-contrib,"
    echo "gnuplot-nox) and build \`target/kvstream.jar\` if it is missing."
    echo
    echo "Machine:"
    echo
    cat "$RESULTS/machine.md" 2>/dev/null || machine_info
    echo
    echo "The machine below ran the sections listed above; the others are kept from earlier runs, on other machines"
    echo "and commits (each says its own load; bench/findings.md says when), so compare within a section, not across."
    echo
    echo "Caveat: 2 cores are shared by the load generator (wrk / the Java probe), nginx, etcd, PostgreSQL, RabbitMQ and the"
    echo "kvstream JVMs, and other work on the machine; the per-section load averages say how quiet it was. Ratios between"
    echo "contestants of the same run are more trustworthy than absolute numbers."
    echo
    [[ -f "$RESULTS/throughput-latency.png" ]] && { echo "![throughput vs latency](bench/results/throughput-latency.png)"; echo; }
    for b in "${ALL[@]}"; do
        [[ -f "$RESULTS/$b.md" ]] && { sed 's|(bench/results/|(bench/results/|g' "$RESULTS/$b.md"; echo; }
    done
    # findings.md and bounds.md link to results/… from bench/; BENCHMARKS.md sits one floor up.
    [[ -f "$BENCH_DIR/findings.md" ]] && sed 's|](results/|](bench/results/|g' "$BENCH_DIR/findings.md"
    # What bounds each missed target, written for the last sitting: right above the verdicts it explains.
    [[ -f "$BENCH_DIR/bounds.md" ]] && { echo; sed 's|](results/|](bench/results/|g' "$BENCH_DIR/bounds.md"; }
    targets_table
} >"$ROOT/BENCHMARKS.md"
log "wrote $ROOT/BENCHMARKS.md"
