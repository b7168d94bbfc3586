
-- The waiting requests, oldest first, page by page (`waiting`): the console's pending page
-- and its search read them through this index, never the answered requests beside them.
CREATE INDEX pending_waiting ON pending(status, created_ms, id);
