
-- Each leaf's MAC under a key derived from the ledger's signing key (`warden_ledger::auth`):
-- a row inserted by anyone without the key is refused before a checkpoint could sign it.
-- Leaves stored before this column are vouched for by the checkpoints that cover them.
ALTER TABLE ledger_leaves ADD COLUMN leaf_mac BLOB;
