
-- Kill switches. At most one active (not resumed) halt per scope; resumed ones stay as history.
CREATE TABLE halts (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    set_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    resumed_by TEXT,
    resume_reason TEXT,
    resumed_ms INTEGER
);
CREATE UNIQUE INDEX halts_active ON halts(scope) WHERE resumed_ms IS NULL;
