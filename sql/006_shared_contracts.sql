-- Shared ground for the products that build on the call core (IVR, forwarding,
-- customer guidance, invoices).  Each product's own migration extends these.

-- The forwarding add-on of a tenant's contract (+10,000 yen a month whatever the
-- lines).  A flow with a `forward` node is refused while it is off.
ALTER TABLE line_contracts ADD COLUMN forwarding boolean NOT NULL DEFAULT false;

-- Customer guidance: one named item per tenant (an upload or typed text, turned
-- into telephony audio).  `path` is the processed 8 kHz WAV that FreeSWITCH plays.
CREATE TABLE guidance (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200 AND name !~ '[[:cntrl:]]'),
    path        text NOT NULL CHECK (path !~ '[[:cntrl:][:space:]]'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

-- One row per forwarded attempt of an IVR call (who was rung, outcome, talk,
-- charge).  Written before ringing, finished at the end; the monthly invoice sums
-- `charge_yen` of the month (Asia/Tokyo) by `answer_us`.
CREATE TABLE forward_legs (
    leg_uuid       uuid PRIMARY KEY,                 -- origination_uuid of the forwarded leg
    call_uuid      uuid NOT NULL,                    -- the caller's (inbound) leg
    tenant_id      bigint NOT NULL REFERENCES tenants(id),
    node_id        text NOT NULL,
    number         text NOT NULL CHECK (number ~ '^[0-9]{6,15}$'),
    state          text NOT NULL CHECK (state IN ('ringing', 'talking', 'ended')),
    outcome        text,                             -- answered, busy, no_answer, failed, caller_hangup
    created_us     bigint NOT NULL,
    answer_us      bigint,
    end_us         bigint,
    billsec        integer,
    unit_seconds   integer NOT NULL CHECK (unit_seconds IN (1, 30, 60)),
    yen_per_unit   integer NOT NULL CHECK (yen_per_unit BETWEEN 0 AND 100000),
    charge_yen     bigint CHECK (charge_yen >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz
);
CREATE INDEX forward_legs_call_idx ON forward_legs(call_uuid);
CREATE INDEX forward_legs_tenant_idx ON forward_legs(tenant_id, answer_us);
CREATE INDEX forward_legs_open_idx ON forward_legs(node_id) WHERE state <> 'ended';
