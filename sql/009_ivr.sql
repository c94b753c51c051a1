-- IVR (じゃんじゃんコール): versioned per-tenant call flows, the live version, the
-- guidance each published version plays, the forwarding tariff, voicemail.
-- Builds on 006_shared_contracts.sql (line_contracts.forwarding, guidance, forward_legs).

-- Every saved flow definition is a version (1, 2, …) of the tenant's flow.
CREATE TABLE ivr_flow_versions (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    version       integer NOT NULL CHECK (version > 0),
    definition    jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,                       -- first time it went live
    UNIQUE (tenant_id, version)
);

-- The version new calls start with.  A call keeps the version it started with.
CREATE TABLE ivr_live_flows (
    tenant_id     bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    version_id    bigint NOT NULL REFERENCES ivr_flow_versions(id),
    published_at  timestamptz NOT NULL DEFAULT now()
);

-- The guidance each published version plays: a guidance still referenced by a
-- published flow cannot be deleted (the guidance pipeline relies on this FK).
CREATE TABLE ivr_flow_guidance (
    version_id    bigint NOT NULL REFERENCES ivr_flow_versions(id) ON DELETE CASCADE,
    guidance_id   bigint NOT NULL REFERENCES guidance(id) ON DELETE RESTRICT,
    PRIMARY KEY (version_id, guidance_id)
);
CREATE INDEX ivr_flow_guidance_guidance_idx ON ivr_flow_guidance(guidance_id);

-- Each node caches the live flow (and the paths of its guidance); these tell it
-- when to drop a tenant's entry.
CREATE FUNCTION ivr_flow_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('calld_ivr', OLD.tenant_id::text);
    ELSE
        PERFORM pg_notify('calld_ivr', NEW.tenant_id::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ivr_live_flows_notify AFTER INSERT OR UPDATE OR DELETE ON ivr_live_flows
    FOR EACH ROW EXECUTE FUNCTION ivr_flow_changed();
CREATE TRIGGER ivr_guidance_notify AFTER UPDATE OR DELETE ON guidance
    FOR EACH ROW EXECUTE FUNCTION ivr_flow_changed();

-- Forwarding is billed by duration: per tenant, a unit (1, 30 or 60 s) and yen
-- per started unit.  No row: the default tariff (daemon/ivr/tariff.py).
CREATE TABLE forwarding_tariffs (
    tenant_id     bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    unit_seconds  integer NOT NULL CHECK (unit_seconds IN (1, 30, 60)),
    yen_per_unit  integer NOT NULL CHECK (yen_per_unit BETWEEN 0 AND 100000),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- How a forwarded leg was finished after a daemon crash (NULL: by the live call).
ALTER TABLE forward_legs ADD COLUMN reconciled text
    CHECK (reconciled IN ('live', 'cdr', 'estimate', 'no_evidence'));
ALTER TABLE forward_legs ADD COLUMN flow_node text;

-- Voicemail: the recording FreeSWITCH wrote, and who left it.
CREATE TABLE voicemails (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    call_uuid      uuid NOT NULL,
    flow_node      text NOT NULL,
    caller_number  text NOT NULL DEFAULT '',
    dialled        text NOT NULL DEFAULT '',
    path           text NOT NULL CHECK (path !~ '[[:cntrl:][:space:]]'),
    duration_ms    integer NOT NULL CHECK (duration_ms >= 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX voicemails_tenant_idx ON voicemails(tenant_id, created_at);
