
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    principal TEXT,
    session TEXT,
    tool TEXT,
    decision TEXT,
    body TEXT NOT NULL
);
CREATE INDEX events_session ON events(session);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TABLE pending (
    id TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE budget_uses (
    budget TEXT NOT NULL,
    scope TEXT NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE INDEX budget_uses_key ON budget_uses(budget, scope, time_ms);
CREATE TABLE tool_pins (
    tool TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    pinned_by TEXT NOT NULL,
    pinned_ms INTEGER NOT NULL
);
