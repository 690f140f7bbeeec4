-- ============================================================
-- 010 Plan against actual, and progress that holds
-- ============================================================
-- The plan (estimated items and cost) is stored at creation and never rewritten;
-- what the executor learns while running lives in columns of its own:
--   planned_items      estimate's items at creation (estimated_cost_cents is the plan's cost).
--   expected_items     best-known total: exact products for listed categories, learned
--                      projections for the rest; the executor updates it with each batch.
--   progress_permille  done / expected_items in tenths of a percent, only ever raised, so a
--                      total that grows does not send the bar backwards.
--   items_per_second   the executor's recent rate (the card's rate and ETA).
--   category_stats     per category what the run observed (listing size, failures, sellers
--                      offered, distinct and paid): what later estimates learn from.
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS planned_items INT NOT NULL DEFAULT 0;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS expected_items INT NOT NULL DEFAULT 0;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS progress_permille INT NOT NULL DEFAULT 0;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS items_per_second REAL;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS category_stats JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE collection_runs DROP CONSTRAINT IF EXISTS collection_runs_progress_range;
ALTER TABLE collection_runs ADD CONSTRAINT collection_runs_progress_range
    CHECK (progress_permille BETWEEN 0 AND 1000 AND planned_items >= 0 AND expected_items >= 0);

-- Runs created before this migration: their plan is the stored estimate (total_items may
-- already have been rewritten to the actual count at completion).
UPDATE collection_runs
   SET planned_items = COALESCE((estimate->>'expected_items')::int, total_items),
       expected_items = GREATEST(total_items, processed_items + failed_items + skipped_items)
 WHERE planned_items = 0 AND expected_items = 0;

-- The plan is written once: an insert without one (bench runs) takes total_items, and no
-- update may change it, whoever the writer.
CREATE OR REPLACE FUNCTION collection_runs_keep_plan() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.planned_items = 0 THEN NEW.planned_items := NEW.total_items; END IF;
        IF NEW.expected_items = 0 THEN NEW.expected_items := NEW.planned_items; END IF;
    ELSE
        NEW.planned_items := OLD.planned_items;
        NEW.estimated_cost_cents := OLD.estimated_cost_cents;
        NEW.estimate := OLD.estimate;
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS collection_runs_keep_plan ON collection_runs;
CREATE TRIGGER collection_runs_keep_plan BEFORE INSERT OR UPDATE ON collection_runs
    FOR EACH ROW EXECUTE FUNCTION collection_runs_keep_plan();

-- Estimates read the org's completed runs that covered given categories.
CREATE INDEX IF NOT EXISTS idx_collection_runs_org_completed ON collection_runs(org_id, completed_at DESC)
    WHERE status = 'completed';

-- ============================================================
-- Run events carry the plan, the best-known total, progress, rate and ETA
-- ============================================================
-- Same object as 004 plus planned_items, expected_items, progress_percent,
-- items_per_second and eta_seconds (only while running: a paused run has no ETA).
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
        'next_retry_at', r.next_retry_at,
        'budget_warned_at', r.budget_warned_at,
        'started_at', r.started_at,
        'paused_at', r.paused_at,
        'completed_at', r.completed_at,
        'updated_at', r.updated_at
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
                   'at', NEW.budget_warned_at)::text || '}');
    END IF;
    RETURN NULL;
END $$;
