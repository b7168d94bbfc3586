
-- A clear names the newest taint record the approver saw in force and stops that record and
-- the older ones of the agent: one stored while the approver was looking still counts. Clears
-- stored before this step name none and keep their meaning (records at or before their time).
ALTER TABLE agent_taint_clears ADD COLUMN through_record INTEGER;
