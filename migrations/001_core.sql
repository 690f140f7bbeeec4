-- ============================================================
-- 001 Core: organisations, users, API tokens, activity log
-- ============================================================
-- gen_random_uuid() is built in from PostgreSQL 13; no extension needed.

-- ============================================================
-- 1. orgs
-- ============================================================
-- The tenant. Every collection row hangs off one org; no query crosses orgs.
CREATE TABLE IF NOT EXISTS orgs (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug        TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ============================================================
-- 2. users
-- ============================================================
-- Stands in for Supabase's auth.users: the seed plan's created_by references it.
CREATE TABLE IF NOT EXISTS users (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email         TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- ============================================================
-- 3. api_tokens
-- ============================================================
-- Bearer tokens carry an org and permissions. Only the SHA-256 of the token is stored,
-- so a database dump never yields a usable credential.
CREATE TABLE IF NOT EXISTS api_tokens (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        UUID NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_hash    BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    permissions   TEXT[] NOT NULL DEFAULT '{}',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_api_tokens_org ON api_tokens(org_id);

-- ============================================================
-- 4. activity_logs (data-model contract, seed 004)
-- ============================================================
-- Columns as the contract lays them out; org_id and run_id are added because our
-- resources are UUIDs (the contract's resource_id is an INTEGER and stays NULL here).
CREATE TABLE IF NOT EXISTS activity_logs (
    id             SERIAL PRIMARY KEY,
    user_id        UUID REFERENCES users(id) ON DELETE SET NULL,
    action         TEXT NOT NULL,
    resource_type  TEXT,
    resource_id    INTEGER,
    details        TEXT,
    ip_address     TEXT,
    user_agent     TEXT,
    created_at     TIMESTAMP DEFAULT now()
);
ALTER TABLE activity_logs ADD COLUMN IF NOT EXISTS org_id UUID REFERENCES orgs(id) ON DELETE CASCADE;
ALTER TABLE activity_logs ADD COLUMN IF NOT EXISTS run_id UUID;
CREATE INDEX IF NOT EXISTS idx_activity_logs_user_id ON activity_logs(user_id);
CREATE INDEX IF NOT EXISTS idx_activity_logs_action ON activity_logs(action);
CREATE INDEX IF NOT EXISTS idx_activity_logs_org ON activity_logs(org_id, created_at DESC);
