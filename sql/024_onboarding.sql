-- Onboarding a customer: who our invoice is addressed to, the pool of our own 03
-- numbers, the one-time links that let a customer's first console user set a
-- password, and the invoices we have e-mailed.

-- The invoice's 宛名 and where it is sent.  Empty: the tenant's name is the
-- addressee, and nothing is mailed.
ALTER TABLE tenants
    ADD COLUMN billing_name    text NOT NULL DEFAULT ''
        CHECK (length(billing_name) <= 200 AND billing_name !~ '[[:cntrl:]]'),
    ADD COLUMN billing_address text NOT NULL DEFAULT ''
        CHECK (length(billing_address) <= 500 AND billing_address !~ '[\x01-\x09\x0b-\x1f\x7f]'),
    ADD COLUMN billing_email   text NOT NULL DEFAULT ''
        CHECK (billing_email = '' OR billing_email ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$');

-- Our Tokyo numbers, kept by the platform admin.  A number is given to a tenant
-- by assigning it (numbers.number is the primary key there: never two tenants at
-- once); a pool number still assigned cannot leave the pool (checked below).
CREATE TABLE number_pool (
    number    text PRIMARY KEY CHECK (number ~ '^03[0-9]{8}$'),
    note      text NOT NULL DEFAULT '' CHECK (length(note) <= 200 AND note !~ '[[:cntrl:]]'),
    added_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION number_pool_keep_assigned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM numbers n WHERE n.number = OLD.number) THEN
        RAISE EXCEPTION 'number % is assigned to a tenant: take it out of service first', OLD.number
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'number_pool_assigned';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER number_pool_keep_assigned BEFORE DELETE ON number_pool
    FOR EACH ROW EXECUTE FUNCTION number_pool_keep_assigned();

-- One-time links that set a console user's password.  Only the SHA-256 of the
-- token is stored; a link is used once (used_at) and expires.
CREATE TABLE console_invites (
    token_sha256  bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    user_id       bigint NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX console_invites_user_idx ON console_invites(user_id);

-- Issued invoices sent by e-mail: to whom and when (one row per sending).
CREATE TABLE invoice_mailings (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL,
    period      date NOT NULL,
    sent_to     text NOT NULL CHECK (length(sent_to) BETWEEN 3 AND 254),
    sent_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, period) REFERENCES invoices(tenant_id, period)
);
CREATE INDEX invoice_mailings_invoice_idx ON invoice_mailings(tenant_id, period);
