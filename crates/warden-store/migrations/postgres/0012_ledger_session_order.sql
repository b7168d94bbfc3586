-- A session's trail is read a page at a time in log order (`session = $1 AND idx > $2 ORDER BY
-- idx LIMIT n`): this index walks one session's leaves in that order, so a page reads a page of
-- rows however many leaves the session has. It replaces the index on the session alone.
CREATE INDEX ledger_leaves_session_order ON ledger_leaves(session, idx);
DROP INDEX ledger_leaves_session;
