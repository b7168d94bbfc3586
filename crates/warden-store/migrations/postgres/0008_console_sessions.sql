
-- Console sign-in sessions, shared by the replicas; `key` is the SHA-256 of the cookie, and
-- `mac` binds the row to a holder of the ledger's key.
CREATE TABLE console_sessions (
    key BYTEA PRIMARY KEY,
    approver_id TEXT NOT NULL,
    approver_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    mac BYTEA NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_ms);
