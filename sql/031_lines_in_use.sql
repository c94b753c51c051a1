-- The lines a tenant has in use, kept as calls take and give them back, so that
-- admission reads one number under its tenant's contract lock instead of counting the
-- tenant's active_calls rows.  The count grew with the calls since the table's last
-- vacuum (each ended call leaves a dead index entry under the tenant's key): after
-- 32,000 calls an admission took 1.2 ms instead of 0.2, all of it under the lock that
-- every admission of the tenant waits for (BENCHMARKS.md, issue 22).
--
-- The number has a row of its own, not a column of line_contracts: a call that ends
-- gives its line back without waiting for the contract's lock, which admissions (and
-- whoever changes the contract) hold.  Triggers on active_calls keep it, whoever writes
-- the rows: admission, the batched release, housekeeping's sweeps, a node's restart,
-- plain SQL, TRUNCATE.  No writer can forget it.  active_calls is locked while the
-- number is first counted, so no call starts or ends between the count and the triggers.

LOCK TABLE active_calls IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE lines_in_use (
    tenant_id  bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    in_use     integer NOT NULL DEFAULT 0
);

-- A call's row takes a line of its tenant.  Only admission inserts rows, under the
-- tenant's contract lock, so the first row of a tenant is never made twice at once; the
-- conflict clause covers plain SQL.
CREATE FUNCTION active_calls_taken() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lines_in_use SET in_use = in_use + 1 WHERE tenant_id = NEW.tenant_id;
    IF NOT FOUND THEN
        INSERT INTO lines_in_use (tenant_id, in_use) VALUES (NEW.tenant_id, 1)
            ON CONFLICT (tenant_id) DO UPDATE SET in_use = lines_in_use.in_use + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER active_calls_taken AFTER INSERT ON active_calls
    FOR EACH ROW EXECUTE FUNCTION active_calls_taken();

-- The rows a statement deleted give their lines back, counted per tenant.  The rows are
-- locked in tenant order first, so two statements that free lines of the same tenants
-- (two release batches, a sweep) cannot deadlock.
CREATE FUNCTION active_calls_freed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM lines_in_use u
      WHERE u.tenant_id IN (SELECT f.tenant_id FROM freed f)
      ORDER BY u.tenant_id FOR NO KEY UPDATE;
    UPDATE lines_in_use u SET in_use = u.in_use - n.calls
      FROM (SELECT f.tenant_id, count(*)::integer AS calls FROM freed f GROUP BY f.tenant_id) n
     WHERE u.tenant_id = n.tenant_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER active_calls_freed AFTER DELETE ON active_calls
    REFERENCING OLD TABLE AS freed FOR EACH STATEMENT EXECUTE FUNCTION active_calls_freed();

CREATE FUNCTION active_calls_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lines_in_use SET in_use = 0 WHERE in_use <> 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER active_calls_emptied AFTER TRUNCATE ON active_calls
    FOR EACH STATEMENT EXECUTE FUNCTION active_calls_emptied();

INSERT INTO lines_in_use (tenant_id, in_use)
SELECT a.tenant_id, count(*)::integer FROM active_calls a GROUP BY a.tenant_id;

-- Admission as in 001_foundation.sql, reading the number instead of counting.  It is read
-- after the contract's lock: every admission of the tenant before this one has committed
-- its line, and a release not yet committed still counts (a line comes back when its
-- release commits, as before).
CREATE OR REPLACE FUNCTION admit_call(p_call uuid, p_number text, p_node text)
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
    SELECT coalesce((SELECT u.in_use FROM lines_in_use u WHERE u.tenant_id = v_tenant), 0) INTO v_used;
    IF EXISTS (SELECT 1 FROM active_calls a WHERE a.call_uuid = p_call) THEN
        RETURN QUERY SELECT 'admitted'::text, v_tenant, v_product, v_lines, v_used;
        RETURN;
    END IF;
    IF v_used >= v_lines THEN
        RETURN QUERY SELECT 'busy'::text, v_tenant, v_product, v_lines, v_used;
        RETURN;
    END IF;
    INSERT INTO active_calls (call_uuid, tenant_id, node_id, number)
         VALUES (p_call, v_tenant, p_node, p_number);
    RETURN QUERY SELECT 'admitted'::text, v_tenant, v_product, v_lines, v_used + 1;
END
$$;
