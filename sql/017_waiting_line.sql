-- The waiting line of a Coaching Dial group (issue 20, item 1).
--
-- Off by default.  A caller who finds every member busy may wait; each waiting
-- caller is one row, whichever node holds the call.  The longest-waiting caller
-- (joined_at, then id) is served first across every node: a node serves only
-- its own waiters, and only in the order of the whole line, so nothing is
-- claimed on behalf of a node that may be gone.

ALTER TABLE counsellor_groups
    ADD COLUMN queue_enabled    boolean NOT NULL DEFAULT false,
    ADD COLUMN queue_max_wait_s integer NOT NULL DEFAULT 300 CHECK (queue_max_wait_s BETWEEN 1 AND 3600),
    ADD COLUMN queue_max_length integer NOT NULL DEFAULT 10 CHECK (queue_max_length BETWEEN 1 AND 500),
    ADD COLUMN queue_announce_s integer NOT NULL DEFAULT 30 CHECK (queue_announce_s BETWEEN 1 AND 600);

CREATE TABLE waiting_calls (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    group_id    bigint NOT NULL REFERENCES counsellor_groups(id) ON DELETE CASCADE,
    call_uuid   uuid NOT NULL UNIQUE,          -- the caller's leg
    node_id     text NOT NULL,                 -- the node holding the call (and bridging it)
    caller_id   bigint REFERENCES callers(id) ON DELETE CASCADE,
    joined_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- the member claimed for this caller (counsellors.current_call = call_uuid) until the bridge takes over
    offered_to  bigint REFERENCES counsellors(id) ON DELETE SET NULL
);
CREATE INDEX waiting_calls_line_idx ON waiting_calls(group_id, joined_at, id);
CREATE INDEX waiting_calls_node_idx ON waiting_calls(node_id);

-- A member who may have become free (call released, back on duty, wrap-up
-- restarted) tells every node, per group with a waiting line: the node owning
-- the longest waiter takes them.  Every path that frees a counsellor is an
-- UPDATE of this table, so no caller of it has to remember.
CREATE FUNCTION calld_waiting_member_freed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('calld_waiting', g.id::text)
       FROM group_members m JOIN counsellor_groups g ON g.id = m.group_id
      WHERE m.counsellor_id = NEW.id AND g.queue_enabled
        AND EXISTS (SELECT 1 FROM waiting_calls w WHERE w.group_id = g.id);
    RETURN NULL;
END $$;

CREATE TRIGGER counsellors_waiting_freed
    AFTER UPDATE OF current_call, on_duty, wrapup_until ON counsellors
    FOR EACH ROW
    WHEN (NEW.on_duty AND NEW.current_call IS NULL
          AND (OLD.current_call IS NOT NULL OR NOT OLD.on_duty OR OLD.wrapup_until IS DISTINCT FROM NEW.wrapup_until))
    EXECUTE FUNCTION calld_waiting_member_freed();
