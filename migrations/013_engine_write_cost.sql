-- ============================================================
-- 013 What each item row costs to write (issue 15 item 7)
-- ============================================================
-- 1. collection_items_assign_seq (003) only has work when a writer leaves seq or org_id
--    out; the engine passes both. A WHEN condition is checked without entering PL/pgSQL,
--    so the engine's rows skip a function call each. Writers that leave them out are
--    served exactly as before.
DROP TRIGGER IF EXISTS collection_items_assign_seq ON collection_items;
CREATE TRIGGER collection_items_assign_seq BEFORE INSERT ON collection_items
    FOR EACH ROW WHEN (NEW.seq IS NULL OR NEW.org_id IS NULL)
    EXECUTE FUNCTION collection_items_assign_seq();

-- 2. Three indexes no query uses, each written for every item: every read of
--    collection_items is by run (run_id first), which uq_collection_items_run_seq and
--    uq_collection_items_run_type_external already serve; status and item_type alone are
--    never searched.
DROP INDEX IF EXISTS idx_collection_items_run_id;
DROP INDEX IF EXISTS idx_collection_items_status;
DROP INDEX IF EXISTS idx_collection_items_item_type;
