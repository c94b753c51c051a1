-- Monthly invoices per tenant: the contract history they are computed from, the
-- adjustment lines that correct them, and the closed invoices themselves.
-- History, adjustments and closed invoices are append-only (like the ledger).

CREATE FUNCTION billing_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never changed or deleted', TG_TABLE_NAME;
END
$$;

-- The state of a tenant's contract (lines, forwarding add-on) after every change,
-- with the time it took effect.  Written by a trigger on line_contracts, so every
-- change path (create_tenant, set_lines, set_forwarding, or plain SQL) records
-- it in its own transaction.  The month's bill is the most lines in force at any
-- moment of the month, and the add-on if it was on at any moment.
CREATE TABLE contract_history (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id),
    lines       integer NOT NULL CHECK (lines BETWEEN 0 AND 100000),
    forwarding  boolean NOT NULL,
    changed_at  timestamptz NOT NULL
);
CREATE INDEX contract_history_tenant_idx ON contract_history(tenant_id, id);
CREATE TRIGGER contract_history_append_only BEFORE UPDATE OR DELETE ON contract_history
    FOR EACH ROW EXECUTE FUNCTION billing_is_append_only();

-- A writer that changes the contract but not updated_at still gets the right time.
CREATE FUNCTION line_contracts_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.lines, NEW.forwarding) IS DISTINCT FROM (OLD.lines, OLD.forwarding)
       AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER line_contracts_touch BEFORE UPDATE ON line_contracts
    FOR EACH ROW EXECUTE FUNCTION line_contracts_touch();

CREATE FUNCTION line_contracts_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR (NEW.lines, NEW.forwarding) IS DISTINCT FROM (OLD.lines, OLD.forwarding) THEN
        INSERT INTO contract_history (tenant_id, lines, forwarding, changed_at)
             VALUES (NEW.tenant_id, NEW.lines, NEW.forwarding, NEW.updated_at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER line_contracts_history AFTER INSERT OR UPDATE ON line_contracts
    FOR EACH ROW EXECUTE FUNCTION line_contracts_history();

-- Contracts that exist already: their line changes so far; the add-on, which
-- nothing recorded until now, counts from now on.
INSERT INTO contract_history (tenant_id, lines, forwarding, changed_at)
SELECT tenant_id, lines, forwarding, changed_at FROM (
    SELECT ch.tenant_id, ch.new_lines AS lines, false AS forwarding, ch.changed_at, ch.id AS ord
      FROM line_contract_changes ch JOIN line_contracts c ON c.tenant_id = ch.tenant_id
    UNION ALL
    SELECT c.tenant_id, c.lines, false, t.created_at, 0
      FROM line_contracts c JOIN tenants t ON t.id = c.tenant_id
     WHERE NOT EXISTS (SELECT 1 FROM line_contract_changes ch WHERE ch.tenant_id = c.tenant_id)
    UNION ALL
    SELECT c.tenant_id, c.lines, true, now(), 0 FROM line_contracts c WHERE c.forwarding
) AS seed
ORDER BY changed_at, ord;

-- Correction lines of an open month (positive: charged, negative: credited), taxed
-- with the month's other lines.  A closed month takes none: corrections of a
-- closed invoice go into a later, open month.
CREATE TABLE invoice_adjustments (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id),
    period           date NOT NULL CHECK (extract(day FROM period) = 1),
    amount_yen       bigint NOT NULL CHECK (amount_yen <> 0 AND abs(amount_yen) <= 100000000),
    reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500 AND reason !~ '[[:cntrl:]]'),
    idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invoice_adjustments_period_idx ON invoice_adjustments(tenant_id, period);
CREATE UNIQUE INDEX invoice_adjustments_idempotency ON invoice_adjustments(tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TRIGGER invoice_adjustments_append_only BEFORE UPDATE OR DELETE ON invoice_adjustments
    FOR EACH ROW EXECUTE FUNCTION billing_is_append_only();

-- A closed month's invoice, stored once exactly as issued (the document holds the
-- lines, the addressee and the issuer as they were); never changed.
CREATE TABLE invoices (
    tenant_id     bigint NOT NULL REFERENCES tenants(id),
    period        date NOT NULL CHECK (extract(day FROM period) = 1),
    number        text NOT NULL UNIQUE,
    issued_on     date NOT NULL,
    due_on        date NOT NULL CHECK (due_on >= issued_on),
    subtotal_yen  bigint NOT NULL CHECK (subtotal_yen >= 0),
    tax_yen       bigint NOT NULL CHECK (tax_yen >= 0),
    total_yen     bigint NOT NULL CHECK (total_yen = subtotal_yen + tax_yen),
    document      jsonb NOT NULL,
    closed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, period)
);
CREATE TRIGGER invoices_append_only BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION billing_is_append_only();
