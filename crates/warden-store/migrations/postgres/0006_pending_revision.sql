
-- A pending request changes by compare-and-swap on its revision (the whole row), not on its
-- status alone: two answers to a two-person request at the same moment both land.
ALTER TABLE pending ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
