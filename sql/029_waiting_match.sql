-- The waiting line's matching in one round trip (issue 20 follow-up, after 026).
--
-- Since 026 the pairing that keeps a member who failed a caller away from them
-- ran in Python between four statements of one transaction (lock, dead nodes,
-- waiters, free members, claim): freed -> ringing p50 went from 213 to 287 ms.
-- waiting_match() does the whole round under the group's lock in one call
-- (daemon/repositories/waiting.py, match).  A VOLATILE function's statements
-- each take a new snapshot, so what it reads after the lock includes the last
-- matcher's commit, as the separate statements did.
--
-- passed_over[i] was "never again for this wait".  A member who only did not
-- answer is offered to that caller again once passed_until[i] has come (a
-- named counsellor, a one-member group, would otherwise leave the caller
-- waiting for nobody); NULL, or no entry (rows of 026), keeps "never again"
-- (a member the caller's money does not cover).

ALTER TABLE waiting_calls ADD COLUMN passed_until timestamptz[] NOT NULL DEFAULT '{}';

CREATE FUNCTION waiting_match(p_group bigint, p_node text, p_live float8)
RETURNS TABLE (calls uuid[], members bigint[], look_again_s float8)
LANGUAGE plpgsql AS $$
DECLARE
    v_free    bigint[];
    v_waiter  record;
    v_member  bigint;
    v_calls   uuid[] := '{}';
    v_members bigint[] := '{}';
    v_short   boolean := false;   -- a waiter was left without a member
    v_barred  timestamptz;        -- the first time a member barred from a waiter left unserved is theirs again
BEGIN
    PERFORM pg_advisory_xact_lock(20017, p_group::int);  -- repositories.waiting.LOCK_SPACE

    -- a dead node's waiters leave the line; a member claimed for them is free again
    WITH gone AS (
        DELETE FROM waiting_calls w WHERE w.group_id = p_group AND NOT EXISTS (
            SELECT 1 FROM nodes n WHERE n.node_id = w.node_id
               AND n.heartbeat_at > now() - make_interval(secs => p_live))
        RETURNING w.call_uuid, w.offered_to)
    UPDATE counsellors c SET current_call = NULL, claimed_at = NULL FROM gone
     WHERE c.id = gone.offered_to AND c.current_call = gone.call_uuid;

    -- the group's free members, longest idle first
    SELECT coalesce(array_agg(c.id ORDER BY c.last_call_end ASC NULLS FIRST, m.position, c.id), '{}') INTO v_free
      FROM group_members m JOIN counsellors c ON c.id = m.counsellor_id
     WHERE m.group_id = p_group AND c.on_duty AND c.current_call IS NULL
       AND (c.wrapup_until IS NULL OR c.wrapup_until <= now());

    -- from the line's head, each waiter without a member takes the first free one not barred from them
    FOR v_waiter IN
        SELECT w.call_uuid, w.node_id, w.passed_over, w.passed_until FROM waiting_calls w
         WHERE w.group_id = p_group AND w.offered_to IS NULL AND EXISTS (
               SELECT 1 FROM nodes n WHERE n.node_id = w.node_id
                  AND n.heartbeat_at > now() - make_interval(secs => p_live))
         ORDER BY w.joined_at, w.id
    LOOP
        IF cardinality(v_free) = 0 THEN
            v_short := true;
            EXIT;
        END IF;
        SELECT f.id INTO v_member FROM unnest(v_free) WITH ORDINALITY AS f(id, n)
         WHERE NOT EXISTS (
               SELECT 1 FROM unnest(v_waiter.passed_over) WITH ORDINALITY AS p(id, i)
                WHERE p.id = f.id AND (v_waiter.passed_until[p.i] IS NULL OR v_waiter.passed_until[p.i] > now()))
         ORDER BY f.n LIMIT 1;
        IF v_member IS NULL THEN
            v_short := true;
            SELECT least(v_barred, min(u.t)) INTO v_barred FROM unnest(v_waiter.passed_until) AS u(t) WHERE u.t > now();
            CONTINUE;
        END IF;
        v_free := array_remove(v_free, v_member);
        IF v_waiter.node_id = p_node THEN  -- this node holds that call; another node claims its own
            v_calls := v_calls || v_waiter.call_uuid;
            v_members := v_members || v_member;
        END IF;
    END LOOP;

    IF v_short THEN  -- look again when a wrap-up ends (no notification says so), or a bar is lifted
        SELECT least(v_barred, min(c.wrapup_until)) INTO v_barred
          FROM group_members m JOIN counsellors c ON c.id = m.counsellor_id
         WHERE m.group_id = p_group AND c.on_duty AND c.current_call IS NULL AND c.wrapup_until > now();
    END IF;

    -- claim (the hunt's own conditional claim: a member another call took meanwhile is skipped), mark the waiters
    RETURN QUERY
    WITH p AS (SELECT * FROM unnest(v_members, v_calls) AS p(id, call_uuid)), claimed AS (
        UPDATE counsellors c SET current_call = p.call_uuid, claimed_at = now()
          FROM p WHERE c.id = p.id AND c.on_duty AND c.current_call IS NULL
           AND (c.wrapup_until IS NULL OR c.wrapup_until <= now())
        RETURNING c.id, c.current_call
    ), marked AS (
        UPDATE waiting_calls x SET offered_to = claimed.id FROM claimed
         WHERE x.call_uuid = claimed.current_call RETURNING x.call_uuid, x.offered_to
    )
    SELECT coalesce(array_agg(marked.call_uuid), '{}'), coalesce(array_agg(marked.offered_to), '{}'),
           extract(epoch FROM v_barred - now())::float8
      FROM marked;
END
$$;
