
-- The interim event table is kept, read-only, as history from before the ledger.
ALTER TABLE events RENAME TO events_v0;
CREATE TABLE ledger_leaves (
    idx INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    time_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    principal TEXT,
    session TEXT,
    tool TEXT,
    decision TEXT
);
CREATE INDEX ledger_leaves_session ON ledger_leaves(session);
CREATE INDEX ledger_leaves_principal ON ledger_leaves(principal);
CREATE INDEX ledger_leaves_tool ON ledger_leaves(tool);
CREATE TRIGGER ledger_leaves_no_update BEFORE UPDATE ON ledger_leaves
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_leaves_no_delete BEFORE DELETE ON ledger_leaves
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
-- One row per leaf with sealed fields: `sealed` packs (field, salt, content) triples (see
-- `pack_sealed`), so an append writes one row, not one per field.
CREATE TABLE ledger_sealed (
    idx INTEGER PRIMARY KEY,
    sealed BLOB NOT NULL
);
CREATE TRIGGER ledger_sealed_no_update BEFORE UPDATE ON ledger_sealed
    BEGIN SELECT RAISE(ABORT, 'sealed content can be redacted, never changed'); END;
CREATE TABLE ledger_checkpoints (
    seq INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
