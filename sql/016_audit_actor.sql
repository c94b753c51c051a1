-- The audit log covers every front door now (API tokens, console, CLI, the daemon itself),
-- not only the console: each row says which kind of actor made the change.
-- The API reads the log by time, so the time gets an index of its own.
ALTER TABLE audit_log
    ADD COLUMN actor_kind text NOT NULL DEFAULT 'console'
        CHECK (actor_kind IN ('admin_token', 'tenant_token', 'console', 'cli', 'system'));
CREATE INDEX audit_log_at_idx ON audit_log(at DESC, id DESC);
