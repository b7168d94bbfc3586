-- The fields a held call, the sweeper and a halt look requests up by, copied from the body
-- into columns of their own (the body stays the record), so that each lookup reads through an
-- index the open requests it is after, never the answered ones kept beside them.
ALTER TABLE pending
    ADD COLUMN principal TEXT NOT NULL DEFAULT '',
    ADD COLUMN session TEXT NOT NULL DEFAULT '',
    ADD COLUMN tool TEXT NOT NULL DEFAULT '',
    ADD COLUMN args_digest TEXT NOT NULL DEFAULT '',
    ADD COLUMN policy_version TEXT NOT NULL DEFAULT '',
    ADD COLUMN category TEXT NOT NULL DEFAULT '',
    ADD COLUMN expires_ms BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN escalated BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE pending SET
    principal = COALESCE(body::jsonb ->> 'principal', ''),
    session = COALESCE(body::jsonb ->> 'session', ''),
    tool = COALESCE(body::jsonb ->> 'tool', ''),
    args_digest = COALESCE(body::jsonb ->> 'args_digest', ''),
    policy_version = COALESCE(body::jsonb ->> 'policy_version', ''),
    category = COALESCE(body::jsonb ->> 'category', ''),
    expires_ms = COALESCE((body::jsonb ->> 'expires_ms')::BIGINT, 0),
    escalated = COALESCE((body::jsonb ->> 'escalated')::BOOLEAN, FALSE);
-- An approved request bound to one call (a held call's retry), and the open requests of one
-- agent or session (a halt).
CREATE INDEX pending_binding
    ON pending(status, principal, session, tool, args_digest, policy_version);
-- Open requests by expiry: the sweeper's overdue and soon-to-expire requests.
CREATE INDEX pending_due ON pending(status, expires_ms);
