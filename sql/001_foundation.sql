-- Foundation: tenants, the numbers they own, their line contracts, and the live
-- calls that hold lines.  Applied once, in a transaction, under an advisory lock.

CREATE TABLE tenants (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The dialled number (as FreeSWITCH reports it in Caller-Destination-Number,
-- national format, digits only) decides the tenant and the product.
CREATE TABLE numbers (
    number      text PRIMARY KEY CHECK (number ~ '^[0-9]{6,15}$'),
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    product     text NOT NULL CHECK (product IN ('coaching', 'ivr')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX numbers_tenant_idx ON numbers(tenant_id);

-- Lines = concurrent calls a tenant may have.  One row per tenant, created with
-- the tenant; admission locks this row, so calls of one tenant are admitted one
-- at a time across every daemon process sharing this database.
CREATE TABLE line_contracts (
    tenant_id   bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    lines       integer NOT NULL CHECK (lines BETWEEN 0 AND 100000),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every change of a line count, for the operator's records.
CREATE TABLE line_contract_changes (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    old_lines   integer,
    new_lines   integer NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- Daemon processes (FreeSWITCH + daemon nodes) and their heartbeats.
CREATE TABLE nodes (
    node_id       text PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

-- A row holds one line for as long as the call lives.
CREATE TABLE active_calls (
    call_uuid   uuid PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    node_id     text NOT NULL,
    number      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX active_calls_tenant_idx ON active_calls(tenant_id);
CREATE INDEX active_calls_node_idx ON active_calls(node_id);

-- Admission in one round trip.  Outcomes: admitted, busy, not_in_service.
-- The line_contracts row lock serializes admissions of one tenant; each
-- statement of a plpgsql function takes a fresh snapshot under READ COMMITTED,
-- so the count after the lock sees every line committed before it.
-- Line rows commit without waiting for the WAL flush (synchronous_commit off,
-- for this transaction only): a database crash can at worst free a line early,
-- and it saves an fsync per call set-up.  Money never does this.
CREATE FUNCTION admit_call(p_call uuid, p_number text, p_node text)
RETURNS TABLE (outcome text, tenant_id bigint, product text, lines integer, in_use integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_tenant  bigint;
    v_product text;
    v_lines   integer;
    v_used    integer;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    SELECT n.tenant_id, n.product INTO v_tenant, v_product
      FROM numbers n WHERE n.number = p_number;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_in_service'::text, NULL::bigint, NULL::text, 0, 0;
        RETURN;
    END IF;
    SELECT c.lines INTO v_lines
      FROM line_contracts c WHERE c.tenant_id = v_tenant FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        v_lines := 0;
    END IF;
    IF EXISTS (SELECT 1 FROM active_calls a WHERE a.call_uuid = p_call) THEN
        SELECT count(*) INTO v_used FROM active_calls a WHERE a.tenant_id = v_tenant;
        RETURN QUERY SELECT 'admitted'::text, v_tenant, v_product, v_lines, v_used;
        RETURN;
    END IF;
    SELECT count(*) INTO v_used FROM active_calls a WHERE a.tenant_id = v_tenant;
    IF v_used >= v_lines THEN
        RETURN QUERY SELECT 'busy'::text, v_tenant, v_product, v_lines, v_used;
        RETURN;
    END IF;
    INSERT INTO active_calls (call_uuid, tenant_id, node_id, number)
         VALUES (p_call, v_tenant, p_node, p_number);
    RETURN QUERY SELECT 'admitted'::text, v_tenant, v_product, v_lines, v_used + 1;
END
$$;

-- Give a call's line back; true if it held one.
CREATE FUNCTION release_call(p_call uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    DELETE FROM active_calls WHERE call_uuid = p_call;
    RETURN FOUND;
END
$$;
