-- The text search of the waiting requests (the console's pending page) runs in the store: each
-- request's searched fields (id, tool, agent, session, rule, category, arguments, rationale),
-- lower-cased one by one, as a JSON array of strings. warden fills it when it writes a request,
-- and for the requests stored before this step as the step runs.
ALTER TABLE pending ADD COLUMN search TEXT;
