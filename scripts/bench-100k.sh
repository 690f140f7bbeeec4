#!/usr/bin/env bash
# Many clients on one database (issue 15, item 5): HUBS collection-hub processes on the kit's
# PostgreSQL (database hub_fleet, so other benchmarks on the kit's cluster are left alone),
# CLIENTS WebSocket clients spread over them, each subscribed to its org topic, and one run
# state change (pending -> running, the badge changes too) that must reach every client.
# A process here may hold at most `ulimit -Hn` descriptors, hence several hubs, one port each,
# and one kit wsclients process per hub.
#   scripts/bench-100k.sh [CLIENTS [HUBS [BINARY]]]     (default 10000 2 .build/release/collection-hub)
# e.g. scripts/bench-100k.sh 100000 6
# Env: BENCH_FLEET_HOST (127.0.0.1), BENCH_FLEET_PORT (first port, 7811), BENCH_FLEET_OUT (a .jsonl to append to),
#      BENCH_FLEET_CONNECT_TIMEOUT_S (1800: handshakes still pending then count as failed),
#      BENCH_FLEET_SERVE_ARGS (more `serve` arguments, e.g. "--ws-ping-s 3600": see BENCHMARKS.md,
#      "100,000 clients", for why the keepalive interval decides whether 100,000 fit on 2 cores).
# Needs ../shared/bench/setup.sh done once.
set -euo pipefail
CLIENTS=${1:-10000} NHUBS=${2:-2} BIN=${3:-.build/release/collection-hub}
HOST=${BENCH_FLEET_HOST:-127.0.0.1} BASE=${BENCH_FLEET_PORT:-7811}
BENCH_DSN=${BENCH_DSN:-postgresql://postgres@127.0.0.1:${BENCH_PGPORT:-55433}/hub_fleet}
# shellcheck source=scripts/bench-common.sh
. "$(dirname "$0")/bench-common.sh"
BIN=$(realpath "$BIN")

echo "== limits"
echo "cores $(nproc); memory $(free -m | awk '/Mem:/ {print $2 " MB, " $7 " MB available"}'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fs.file-max $(cat /proc/sys/fs/file-max); fs.nr_open $(cat /proc/sys/fs/nr_open); ulimit -n $(ulimit -n) (hard $(ulimit -Hn))"
echo "ip_local_port_range $(tr '\t' ' ' </proc/sys/net/ipv4/ip_local_port_range) (ephemeral ports per destination ip:port)"
echo "somaxconn $(cat /proc/sys/net/core/somaxconn); tcp_max_syn_backlog $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog)"
if [ -r /proc/sys/net/netfilter/nf_conntrack_max ]; then
  echo "nf_conntrack_max $(cat /proc/sys/net/netfilter/nf_conntrack_max); nf_conntrack_count $(cat /proc/sys/net/netfilter/nf_conntrack_count)"
else
  echo "nf_conntrack not loaded"
fi

db=${DSN##*/}
"$KIT/pg.sh" psql -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
  "$KIT/pg.sh" psql -qc "CREATE DATABASE $db" >/dev/null
prepare "$BIN"

PIDS=() SPECS=() RUN=""
stop_hubs() { for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait "${PIDS[@]}" 2>/dev/null || true; }
trap stop_hubs EXIT
# One address holds every client and one token opens every upgrade: both caps off.
for i in $(seq 0 $((NHUBS - 1))); do
  # shellcheck disable=SC2086
  LISTEN=$HOST:$((BASE + i)) start_ours "fleet$i" "$BIN" \
    ${BENCH_FLEET_SERVE_ARGS:-}
  PIDS+=("$HUB") SPECS+=(--hub "$HUB@$HOST:$((BASE + i))")
done
new_run
echo "== $NHUBS hubs (pids ${PIDS[*]}), $CLIENTS clients, run $RUN"
"$PY" "$(dirname "$0")/bench-fleet.py" "${SPECS[@]}" --clients "$CLIENTS" --token "$TOKEN" --run "$RUN" --dsn "$DSN" \
  --connect-timeout-s "${BENCH_FLEET_CONNECT_TIMEOUT_S:-1800}" --label "fleet-$CLIENTS-x$NHUBS" ${BENCH_FLEET_OUT:+--jsonl "$BENCH_FLEET_OUT"}
