-- Where the daemon may call (daemon/destinations.py) and the forwarding fraud guard.
--
-- International calls are a contract option, off until a platform admin turns
-- them on (audited).  The guard caps each tenant's forwarded legs ringing or
-- talking at once and its forwarded talk per Asia/Tokyo day; the defaults fit a
-- small business (a few lines, a few phones each) and stop a hijacked flow
-- from running up a bill overnight.
ALTER TABLE line_contracts
    ADD COLUMN international boolean NOT NULL DEFAULT false,
    ADD COLUMN forward_max_legs integer NOT NULL DEFAULT 10
        CHECK (forward_max_legs BETWEEN 0 AND 1000),
    ADD COLUMN forward_max_minutes integer NOT NULL DEFAULT 600
        CHECK (forward_max_minutes BETWEEN 0 AND 100000);

-- International numbers are kept as 010 + up to 15 digits.
ALTER TABLE forward_legs DROP CONSTRAINT forward_legs_number_check;
ALTER TABLE forward_legs ADD CONSTRAINT forward_legs_number_check CHECK (number ~ '^[0-9]{6,18}$');

-- The guard counts a tenant's open legs on every call that forwards.
CREATE INDEX forward_legs_tenant_open_idx ON forward_legs(tenant_id) WHERE state <> 'ended';

-- A forward the daemon did not dial: the guard's limit, or the destination
-- policy refusing a number of a flow published before the rule existed.
CREATE TABLE forward_refusals (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    call_uuid   uuid NOT NULL,
    flow_node   text NOT NULL,
    reason      text NOT NULL CHECK (reason ~ '^[a-z_]{1,40}$'),
    number      text NOT NULL DEFAULT '' CHECK (number ~ '^[0-9#*]{0,18}$'),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forward_refusals_tenant_idx ON forward_refusals(tenant_id, at);
