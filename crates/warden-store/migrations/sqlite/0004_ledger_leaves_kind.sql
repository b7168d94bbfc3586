
-- Readers that look for one kind of event (review verdicts and tightenings, checked every few
-- seconds by a running gateway; `audit show --kind`) find it without scanning the whole ledger.
CREATE INDEX ledger_leaves_kind ON ledger_leaves(kind);
