-- ============================================================
-- 006 Credentials the hubs keep in memory: sessions, and NOTIFY on credential changes
-- ============================================================
-- A hub never asks the database who a request is: it loads live token hashes and
-- sessions at start, and these triggers tell every hub of each change at commit, on a
-- channel of its own (collection_hub_auth) so the item fan-out never parses them.
-- Payloads carry the full new state of the row, so applying one needs no query:
--   {"k":"token","id":"<uuid>","org":"<uuid>","user":"<uuid>","hash":"<hex>","live":<bool>,"perms":[...]}
--   {"k":"session","id":"<uuid>","token":"<uuid>","hash":"<hex>","live":<bool>,"expires":<unix seconds>}
-- Hashes are SHA-256 of 256-bit random secrets, as stored in the tables themselves.

-- ============================================================
-- 1. Browser sessions: an opaque random id (only its SHA-256 is stored) standing for
--    the token that logged in. Revoking or deleting the token ends its sessions.
-- ============================================================
CREATE TABLE IF NOT EXISTS sessions (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    token_id      UUID NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
    session_hash  BYTEA NOT NULL UNIQUE CHECK (length(session_hash) = 32),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_sessions_token ON sessions(token_id);

-- ============================================================
-- 2. Token changes (created, revoked, permissions changed, deleted or cascaded)
-- ============================================================
CREATE OR REPLACE FUNCTION api_tokens_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t api_tokens;
    live boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        t := OLD;
        live := false;
    ELSE
        t := NEW;
        live := NEW.revoked_at IS NULL;
    END IF;
    PERFORM pg_notify('collection_hub_auth', json_build_object(
        'k', 'token', 'id', t.id, 'org', t.org_id, 'user', t.user_id,
        'hash', encode(t.token_hash, 'hex'), 'live', live, 'perms', t.permissions)::text);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS api_tokens_notify_change ON api_tokens;
CREATE TRIGGER api_tokens_notify_change AFTER INSERT OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION api_tokens_notify();
-- last_used_at is written often and changes nothing a hub holds: no notification for it.
DROP TRIGGER IF EXISTS api_tokens_notify_update ON api_tokens;
CREATE TRIGGER api_tokens_notify_update AFTER UPDATE ON api_tokens
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.permissions IS DISTINCT FROM NEW.permissions
          OR OLD.token_hash IS DISTINCT FROM NEW.token_hash
          OR OLD.org_id IS DISTINCT FROM NEW.org_id
          OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION api_tokens_notify();

-- ============================================================
-- 3. Session changes (login, logout, expiry moved, deleted or cascaded)
-- ============================================================
CREATE OR REPLACE FUNCTION sessions_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
    live boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        s := OLD;
        live := false;
    ELSE
        s := NEW;
        live := NEW.ended_at IS NULL;
    END IF;
    PERFORM pg_notify('collection_hub_auth', json_build_object(
        'k', 'session', 'id', s.id, 'token', s.token_id, 'hash', encode(s.session_hash, 'hex'),
        'live', live, 'expires', extract(epoch FROM s.expires_at))::text);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS sessions_notify_change ON sessions;
CREATE TRIGGER sessions_notify_change AFTER INSERT OR UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_notify();
