-- Counsellors on their own: a console login of their own, duty by phone with a PIN, and their pay.
--
-- 1. A console user of role 'counsellor' is one counsellor of the operator's tenant
--    (made by the operator); deleting the counsellor deletes the login.
-- 2. A number of product 'duty' is the tenant's duty line: a counsellor calls it from
--    their registered phone (counsellors.phone_number as caller ID), keys their PIN
--    and goes on or off duty.  The PIN is kept as an argon2 hash, never as typed.
-- 3. A counsellor's pay rate, with history: a percent of what the caller was charged,
--    or yen per billed minute.  A rate applies to calls from its date (Asia/Tokyo) on;
--    the operator's commission is the charge less the pay.

-- 1 -----------------------------------------------------------------------------
ALTER TABLE console_users DROP CONSTRAINT console_users_role_check;
ALTER TABLE console_users
    ADD CONSTRAINT console_users_role_check CHECK (role IN ('admin', 'operator', 'ivr', 'counsellor')),
    ADD COLUMN counsellor_id bigint UNIQUE REFERENCES counsellors(id) ON DELETE CASCADE,
    ADD CONSTRAINT console_users_counsellor_by_role CHECK ((role = 'counsellor') = (counsellor_id IS NOT NULL));

-- 2 -----------------------------------------------------------------------------
ALTER TABLE numbers DROP CONSTRAINT numbers_product_check;
ALTER TABLE numbers ADD CONSTRAINT numbers_product_check CHECK (product IN ('coaching', 'ivr', 'duty'));

ALTER TABLE counsellors ADD COLUMN duty_pin_hash text CHECK (length(duty_pin_hash) BETWEEN 1 AND 500);
CREATE INDEX counsellors_phone_idx ON counsellors(tenant_id, phone_number) WHERE phone_number IS NOT NULL;

-- 3 -----------------------------------------------------------------------------
CREATE TABLE counsellor_pay_rates (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    counsellor_id  bigint NOT NULL REFERENCES counsellors(id) ON DELETE CASCADE,
    effective_from date NOT NULL,                 -- a date in Asia/Tokyo
    kind           text NOT NULL CHECK (kind IN ('percent', 'per_minute')),
    value          integer NOT NULL CHECK (value >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'percent' OR value <= 100),
    CHECK (kind <> 'per_minute' OR value <= 100000),
    UNIQUE (counsellor_id, effective_from)
);
CREATE INDEX counsellor_pay_rates_tenant_idx ON counsellor_pay_rates(tenant_id);
CREATE INDEX call_records_counsellor_idx ON call_records(counsellor_id, created_at) WHERE counsellor_id IS NOT NULL;
