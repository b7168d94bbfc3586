-- The fields a held call, the sweeper and a halt look requests up by, copied from the body
-- into columns of their own (the body stays the record), so that each lookup reads through an
-- index the open requests it is after, never the answered ones kept beside them.
ALTER TABLE pending ADD COLUMN principal TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN session TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN tool TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN args_digest TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN policy_version TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pending ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0;
UPDATE pending SET
    principal = COALESCE(json_extract(body, '$.principal'), ''),
    session = COALESCE(json_extract(body, '$.session'), ''),
    tool = COALESCE(json_extract(body, '$.tool'), ''),
    args_digest = COALESCE(json_extract(body, '$.args_digest'), ''),
    policy_version = COALESCE(json_extract(body, '$.policy_version'), ''),
    category = COALESCE(json_extract(body, '$.category'), ''),
    expires_ms = COALESCE(json_extract(body, '$.expires_ms'), 0),
    escalated = COALESCE(json_extract(body, '$.escalated'), 0);
-- An approved request bound to one call (a held call's retry), and the open requests of one
-- agent or session (a halt).
CREATE INDEX pending_binding
    ON pending(status, principal, session, tool, args_digest, policy_version);
-- Open requests by expiry: the sweeper's overdue and soon-to-expire requests.
CREATE INDEX pending_due ON pending(status, expires_ms);
