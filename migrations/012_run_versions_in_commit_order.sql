-- ============================================================
-- 012 A run's updated_at follows the order its versions were written
-- ============================================================
-- Clients keep the newest run state they have seen and drop an older one by updated_at
-- (the dashboard applies a REST answer and the stream's events to one card). now() is the
-- start of the writer's transaction, so a writer that began first but reached the row last
-- (the admin's pause read the run, meanwhile the engine's batch committed) stamped the newer
-- version with the older time: the card dropped the pause, its REST answer included, and
-- showed a paused run as running. Row versions are written one at a time under the row lock,
-- in the order NOTIFY delivers them, so stamping each later than the one it replaces makes
-- updated_at agree with that order, whatever the writer sets.

CREATE OR REPLACE FUNCTION collection_runs_stamp_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond');
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS collection_runs_stamp_updated_at ON collection_runs;
CREATE TRIGGER collection_runs_stamp_updated_at BEFORE UPDATE ON collection_runs
    FOR EACH ROW EXECUTE FUNCTION collection_runs_stamp_updated_at();
