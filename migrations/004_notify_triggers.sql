-- ============================================================
-- 004 NOTIFY triggers: committed changes wake the hubs
-- ============================================================
-- One channel, collection_hub. NOTIFY is delivered at commit, so a hub only ever hears
-- of committed rows, and in commit order. Payloads are JSON objects whose first keys are
-- fixed so a hub can route them without parsing the rest:
--   {"k":"items","org":"<uuid>","run":"<uuid>","lo":<seq>,"hi":<seq>,"ev":[<event>,...]}
--   {"k":"run","org":"<uuid>","run":"<uuid>","seq":<item_seq>,"status_changed":<bool>,"ev":<event>}
--   {"k":"sellers","org":"<uuid>","n":<rows>}
-- "ev" holds the events exactly as clients receive them. A payload must stay under
-- PostgreSQL's 8000-byte limit whatever the rows hold: events carry only what the feed
-- shows (titles cut to 120 characters, never the data JSONB), and when a statement's
-- events still do not fit, "ev" is left out and hubs read items lo..hi from the table.

-- ============================================================
-- 1. Item events (one notification per statement and run)
-- ============================================================
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
        'created_at', i.created_at
    ))
$$;

CREATE OR REPLACE FUNCTION collection_items_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    head text;
    events text;
BEGIN
    FOR r IN SELECT run_id, org_id, min(seq) AS lo, max(seq) AS hi
               FROM new_items GROUP BY run_id, org_id LOOP
        head := '{"k":"items","org":"' || r.org_id || '","run":"' || r.run_id
             || '","lo":' || r.lo || ',"hi":' || r.hi;
        -- Cheap bound first: ~600 bytes an event at most, so large statements skip the build.
        IF (r.hi - r.lo + 1) * 600 < 7800 THEN
            SELECT string_agg(collection_item_event(n::collection_items, s)::text, ',' ORDER BY n.seq)
              INTO events
              FROM new_items n LEFT JOIN sellers s ON s.id = n.seller_id
             WHERE n.run_id = r.run_id;
        ELSE
            events := NULL;
        END IF;
        IF events IS NOT NULL AND octet_length(head) + octet_length(events) < 7900 THEN
            PERFORM pg_notify('collection_hub', head || ',"ev":[' || events || ']}');
        ELSE
            PERFORM pg_notify('collection_hub', head || '}');
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS collection_items_notify ON collection_items;
CREATE TRIGGER collection_items_notify AFTER INSERT ON collection_items
    REFERENCING NEW TABLE AS new_items
    FOR EACH STATEMENT EXECUTE FUNCTION collection_items_notify();

-- ============================================================
-- 2. Run events (status, reason, counts, cost, current category)
-- ============================================================
-- The whole client-visible state of the run, so the latest event replaces earlier ones;
-- a field that is absent is null.
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
        'processed_items', r.processed_items,
        'failed_items', r.failed_items,
        'skipped_items', r.skipped_items,
        'actual_cost_cents', r.actual_cost_cents,
        'estimated_cost_cents', r.estimated_cost_cents,
        'budget_cap_cents', r.budget_cap_cents,
        'current_category', left(r.current_category, 120),
        'next_retry_at', r.next_retry_at,
        'budget_warned_at', r.budget_warned_at,
        'started_at', r.started_at,
        'paused_at', r.paused_at,
        'completed_at', r.completed_at,
        'updated_at', r.updated_at
    ))
$$;

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
                   'at', NEW.budget_warned_at)::text || '}');
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS collection_runs_notify ON collection_runs;
CREATE TRIGGER collection_runs_notify AFTER INSERT OR UPDATE ON collection_runs
    FOR EACH ROW EXECUTE FUNCTION collection_runs_notify();

-- ============================================================
-- 3. Seller events (one notification per statement and org)
-- ============================================================
CREATE OR REPLACE FUNCTION sellers_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT org_id, count(*) AS n FROM new_sellers GROUP BY org_id LOOP
        PERFORM pg_notify('collection_hub',
            '{"k":"sellers","org":"' || r.org_id || '","n":' || r.n || '}');
    END LOOP;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS sellers_notify_insert ON sellers;
CREATE TRIGGER sellers_notify_insert AFTER INSERT ON sellers
    REFERENCING NEW TABLE AS new_sellers
    FOR EACH STATEMENT EXECUTE FUNCTION sellers_notify();
DROP TRIGGER IF EXISTS sellers_notify_update ON sellers;
CREATE TRIGGER sellers_notify_update AFTER UPDATE ON sellers
    REFERENCING NEW TABLE AS new_sellers
    FOR EACH STATEMENT EXECUTE FUNCTION sellers_notify();
