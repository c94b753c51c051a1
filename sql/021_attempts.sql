-- Every call attempt on record, a caller block list, and what IVR calls did (statistics).

-- One row per refused attempt: the calls that never reached a call record (Coaching Dial)
-- or the flow (IVR).  Written beside the refusal, never in its way: the daemon gives the
-- insert a bounded time and logs a failure (daemon/calls/attempts.py).  An unknown
-- number has no tenant; an attempt refused before identification has no caller.
CREATE TABLE call_attempts (
    id             bigserial PRIMARY KEY,
    call_uuid      uuid,
    tenant_id      bigint REFERENCES tenants(id) ON DELETE CASCADE,
    product        text,
    dialled        text NOT NULL DEFAULT '' CHECK (length(dialled) <= 32),
    caller_number  text NOT NULL DEFAULT '' CHECK (length(caller_number) <= 32),  -- '': withheld
    caller_id      bigint REFERENCES callers(id) ON DELETE SET NULL,
    group_id       bigint REFERENCES counsellor_groups(id) ON DELETE SET NULL,
    reason         text NOT NULL CHECK (reason IN (
                       'no_money', 'unknown_caller', 'wrong_pin', 'no_group', 'all_busy',
                       'lines_full', 'blocked', 'not_in_service', 'unavailable')),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX call_attempts_call_idx ON call_attempts(call_uuid);  -- one row per attempt
CREATE INDEX call_attempts_tenant_idx ON call_attempts(tenant_id, created_at);

-- Callers a tenant refuses: a number, or 'anonymous' for every caller who withholds theirs.
-- number NULL: on all the tenant's numbers; else on that one only.
CREATE TABLE blocked_callers (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    number      text REFERENCES numbers(number) ON DELETE CASCADE,
    caller      text NOT NULL CHECK (caller ~ '^[0-9]{6,15}$' OR caller = 'anonymous'),
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 200 AND note !~ '[[:cntrl:]]'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (tenant_id, number, caller)
);
CREATE INDEX blocked_callers_caller_idx ON blocked_callers(tenant_id, caller);

-- Admission with the block list first, in the same round trip: a blocked caller takes no
-- line (and is refused even when every line is in use).  p_caller: national digits, or
-- NULL / '' when withheld.
CREATE FUNCTION admit_caller(p_call uuid, p_number text, p_node text, p_caller text)
RETURNS TABLE (outcome text, tenant_id bigint, product text, lines integer, in_use integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_tenant  bigint;
    v_product text;
BEGIN
    SELECT n.tenant_id, n.product INTO v_tenant, v_product
      FROM numbers n WHERE n.number = p_number;
    IF FOUND AND EXISTS (
        SELECT 1 FROM blocked_callers b
         WHERE b.tenant_id = v_tenant
           AND b.caller = coalesce(nullif(p_caller, ''), 'anonymous')
           AND (b.number IS NULL OR b.number = p_number)
    ) THEN
        RETURN QUERY SELECT 'blocked'::text, v_tenant, v_product, 0, 0;
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM admit_call(p_call, p_number, p_node);
END
$$;

-- What each answered IVR call did, written once when it ends: where it ended, whether the
-- caller hung up there, and the menu keys chosen ([{"node": "main", "keys": "1"}, …]).
-- Forwarded legs (forward_legs) and voicemails (voicemails) have their own rows.
CREATE TABLE ivr_call_log (
    call_uuid      uuid PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    flow_version   integer,
    dialled        text NOT NULL DEFAULT '',
    caller_number  text NOT NULL DEFAULT '',
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz NOT NULL DEFAULT now(),
    last_node      text NOT NULL DEFAULT '',
    last_kind      text NOT NULL DEFAULT '',
    caller_hung_up boolean NOT NULL DEFAULT false,
    choices        jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(choices) = 'array')
);
CREATE INDEX ivr_call_log_tenant_idx ON ivr_call_log(tenant_id, started_at);
