-- The operator web console: people who log in, their sessions, and the audit log.
--
-- A platform admin (role 'admin') sees every tenant and belongs to none; an
-- operator (Coaching Dial) or an IVR customer belongs to exactly one tenant,
-- and the console scopes everything they see to it.
CREATE TABLE console_users (
    id              bigserial PRIMARY KEY,
    login           text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._@-]{2,63}$'),
    display_name    text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
    role            text NOT NULL CHECK (role IN ('admin', 'operator', 'ivr')),
    tenant_id       bigint REFERENCES tenants(id) ON DELETE CASCADE,
    password_hash   text NOT NULL,
    failed_logins   integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until    timestamptz,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT console_users_tenant_by_role CHECK ((role = 'admin') = (tenant_id IS NULL))
);
CREATE INDEX console_users_tenant_idx ON console_users(tenant_id);

-- Server-side sessions: the cookie carries a random token, the table its SHA-256.
CREATE TABLE console_sessions (
    token_sha256  bytea PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX console_sessions_user_idx ON console_sessions(user_id);
CREATE INDEX console_sessions_expiry_idx ON console_sessions(expires_at);

-- Who changed what, when: every money or configuration change made in the console.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    user_id     bigint REFERENCES console_users(id) ON DELETE SET NULL,
    login       text NOT NULL,              -- kept when the user is gone
    tenant_id   bigint REFERENCES tenants(id) ON DELETE SET NULL,
    action      text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    target      text NOT NULL DEFAULT '' CHECK (length(target) <= 200),
    before      jsonb,
    after       jsonb,
    remote      text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_tenant_idx ON audit_log(tenant_id, id DESC);
