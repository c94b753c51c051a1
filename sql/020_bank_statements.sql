-- Bank statements imported (issue 19 item 4, issue 21 item 2): the operators' deposits
-- from their callers, and our own invoices paid by our tenants.
--
-- A caller's フリガナ / 振込名義: the katakana their bank transfers carry, matched
-- against the statement's 振込依頼人名 (stored as typed, compared normalised).
ALTER TABLE callers ADD COLUMN furigana text NOT NULL DEFAULT ''
    CHECK (length(furigana) <= 100 AND furigana !~ '[[:cntrl:]]');

-- One upload of a statement file.  tenant_id NULL: the platform's own account
-- (its lines pay our invoices); otherwise an operator's account (its lines are
-- deposits of that tenant's callers).
CREATE TABLE bank_imports (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint REFERENCES tenants(id),
    format       text NOT NULL CHECK (format IN ('zengin', 'rakuten', 'sbi', 'paypay')),
    account      text NOT NULL CHECK (length(account) BETWEEN 1 AND 100),
    file_name    text NOT NULL DEFAULT '' CHECK (length(file_name) <= 255 AND file_name !~ '[[:cntrl:]]'),
    lines_read   integer NOT NULL CHECK (lines_read >= 0),
    lines_new    integer NOT NULL CHECK (lines_new BETWEEN 0 AND lines_read),
    imported_at  timestamptz NOT NULL DEFAULT now()
);

-- One incoming transfer, once per account however often it is imported: line_key
-- (daemon/rules/bank_statements/statement.py) is the same for the same transfer.
-- open: waiting for a match; booked: a deposit (ledger_id) or an invoice paid
-- (invoice_number); ignored: not ours to book (the operator said so).
CREATE TABLE bank_lines (
    id              bigserial PRIMARY KEY,
    tenant_id       bigint REFERENCES tenants(id),
    import_id       bigint NOT NULL REFERENCES bank_imports(id),
    line_key        text NOT NULL CHECK (line_key ~ '^[0-9a-f]{64}$'),
    account         text NOT NULL,
    booked_on       date NOT NULL,
    amount_yen      bigint NOT NULL CHECK (amount_yen > 0),
    payer           text NOT NULL CHECK (length(payer) <= 200),
    payer_key       text NOT NULL,
    reference       text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'booked', 'ignored')),
    caller_id       bigint REFERENCES callers(id),
    ledger_id       bigint REFERENCES ledger(id),
    invoice_number  text REFERENCES invoices(number),
    settled_at      timestamptz,
    CHECK ((status = 'booked') = (ledger_id IS NOT NULL OR invoice_number IS NOT NULL)),
    CHECK ((status = 'open') = (settled_at IS NULL))
);
CREATE UNIQUE INDEX bank_lines_key ON bank_lines (COALESCE(tenant_id, 0), line_key);
CREATE INDEX bank_lines_status_idx ON bank_lines (tenant_id, status, booked_on);

-- Our invoice paid: by a line of our statement or marked by hand (audited either
-- way).  One payment settles one invoice; invoices themselves are never changed.
CREATE TABLE invoice_payments (
    id              bigserial PRIMARY KEY,
    invoice_number  text NOT NULL UNIQUE REFERENCES invoices(number),
    tenant_id       bigint NOT NULL REFERENCES tenants(id),
    paid_on         date NOT NULL,
    amount_yen      bigint NOT NULL CHECK (amount_yen > 0),
    bank_line_id    bigint UNIQUE REFERENCES bank_lines(id),
    memo            text NOT NULL DEFAULT '' CHECK (length(memo) <= 500 AND memo !~ '[[:cntrl:]]'),
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
