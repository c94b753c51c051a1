-- Coaching Dial: counsellors, groups, callers, the ledger and call records.
-- Money is integer yen (bigint).  A balance changes only together with a ledger row.

CREATE TABLE counsellors (
    id              bigserial PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- how FreeSWITCH reaches their phone through the SIP trunk, e.g.
    -- sofia/gateway/trunk/08011112222 or sofia/external/08011112222@192.0.2.10:5060
    dial_string     text NOT NULL CHECK (dial_string ~ '^[A-Za-z0-9_./@:+=-]{3,200}$'),
    rate_yen_per_min integer CHECK (rate_yen_per_min BETWEEN 0 AND 100000),  -- overrides the group's
    on_duty         boolean NOT NULL DEFAULT false,
    current_call    uuid,              -- the caller leg this counsellor is claimed for
    claimed_at      timestamptz,
    missed_in_row   integer NOT NULL DEFAULT 0,
    last_call_end   timestamptz,
    wrapup_until    timestamptz,
    calls_taken     bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX counsellors_call_idx ON counsellors(current_call) WHERE current_call IS NOT NULL;

CREATE TABLE counsellor_groups (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    code             text NOT NULL CHECK (code ~ '^[0-9]{1,6}$'),   -- what the caller keys
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    rate_yen_per_min integer NOT NULL CHECK (rate_yen_per_min BETWEEN 0 AND 100000),
    strategy         text NOT NULL DEFAULT 'longest_idle'
                     CHECK (strategy IN ('longest_idle', 'round_robin', 'sequential', 'random', 'ring_all')),
    ring_timeout_s   integer NOT NULL DEFAULT 20 CHECK (ring_timeout_s BETWEEN 1 AND 120),
    free_seconds     integer NOT NULL DEFAULT 0 CHECK (free_seconds BETWEEN 0 AND 3600),
    minimum_charge_yen integer NOT NULL DEFAULT 0 CHECK (minimum_charge_yen BETWEEN 0 AND 1000000),
    max_missed       integer NOT NULL DEFAULT 3 CHECK (max_missed BETWEEN 1 AND 100),
    wrapup_seconds   integer NOT NULL DEFAULT 0 CHECK (wrapup_seconds BETWEEN 0 AND 3600),
    warning_seconds  integer NOT NULL DEFAULT 60 CHECK (warning_seconds BETWEEN 0 AND 600),
    rr_position      integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code)
);

CREATE TABLE group_members (
    group_id       bigint NOT NULL REFERENCES counsellor_groups(id) ON DELETE CASCADE,
    counsellor_id  bigint NOT NULL REFERENCES counsellors(id) ON DELETE CASCADE,
    position       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, counsellor_id)
);

CREATE TABLE callers (
    id              bigserial PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    pin             text CHECK (pin ~ '^[0-9]{4,8}$'),
    billing         text NOT NULL CHECK (billing IN ('prepaid', 'postpaid')),
    payment_method  text NOT NULL CHECK (payment_method IN ('card', 'bank_transfer')),
    credit_limit_yen bigint CHECK (credit_limit_yen >= 0),   -- postpaid only; NULL = no limit
    balance_yen     bigint NOT NULL DEFAULT 0,               -- cache of sum(ledger.amount_yen)
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (payment_method <> 'card' OR billing = 'postpaid'),  -- card payers are postpaid
    CHECK (billing <> 'prepaid' OR credit_limit_yen IS NULL),
    CHECK (billing <> 'prepaid' OR balance_yen >= 0),          -- a prepaid balance never goes below zero
    UNIQUE (tenant_id, pin)
);

CREATE TABLE caller_numbers (
    tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    number     text NOT NULL CHECK (number ~ '^[0-9]{6,15}$'),
    caller_id  bigint NOT NULL REFERENCES callers(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, number)
);

-- Append-only.  amount_yen > 0 adds to the balance (deposit, refund, positive
-- adjustment), < 0 takes from it (charge, negative adjustment).
CREATE TABLE ledger (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id),
    caller_id        bigint NOT NULL REFERENCES callers(id),
    kind             text NOT NULL CHECK (kind IN ('deposit', 'charge', 'adjustment', 'refund')),
    amount_yen       bigint NOT NULL,
    balance_after    bigint NOT NULL,
    call_uuid        uuid,
    idempotency_key  text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    memo             text NOT NULL DEFAULT '' CHECK (length(memo) <= 1000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'deposit' OR amount_yen > 0),
    CHECK (kind <> 'refund' OR amount_yen > 0),
    CHECK (kind <> 'charge' OR (amount_yen <= 0 AND call_uuid IS NOT NULL))
);
CREATE INDEX ledger_caller_idx ON ledger(caller_id, id);
CREATE UNIQUE INDEX ledger_one_charge_per_call ON ledger(call_uuid) WHERE kind = 'charge';
CREATE UNIQUE INDEX ledger_idempotency ON ledger(tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are never changed or deleted';
END
$$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();

-- One row per consultation attempt that reached the hunt, written before the
-- bridge; finished (charge included) in one transaction at hangup.
CREATE TABLE call_records (
    call_uuid        uuid PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id),
    node_id          text NOT NULL,
    caller_id        bigint REFERENCES callers(id),
    caller_number    text NOT NULL DEFAULT '',
    group_id         bigint REFERENCES counsellor_groups(id) ON DELETE SET NULL,
    counsellor_id    bigint REFERENCES counsellors(id) ON DELETE SET NULL,
    counsellor_leg   uuid,
    billing          text NOT NULL CHECK (billing IN ('prepaid', 'postpaid')),
    rate_yen_per_min integer NOT NULL,
    free_seconds     integer NOT NULL DEFAULT 0,
    minimum_charge_yen integer NOT NULL DEFAULT 0,
    state            text NOT NULL CHECK (state IN ('hunting', 'talking', 'ended')),
    created_us       bigint NOT NULL,           -- FreeSWITCH channel creation, µs
    answer_us        bigint,                    -- counsellor answered (bridge), µs
    end_us           bigint,                    -- talk ended, µs
    deadline_us      bigint,                    -- the latest cutoff armed for this call, µs
    billed_seconds   integer,
    charge_yen       bigint,
    hangup_cause     text,
    ended_by         text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz
);
CREATE INDEX call_records_live_idx ON call_records(caller_id) WHERE state <> 'ended';
CREATE INDEX call_records_node_idx ON call_records(node_id) WHERE state <> 'ended';
CREATE INDEX call_records_tenant_idx ON call_records(tenant_id, created_at);
