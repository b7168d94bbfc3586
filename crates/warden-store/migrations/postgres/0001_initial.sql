
CREATE FUNCTION warden_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END
$$;

-- One row, locked FOR UPDATE by every append: the ledger's sequencer.
CREATE TABLE ledger_head (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one)
);
INSERT INTO ledger_head DEFAULT VALUES;

CREATE TABLE ledger_leaves (
    idx BIGINT PRIMARY KEY CHECK (idx >= 0),
    leaf BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL,
    time_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    principal TEXT,
    session TEXT,
    tool TEXT,
    decision TEXT
);
CREATE INDEX ledger_leaves_session ON ledger_leaves(session);
CREATE INDEX ledger_leaves_principal ON ledger_leaves(principal);
CREATE INDEX ledger_leaves_tool ON ledger_leaves(tool);
CREATE TRIGGER ledger_leaves_append_only BEFORE UPDATE OR DELETE ON ledger_leaves
    FOR EACH ROW EXECUTE FUNCTION warden_refuse('the ledger is append-only');
CREATE TRIGGER ledger_leaves_no_truncate BEFORE TRUNCATE ON ledger_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION warden_refuse('the ledger is append-only');

-- One row per leaf with sealed fields, packed as in the SQLite backend.
CREATE TABLE ledger_sealed (
    idx BIGINT PRIMARY KEY,
    sealed BYTEA NOT NULL
);
CREATE TRIGGER ledger_sealed_no_update BEFORE UPDATE ON ledger_sealed
    FOR EACH ROW EXECUTE FUNCTION warden_refuse('sealed content can be redacted, never changed');

CREATE TABLE ledger_checkpoints (
    seq BIGSERIAL PRIMARY KEY,
    size BIGINT NOT NULL UNIQUE,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    time_ms BIGINT NOT NULL
);
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION warden_refuse('checkpoints are append-only');
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION warden_refuse('checkpoints are append-only');

CREATE TABLE pending (
    id TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE budget_uses (
    budget TEXT NOT NULL,
    scope TEXT NOT NULL,
    time_ms BIGINT NOT NULL
);
CREATE INDEX budget_uses_key ON budget_uses(budget, scope, time_ms);

CREATE TABLE tool_pins (
    tool TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    pinned_by TEXT NOT NULL,
    pinned_ms BIGINT NOT NULL
);

-- Kill switches. At most one active (not resumed) halt per scope; resumed ones stay as history.
CREATE TABLE halts (
    id BIGSERIAL PRIMARY KEY,
    scope TEXT NOT NULL,
    set_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    resumed_by TEXT,
    resume_reason TEXT,
    resumed_ms BIGINT
);
CREATE UNIQUE INDEX halts_active ON halts(scope) WHERE resumed_ms IS NULL;
