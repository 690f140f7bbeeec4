# Sourced by the benchmark scripts: the kit (../shared/bench), its PostgreSQL, and starting
# collection-hub against it with the demo org's admin token.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIT=${BENCH_KIT:-$ROOT/../shared/bench}
W=${BENCH_WORK:-/tmp/hub-bench}; PY=$W/venv/bin/python
DSN=${BENCH_DSN:-postgresql://postgres@127.0.0.1:${BENCH_PGPORT:-55433}/postgres}
PORT=${BENCH_HUB_PORT:-7810}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$W/logs"
"$KIT/pg.sh" start >/dev/null

psql_dsn() { "$KIT/pg.sh" psql -d "$DSN" "$@"; }

# Schema (the given build's migrations) and no runs left from an earlier benchmark.
prepare() {
  local bin=$1
  psql_dsn -qc "DELETE FROM collection_items; DELETE FROM collection_runs;" >/dev/null 2>&1 || true
  DATABASE_URL=$DSN "$bin" migrate >/dev/null 2>&1
}

# start_ours LABEL BINARY [serve args…]: a hub on $LISTEN (default 127.0.0.1:$PORT); sets HUB
# (pid), TOKEN, URL, HDR and SUB (the run topic of $RUN) for loadgen.
start_ours() {
  local label=$1 bin=$2 listen=${LISTEN:-127.0.0.1:$PORT}; shift 2
  : >"$W/logs/$label.log"
  # One address and one token hold every client: the per-address and per-token caps are off.
  DATABASE_URL=$DSN "$bin" serve --no-engine --listen "$listen" --demo --pool-size 4 \
    --max-connections-per-address 0 --max-websockets-per-token 0 "$@" >"$W/logs/$label.log" 2>&1 &
  HUB=$!
  for _ in $(seq 300); do grep -q "Admin token" "$W/logs/$label.log" && break; sleep 0.1; done
  TOKEN=$(grep -o 'chub_[0-9a-f]*' "$W/logs/$label.log" | head -1 || true)
  [ -n "$TOKEN" ] || { echo "$label did not start:"; cat "$W/logs/$label.log"; kill $HUB 2>/dev/null; exit 1; } >&2
  URL=ws://$listen/ws
  HDR=(--header "Authorization: Bearer $TOKEN")
  SUB=(--subscribe "{\"type\":\"subscribe\",\"topic\":\"run:$RUN\"}")
}

# A pending run of the demo org (exists once a hub ran with --demo); sets RUN.
new_run() {
  RUN=$(psql_dsn -qtAc "INSERT INTO collection_runs (org_id, name, estimated_cost_cents, budget_cap_cents, category_ids, created_by)
        SELECT o.id, 'bench', 0, 1, '{bench}', (SELECT id FROM users ORDER BY created_at LIMIT 1) FROM orgs o WHERE o.slug = 'demo' RETURNING id" | head -1)
}
