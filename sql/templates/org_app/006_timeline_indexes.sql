-- cotenant: no-transaction
--
-- Indexes for the timelines, built without blocking writes to tables that may already be large.
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction, hence the header: cotenant runs these
-- statements one by one and records the migration after the last. IF NOT EXISTS makes a re-run
-- after an interruption safe (an interrupted build leaves an INVALID index: drop it, then re-run).
CREATE INDEX CONCURRENTLY IF NOT EXISTS activities_timeline_idx
    ON activities (org_id, occurred_at DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_timeline_idx
    ON audit_log (org_id, at DESC);
