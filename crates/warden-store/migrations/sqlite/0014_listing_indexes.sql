-- Every listing reads through an index (`tests/query_plans.rs` explains each one against a
-- filled database). These are the ones that had none.
--
-- `audit show --decision` and the review sample's holds read the decisions with one outcome
-- through this index, in log order (every SQLite index ends with the rowid, `idx`). Leaves
-- that carry no decision are not in it.
CREATE INDEX ledger_leaves_decision ON ledger_leaves(decision) WHERE decision IS NOT NULL;
-- `audit show --since` finds the leaves stamped at or after a time through this index, not by
-- reading the ledger from its first leaf.
CREATE INDEX ledger_leaves_time ON ledger_leaves(time_ms);
-- The active halts, read on every call, in the order they were set: through this index, never
-- the resumed ones kept beside them as history.
CREATE INDEX halts_active_order ON halts(id) WHERE resumed_ms IS NULL;
