-- ============================================================
-- 002 Collection infrastructure (seed plan 06-01, migration 037)
-- ============================================================
-- The four tables exactly as the plan lays them out; auth.users becomes users.
-- Columns the engine and hub need on top of these come in 003, so this file stays
-- a faithful copy of the plan.

-- ============================================================
-- 1. collection_settings
-- ============================================================
-- Global admin settings per org.
CREATE TABLE IF NOT EXISTS collection_settings (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                UUID NOT NULL UNIQUE REFERENCES orgs(id) ON DELETE CASCADE,
    budget_cap_cents      INT NOT NULL DEFAULT 2500,
    soft_warning_percent  INT NOT NULL DEFAULT 80,
    max_concurrent_runs   INT NOT NULL DEFAULT 3,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ
);

-- ============================================================
-- 2. collection_runs
-- ============================================================
-- Job state with checkpointing.
CREATE TABLE IF NOT EXISTS collection_runs (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id                UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name                  TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'paused', 'completed', 'failed', 'cancelled')),
    estimated_cost_cents  INT NOT NULL,
    actual_cost_cents     INT NOT NULL DEFAULT 0,
    budget_cap_cents      INT NOT NULL,
    total_items           INT NOT NULL DEFAULT 0,
    processed_items       INT NOT NULL DEFAULT 0,
    failed_items          INT NOT NULL DEFAULT 0,
    checkpoint            JSONB,
    category_ids          TEXT[] NOT NULL,
    started_at            TIMESTAMPTZ,
    completed_at          TIMESTAMPTZ,
    paused_at             TIMESTAMPTZ,
    created_by            UUID NOT NULL REFERENCES users(id),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ
);

-- ============================================================
-- 3. collection_items
-- ============================================================
-- Per-item log.
CREATE TABLE IF NOT EXISTS collection_items (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id         UUID NOT NULL REFERENCES collection_runs(id) ON DELETE CASCADE,
    item_type      TEXT NOT NULL CHECK (item_type IN ('amazon_product', 'ebay_seller')),
    external_id    TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'skipped')),
    data           JSONB,
    error_code     TEXT,
    error_message  TEXT,
    cost_cents     INT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ============================================================
-- 4. sellers
-- ============================================================
-- Deduplicated master list.
CREATE TABLE IF NOT EXISTS sellers (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    display_name       TEXT NOT NULL,
    normalized_name    TEXT NOT NULL,
    platform           TEXT NOT NULL CHECK (platform IN ('ebay')),
    platform_id        TEXT,
    first_seen_run_id  UUID REFERENCES collection_runs(id) ON DELETE SET NULL,
    last_seen_run_id   UUID REFERENCES collection_runs(id) ON DELETE SET NULL,
    times_seen         INT NOT NULL DEFAULT 1,
    feedback_score     INT,
    item_count         INT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ,
    CONSTRAINT sellers_unique_normalized UNIQUE (org_id, normalized_name, platform)
);

-- ============================================================
-- 5. Indexes
-- ============================================================
CREATE INDEX IF NOT EXISTS idx_collection_runs_org_id ON collection_runs(org_id);
CREATE INDEX IF NOT EXISTS idx_collection_runs_status ON collection_runs(status);
CREATE INDEX IF NOT EXISTS idx_collection_runs_created_at ON collection_runs(created_at);
CREATE INDEX IF NOT EXISTS idx_collection_items_run_id ON collection_items(run_id);
CREATE INDEX IF NOT EXISTS idx_collection_items_status ON collection_items(status);
CREATE INDEX IF NOT EXISTS idx_collection_items_item_type ON collection_items(item_type);
CREATE INDEX IF NOT EXISTS idx_sellers_org_id ON sellers(org_id);
CREATE INDEX IF NOT EXISTS idx_sellers_normalized_name ON sellers(normalized_name);

-- ============================================================
-- 6. Row level security
-- ============================================================
-- Supabase's service_role does not exist outside Supabase. The hub connects as the
-- tables' owner, which RLS does not restrict (like service_role), and scopes every
-- query by org itself. Any other role (a reporting login, psql as a non-owner) only
-- sees the org named in the session setting app.org_id: SET app.org_id = '<uuid>'.
ALTER TABLE collection_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE collection_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE collection_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE sellers ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS org_isolation ON collection_settings;
CREATE POLICY org_isolation ON collection_settings
    USING (org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
DROP POLICY IF EXISTS org_isolation ON collection_runs;
CREATE POLICY org_isolation ON collection_runs
    USING (org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
DROP POLICY IF EXISTS org_isolation ON collection_items;
CREATE POLICY org_isolation ON collection_items
    USING (EXISTS (SELECT 1 FROM collection_runs r WHERE r.id = run_id
                   AND r.org_id = nullif(current_setting('app.org_id', true), '')::uuid));
DROP POLICY IF EXISTS org_isolation ON sellers;
CREATE POLICY org_isolation ON sellers
    USING (org_id = nullif(current_setting('app.org_id', true), '')::uuid)
    WITH CHECK (org_id = nullif(current_setting('app.org_id', true), '')::uuid);
