-- ============================================================
-- 003 What the engine and the hub need on top of the seed plan
-- ============================================================
-- Added with ADD COLUMN IF NOT EXISTS (data-model contract: never rewrite a table).

-- ============================================================
-- 1. categories
-- ============================================================
-- The catalog the cost estimate reads. expected_products replaces the seed's placeholder
-- of 50 products per category; expected_sellers_per_product drives the eBay estimate.
CREATE TABLE IF NOT EXISTS categories (
    id                            TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    name                          TEXT NOT NULL,
    expected_products             INT NOT NULL CHECK (expected_products BETWEEN 0 AND 100000),
    expected_sellers_per_product  INT NOT NULL DEFAULT 4 CHECK (expected_sellers_per_product BETWEEN 0 AND 1000),
    sort_order                    INT NOT NULL DEFAULT 0,
    created_at                    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ============================================================
-- 2. collection_runs
-- ============================================================
-- Why each column exists:
--   status_reason     why the run is in its state: admin / provider_unavailable pause,
--                     waiting_for_slot while pending, budget_exhausted at the end.
--   next_retry_at     when an outage-paused run tries the provider again ("retrying in 8 s").
--   skipped_items     the seed counts processed and failed only; the dashboard shows skipped.
--   current_category  the summary line of a running run.
--   item_seq          last per-run sequence number handed to an item: the hub's replay cursor.
--   lease_*           the scheduler's claim: owner process, fencing token (bumped on every
--                     claim so a stale owner's writes match no row), expiry, heartbeat.
--   soft_warning_percent, estimate   snapshotted at creation like budget_cap_cents.
--   budget_warned_at  the first time spending crossed the soft percentage.
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS status_reason TEXT;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS next_retry_at TIMESTAMPTZ;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS skipped_items INT NOT NULL DEFAULT 0;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS current_category TEXT;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS item_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS lease_owner TEXT;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS lease_expires_at TIMESTAMPTZ;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS heartbeat_at TIMESTAMPTZ;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS soft_warning_percent INT NOT NULL DEFAULT 80;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS estimate JSONB;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS budget_warned_at TIMESTAMPTZ;
ALTER TABLE collection_runs ADD COLUMN IF NOT EXISTS last_error TEXT;

-- The budget rule "actual cost never exceeds the cap" holds even against a buggy writer.
ALTER TABLE collection_runs DROP CONSTRAINT IF EXISTS collection_runs_cost_within_cap;
ALTER TABLE collection_runs ADD CONSTRAINT collection_runs_cost_within_cap
    CHECK (actual_cost_cents >= 0 AND actual_cost_cents <= budget_cap_cents);
ALTER TABLE collection_runs DROP CONSTRAINT IF EXISTS collection_runs_name_length;
ALTER TABLE collection_runs ADD CONSTRAINT collection_runs_name_length
    CHECK (length(name) BETWEEN 1 AND 200);

-- The scheduler's claim query and the badge count.
CREATE INDEX IF NOT EXISTS idx_collection_runs_claim ON collection_runs(status, created_at)
    WHERE status IN ('pending', 'running', 'paused');
CREATE INDEX IF NOT EXISTS idx_collection_runs_org_status ON collection_runs(org_id, status);

-- ============================================================
-- 3. collection_items
-- ============================================================
--   seq          the run's monotonic sequence number: clients resume with since=seq.
--   org_id       copied from the run so the NOTIFY payload and isolation checks need no join.
--   category_id  which category produced the item (timeline and failed-items log).
--   seller_id    the deduplicated seller an ebay_seller item resolved to.
ALTER TABLE collection_items ADD COLUMN IF NOT EXISTS seq BIGINT;
ALTER TABLE collection_items ADD COLUMN IF NOT EXISTS org_id UUID REFERENCES orgs(id) ON DELETE CASCADE;
ALTER TABLE collection_items ADD COLUMN IF NOT EXISTS category_id TEXT;
ALTER TABLE collection_items ADD COLUMN IF NOT EXISTS seller_id UUID REFERENCES sellers(id) ON DELETE SET NULL;
ALTER TABLE collection_items ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ;

-- Resuming from a checkpoint must never write an item twice.
CREATE UNIQUE INDEX IF NOT EXISTS uq_collection_items_run_type_external
    ON collection_items(run_id, item_type, external_id);
-- Replay reads a run's items by sequence.
CREATE UNIQUE INDEX IF NOT EXISTS uq_collection_items_run_seq ON collection_items(run_id, seq);

-- A writer may pass seq (the engine reserves a block on the run row it already holds
-- locked) or leave it NULL and get the next number here. Either way the run row is
-- locked until commit, so a run's items commit in sequence order: the hub relies on it.
CREATE OR REPLACE FUNCTION collection_items_assign_seq() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq IS NULL THEN
        UPDATE collection_runs SET item_seq = item_seq + 1
         WHERE id = NEW.run_id
        RETURNING item_seq, org_id INTO NEW.seq, NEW.org_id;
    ELSIF NEW.org_id IS NULL THEN
        SELECT org_id INTO NEW.org_id FROM collection_runs WHERE id = NEW.run_id;
    END IF;
    IF NEW.seq IS NULL THEN
        RAISE EXCEPTION 'collection run % does not exist', NEW.run_id USING ERRCODE = '23503';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS collection_items_assign_seq ON collection_items;
CREATE TRIGGER collection_items_assign_seq BEFORE INSERT ON collection_items
    FOR EACH ROW EXECUTE FUNCTION collection_items_assign_seq();

-- ============================================================
-- 4. sellers
-- ============================================================
CREATE INDEX IF NOT EXISTS idx_sellers_org_updated ON sellers(org_id, updated_at DESC);

-- Every item has a sequence number and an org once the trigger above has run.
ALTER TABLE collection_items ALTER COLUMN seq SET NOT NULL;
ALTER TABLE collection_items ALTER COLUMN org_id SET NOT NULL;
