-- A forward's legs opened under the tenant's fraud guard in one round trip (issue 16 follow-up).
--
-- daemon/repositories/forwarding.open_legs took the tenant's guard lock and then
-- made four more round trips before its commit let go of it (the contract, the
-- usage, the rows, COMMIT).  On a loaded event loop each of them waits for its
-- turn, so the lock was held for tens of milliseconds and a burst of forwards to
-- one tenant queued behind it: in the first minute of every soak 12-76 forwards
-- were given up after the 2 s database deadline (ivr_forward_not_opened) and
-- their callers got the flow's on_fail instead of a ring.  open_forward_legs()
-- does it all inside the server, where the lock is held for well under a
-- millisecond.  A VOLATILE function's statements each take a new snapshot, so
-- what it reads after the lock includes the last opener's commit.
--
-- forward_usage() is the guard's count, also read by the console's call-safety
-- page (forwarding.usage): legs ringing or talking now, and seconds talked on legs
-- answered since the day began (a talk still going counts up to p_now_us).

CREATE FUNCTION forward_usage(p_tenant bigint, p_day_start_us bigint, p_now_us bigint)
RETURNS TABLE (open_legs bigint, talk_seconds bigint)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM forward_legs WHERE tenant_id = p_tenant AND state <> 'ended'),
           (SELECT coalesce(sum(CASE WHEN state = 'ended' THEN coalesce(billsec, 0)
                                     ELSE greatest(0, (p_now_us - answer_us) / 1000000) END), 0)::bigint
              FROM forward_legs WHERE tenant_id = p_tenant AND answer_us >= p_day_start_us)
$$;

-- Returns NULL when the legs were written ('ringing'), else the limit the new legs
-- would break ('concurrent_legs' or 'daily_minutes': forwarding.CONCURRENT_LEGS,
-- DAILY_MINUTES), with a forward_refusals row and no leg.  p_day_start_us NULL:
-- no guard (reconciliation and tests write rows as they were).
CREATE FUNCTION open_forward_legs(
    p_tenant bigint, p_call uuid, p_node text, p_flow_node text, p_legs uuid[], p_numbers text[],
    p_created_us bigint, p_unit_seconds integer, p_yen_per_unit integer, p_day_start_us bigint)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_max_legs    integer;
    v_max_minutes integer;
    v_used        record;
    v_broken      text;
BEGIN
    IF p_day_start_us IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('forward_guard:' || p_tenant));
        SELECT c.forward_max_legs, c.forward_max_minutes INTO v_max_legs, v_max_minutes
          FROM line_contracts c WHERE c.tenant_id = p_tenant;
        IF NOT FOUND THEN  -- no contract row: the columns' defaults (013_destinations.sql)
            v_max_legs := 10;
            v_max_minutes := 600;
        END IF;
        SELECT * INTO v_used FROM forward_usage(p_tenant, p_day_start_us, p_created_us);
        IF v_used.open_legs + cardinality(p_legs) > v_max_legs THEN
            v_broken := 'concurrent_legs';
        ELSIF v_used.talk_seconds >= v_max_minutes * 60 THEN
            v_broken := 'daily_minutes';
        END IF;
        IF v_broken IS NOT NULL THEN
            INSERT INTO forward_refusals (tenant_id, call_uuid, flow_node, reason)
            VALUES (p_tenant, p_call, p_flow_node, v_broken);
            RETURN v_broken;
        END IF;
    END IF;
    INSERT INTO forward_legs (leg_uuid, call_uuid, tenant_id, node_id, number, state, created_us,
                              unit_seconds, yen_per_unit, flow_node)
    SELECT l.leg, p_call, p_tenant, p_node, l.number, 'ringing', p_created_us, p_unit_seconds, p_yen_per_unit,
           p_flow_node
      FROM unnest(p_legs, p_numbers) AS l(leg, number);
    RETURN NULL;
END
$$;
