#!/usr/bin/env bash
# One benchmark sitting: collection-hub builds beside the kit's c_hub (../shared/bench), all fed
# by our own trigger path (the producer inserts rows into collection_items; c_hub forwards the
# trigger's NOTIFY payloads raw), so the database does the same work for every hub and the
# difference is the hub. Scenarios run in rounds, hubs alternating inside each round, each on a
# freshly started process.
#   scripts/bench-sitting.sh OUT.jsonl ROUNDS "S1 S2 S3b10 S4" "label=binary[ args…]" … c_hub
# e.g. scripts/bench-sitting.sh sit.jsonl 2 "S1 S2" "before=/work/before-bin/collection-hub" \
#        "after=.build/release/collection-hub" c_hub
# Needs ../shared/bench/setup.sh done once. Prints the kit's table at the end.
# BENCH_DSN moves our hubs and the producer to another database; c_hub always listens on the kit's.
set -euo pipefail
OUT=$1 ROUNDS=$2 SCENARIOS=$3; shift 3
HUBS=("$@")
# shellcheck source=scripts/bench-common.sh
. "$(dirname "$0")/bench-common.sh"

args_for() {  # scenario → loadgen arguments (the kit README's standard scenarios)
  case "$1" in
    S1) echo "--clients 100 --notifies 5000 --rate 1000" ;;
    S2) echo "--clients 1000 --notifies 2000 --rate 100" ;;
    S3) echo "--clients 1000 --notifies 5000 --rate 0 --producers 2" ;;
    S3b10) echo "--clients 1000 --notifies 20000 --rate 0 --producers 2 --batch 10" ;;
    S4) echo "--clients 10000 --notifies 0 --hold-s 30" ;;
  esac
}

first_bin="" RUN=""
for h in "${HUBS[@]}"; do [ "$h" != c_hub ] && { first_bin=$(echo "${h#*=}" | cut -d' ' -f1); break; }; done
prepare "$first_bin"
# The demo org and its user exist once a hub ran with --demo.
start_ours prep "$first_bin"; kill -INT $HUB; wait $HUB 2>/dev/null || true

for round in $(seq "$ROUNDS"); do
  for s in $SCENARIOS; do
    for h in "${HUBS[@]}"; do
      psql_dsn -qc "DELETE FROM collection_items; DELETE FROM collection_runs;" >/dev/null
      new_run
      SQL="INSERT INTO collection_items (run_id, item_type, external_id, status) SELECT '$RUN', 'amazon_product', unnest(\$1::text[]), 'completed'"
      if [ "$h" = c_hub ]; then
        BENCH_C_HUB_CHANNEL=collection_hub "$KIT/peers.sh" start c_hub >/dev/null
        HUB=$("$KIT/peers.sh" pid c_hub); URL=$("$KIT/peers.sh" url c_hub); HDR=(); SUB=(); label=c_hub
      else
        label=${h%%=*}; spec=${h#*=}
        # shellcheck disable=SC2086
        start_ours "$label" $spec
      fi
      $PY "$KIT/loadgen.py" --url "$URL" --dsn "$DSN" "${HDR[@]}" "${SUB[@]}" --sql "$SQL" --batch-as array \
        --hub-pid "$HUB" --label "$label-$s" --jsonl "$OUT" $(args_for "$s") | tail -1 || true
      if [ "$h" = c_hub ]; then "$KIT/peers.sh" stop c_hub >/dev/null; else kill -INT $HUB; wait $HUB 2>/dev/null || true; fi
    done
  done
done
$PY "$KIT/table.py" "$OUT"
