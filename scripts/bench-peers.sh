#!/usr/bin/env bash
# Measures collection-hub beside the Python peer with the shared load generator
# (../shared/bench), one scenario after the other, each on a freshly started hub.
#   scripts/bench-peers.sh [results.jsonl] [scenarios…]   (S1 S2 S3 S4 by default)
# Needs a release build (make release) and ../shared/bench/setup.sh done once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIT=${BENCH_KIT:-$ROOT/../shared/bench}
W=${BENCH_WORK:-/tmp/hub-bench}; PY=$W/venv/bin/python
OUT=${1:-$ROOT/bench-results.jsonl}; shift || true
SCENARIOS=${*:-S1 S2 S3 S4}
DSN=postgresql://postgres@127.0.0.1:${BENCH_PGPORT:-55433}/postgres
PORT=7810
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

"$KIT/pg.sh" start >/dev/null

args_for() {  # scenario → loadgen arguments (the kit README's standard scenarios)
  case "$1" in
    S1) echo "--clients 100 --notifies 5000 --rate 1000" ;;
    S2) echo "--clients 1000 --notifies 2000 --rate 100" ;;
    S3) echo "--clients 1000 --notifies 5000 --rate 0 --producers 2" ;;
    S4) echo "--clients 10000 --notifies 0 --hold-s 30" ;;
  esac
}

start_ours() {
  DATABASE_URL=$DSN "$ROOT/.build/release/collection-hub" serve --no-engine --listen 127.0.0.1:$PORT --demo \
    --pool-size 4 >"$W/logs/ours.log" 2>&1 &
  OURS=$!
  for i in $(seq 200); do grep -q "Admin token" "$W/logs/ours.log" && break; sleep 0.1; done
  TOKEN=$(grep -o 'chub_[0-9a-f]*' "$W/logs/ours.log" | head -1)
  RUN=$("$KIT/pg.sh" psql -qtAc "INSERT INTO collection_runs (org_id, name, estimated_cost_cents, budget_cap_cents, category_ids, created_by)
        SELECT o.id, 'bench', 0, 1, '{bench}', (SELECT id FROM users ORDER BY created_at LIMIT 1) FROM orgs o WHERE o.slug = 'demo' RETURNING id" | head -1)
}

stop_ours() { kill -INT "$OURS"; wait "$OURS" 2>/dev/null || true; }

for s in $SCENARIOS; do
  # ours: events are committed items of one run; the marker travels in external_id.
  start_ours
  $PY "$KIT/loadgen.py" --url ws://127.0.0.1:$PORT/ws --header "Authorization: Bearer $TOKEN" \
    --subscribe "{\"type\":\"subscribe\",\"topic\":\"run:$RUN\"}" \
    --sql "INSERT INTO collection_items (run_id, item_type, external_id, status) SELECT '$RUN', 'amazon_product', unnest(\$1::text[]), 'completed'" \
    --batch-as array --hub-pid "$OURS" --label "collection-hub-$s" --jsonl "$OUT" $(args_for "$s") | tail -1
  stop_ours
  "$KIT/pg.sh" psql -qc "DELETE FROM collection_items; DELETE FROM collection_runs;" >/dev/null
  # the Python peer, same scenario, right after
  "$KIT/peers.sh" start py_hub >/dev/null
  $PY "$KIT/loadgen.py" --url "$("$KIT/peers.sh" url py_hub)" --hub-pid "$("$KIT/peers.sh" pid py_hub)" \
    --label "py_hub-$s" --jsonl "$OUT" $(args_for "$s") | tail -1
  "$KIT/peers.sh" stop py_hub >/dev/null
done
$PY "$KIT/table.py" "$OUT"
