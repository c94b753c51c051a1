-- Operator API tokens, each scoped to one tenant.  Only a SHA-256 of the token
-- is kept; the token itself is shown once, when the admin creates it.
CREATE TABLE tenant_tokens (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    token_sha256  bytea NOT NULL UNIQUE,
    label         text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX tenant_tokens_tenant_idx ON tenant_tokens(tenant_id);
