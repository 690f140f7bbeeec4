-- ============================================================
-- 011 Event timestamps in the REST format
-- ============================================================
-- REST answers timestamps as ISO 8601 UTC with a fraction and a `Z`
-- ("2025-01-02T03:04:05.123Z", milliseconds); json_build_object wrote timestamptz values as
-- "2025-01-02T03:04:05.123456+00:00" (the session's zone). Events now use the REST
-- format whatever the session's TimeZone. Everything below is 004's item event and
-- 010's run event and notify function unchanged, except that each timestamp goes
-- through hub_utc.

-- NULL stays NULL (json_strip_nulls drops it), so absent timestamps stay absent.
CREATE OR REPLACE FUNCTION hub_utc(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE OR REPLACE FUNCTION collection_item_event(i collection_items, s sellers) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object(
        'type', CASE WHEN i.item_type = 'ebay_seller' THEN 'seller' ELSE 'item' END,
        'run', i.run_id,
        'seq', i.seq,
        'id', i.id,
        'item_type', i.item_type,
        'external_id', left(i.external_id, 200),
        'status', i.status,
        'cost_cents', i.cost_cents,
        'category_id', i.category_id,
        'title', left(i.data->>'title', 120),
        'price_cents', CASE WHEN jsonb_typeof(i.data->'price_cents') = 'number'
                            THEN (i.data->>'price_cents')::numeric END,
        'seller_id', s.id,
        'display_name', left(s.display_name, 120),
        'times_seen', s.times_seen,
        'error_code', left(i.error_code, 64),
        'error_message', left(i.error_message, 200),
        'created_at', hub_utc(i.created_at)
    ))
$$;

CREATE OR REPLACE FUNCTION collection_run_event(r collection_runs) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object(
        'type', 'run',
        'run', r.id,
        'seq', r.item_seq,
        'name', left(r.name, 200),
        'status', r.status,
        'status_reason', r.status_reason,
        'total_items', r.total_items,
        'planned_items', r.planned_items,
        'expected_items', r.expected_items,
        'progress_percent', round(r.progress_permille / 10.0, 1),
        'items_per_second', round(r.items_per_second::numeric, 2),
        'eta_seconds', CASE WHEN r.status = 'running' AND r.items_per_second > 0
                            THEN ceil(GREATEST(0, r.expected_items - r.processed_items - r.failed_items - r.skipped_items)
                                      / r.items_per_second)::int END,
        'processed_items', r.processed_items,
        'failed_items', r.failed_items,
        'skipped_items', r.skipped_items,
        'actual_cost_cents', r.actual_cost_cents,
        'estimated_cost_cents', r.estimated_cost_cents,
        'budget_cap_cents', r.budget_cap_cents,
        'current_category', left(r.current_category, 120),
        'next_retry_at', hub_utc(r.next_retry_at),
        'budget_warned_at', hub_utc(r.budget_warned_at),
        'started_at', hub_utc(r.started_at),
        'paused_at', hub_utc(r.paused_at),
        'completed_at', hub_utc(r.completed_at),
        'updated_at', hub_utc(r.updated_at)
    ))
$$;

-- As in 004, plus: a new best-known total or progress is news for clients.
CREATE OR REPLACE FUNCTION collection_runs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean := TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status
                       OR NEW.status_reason IS DISTINCT FROM OLD.status_reason;
    head text := '{"k":"run","org":"' || NEW.org_id || '","run":"' || NEW.id || '","seq":' || NEW.item_seq;
BEGIN
    -- Lease heartbeats and checkpoint-only writes are invisible to clients: stay quiet.
    IF TG_OP = 'UPDATE' AND NOT changed
       AND NEW.processed_items = OLD.processed_items AND NEW.failed_items = OLD.failed_items
       AND NEW.skipped_items = OLD.skipped_items AND NEW.total_items = OLD.total_items
       AND NEW.expected_items = OLD.expected_items AND NEW.progress_permille = OLD.progress_permille
       AND NEW.actual_cost_cents = OLD.actual_cost_cents
       AND NEW.current_category IS NOT DISTINCT FROM OLD.current_category
       AND NEW.next_retry_at IS NOT DISTINCT FROM OLD.next_retry_at
       AND NEW.budget_warned_at IS NOT DISTINCT FROM OLD.budget_warned_at
       AND NEW.name = OLD.name THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('collection_hub', head || ',"status_changed":' || changed
        || ',"ev":' || collection_run_event(NEW)::text || '}');
    IF TG_OP = 'UPDATE' AND OLD.budget_warned_at IS NULL AND NEW.budget_warned_at IS NOT NULL THEN
        PERFORM pg_notify('collection_hub', '{"k":"budget_warning","org":"' || NEW.org_id
            || '","run":"' || NEW.id || '","seq":' || NEW.item_seq || ',"ev":'
            || json_build_object('type', 'budget_warning', 'run', NEW.id, 'seq', NEW.item_seq,
                   'actual_cost_cents', NEW.actual_cost_cents,
                   'budget_cap_cents', NEW.budget_cap_cents,
                   'soft_warning_percent', NEW.soft_warning_percent,
                   'at', hub_utc(NEW.budget_warned_at))::text || '}');
    END IF;
    RETURN NULL;
END $$;
