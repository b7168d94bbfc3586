
-- Taint follows the agent principal across its sessions (and processes), not one MCP session.
-- A record per flagged read; a human's clear is its own row, and records at or before it stop
-- counting. Nothing is deleted: both tables are history.
CREATE TABLE agent_taints (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    session TEXT NOT NULL,
    level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 100),
    source TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    until_ms INTEGER NOT NULL
);
-- The per-call lookup: one agent's records that have not expired.
CREATE INDEX agent_taints_agent ON agent_taints(agent, until_ms);
-- `warden taint list`: every agent's records that have not expired.
CREATE INDEX agent_taints_until ON agent_taints(until_ms);
CREATE TABLE agent_taint_clears (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    cleared_ms INTEGER NOT NULL,
    cleared_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX agent_taint_clears_agent ON agent_taint_clears(agent, cleared_ms);
