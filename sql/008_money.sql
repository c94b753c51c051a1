-- Money bounds, refunds as an operator means them, and counsellors by phone number.
--
-- 1. Bounds (daemon/billing/limits.py holds the same numbers): one ledger row
--    moves at most 100,000,000 yen; a balance lies within ±1,000,000,000 yen;
--    a credit limit is at most 1,000,000,000 yen.  So no balance, and no
--    balance plus one row, comes anywhere near bigint or JavaScript's 2**53.
--    Constraints are added NOT VALID: they hold for every new or changed row;
--    rows written before this migration (by the unbounded refund/adjustment
--    bug) are not re-checked, so the migration cannot fail on old data.
--
-- 2. Two kinds of refund, two ledger kinds:
--    * `payout`  -- money paid back to the caller out of their balance.  The
--      row is negative, and the balance after it is never below zero (a
--      postpaid caller cannot be paid out more than a positive balance either).
--    * `refund`  -- a refund of one charge.  The row is positive and names the
--      charge (`refund_of`, and the charge's `call_uuid`); all refunds of one
--      charge together never exceed what it charged.  A trigger checks this
--      with the charge row locked, so concurrent refunds cannot both pass.
--    Refund rows from before this migration have no `refund_of` (kept as is).
--
-- 3. A postpaid caller's credit limit binds every decrease of the balance
--    (charges are capped by the daemon; an adjustment or payout that would take
--    the balance below -limit is refused here too).  Lowering the limit below
--    what is already owed is allowed: the caller then cannot talk until paying.
--
-- 4. Counsellors are entered by phone number (national form); the daemon builds
--    the dial string from CALLD_COUNSELLOR_DIAL_TEMPLATE when it rings them.  A
--    raw dial string stays possible as an admin override (`dial_string`, which
--    wins when set).  Counsellors created before keep their dial string.

-- 1. bounds -------------------------------------------------------------------

ALTER TABLE ledger
    ADD CONSTRAINT ledger_amount_bounded
        CHECK (amount_yen BETWEEN -100000000 AND 100000000) NOT VALID,
    ADD CONSTRAINT ledger_balance_after_bounded
        CHECK (balance_after BETWEEN -1000000000 AND 1000000000) NOT VALID;

ALTER TABLE callers
    ADD CONSTRAINT callers_balance_bounded
        CHECK (balance_yen BETWEEN -1000000000 AND 1000000000) NOT VALID,
    ADD CONSTRAINT callers_credit_limit_bounded
        CHECK (credit_limit_yen <= 1000000000) NOT VALID;

ALTER TABLE call_records
    ADD CONSTRAINT call_records_rate_bounded
        CHECK (rate_yen_per_min BETWEEN 0 AND 100000) NOT VALID,
    ADD CONSTRAINT call_records_minimum_charge_bounded
        CHECK (minimum_charge_yen BETWEEN 0 AND 1000000) NOT VALID,
    ADD CONSTRAINT call_records_charge_bounded
        CHECK (charge_yen BETWEEN 0 AND 100000000) NOT VALID;

-- 2. payouts and refunds of a charge -----------------------------------------

ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger
    ADD CONSTRAINT ledger_kind_check
        CHECK (kind IN ('deposit', 'charge', 'adjustment', 'refund', 'payout'));

ALTER TABLE ledger ADD COLUMN refund_of bigint REFERENCES ledger(id);
ALTER TABLE ledger
    ADD CONSTRAINT ledger_payout_from_balance
        CHECK (kind <> 'payout' OR (amount_yen < 0 AND balance_after >= 0)),
    ADD CONSTRAINT ledger_refund_names_a_charge
        CHECK (kind <> 'refund' OR refund_of IS NOT NULL) NOT VALID,
    ADD CONSTRAINT ledger_refund_of_refunds_only
        CHECK (refund_of IS NULL OR kind = 'refund');
CREATE INDEX ledger_refund_of_idx ON ledger(refund_of) WHERE refund_of IS NOT NULL;

CREATE FUNCTION ledger_refund_within_charge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_charge   ledger%ROWTYPE;
    v_refunded bigint;
BEGIN
    SELECT * INTO v_charge FROM ledger WHERE id = NEW.refund_of FOR UPDATE;
    IF NOT FOUND OR v_charge.kind <> 'charge' OR v_charge.caller_id <> NEW.caller_id THEN
        RAISE EXCEPTION 'ledger row % is not a charge of caller %', NEW.refund_of, NEW.caller_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_refund_within_charge';
    END IF;
    SELECT COALESCE(sum(amount_yen), 0) INTO v_refunded
      FROM ledger WHERE refund_of = NEW.refund_of AND kind = 'refund';
    IF v_refunded + NEW.amount_yen > -v_charge.amount_yen THEN
        RAISE EXCEPTION 'refunds of charge % would total % yen; it charged % yen',
            NEW.refund_of, v_refunded + NEW.amount_yen, -v_charge.amount_yen
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_refund_within_charge';
    END IF;
    NEW.call_uuid := v_charge.call_uuid;
    RETURN NEW;
END
$$;
CREATE TRIGGER ledger_refund_within_charge BEFORE INSERT ON ledger
    FOR EACH ROW WHEN (NEW.kind = 'refund') EXECUTE FUNCTION ledger_refund_within_charge();

-- 3. the credit limit binds every decrease ------------------------------------

CREATE FUNCTION callers_within_credit_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.balance_yen < OLD.balance_yen AND NEW.credit_limit_yen IS NOT NULL
       AND NEW.balance_yen < -NEW.credit_limit_yen THEN
        RAISE EXCEPTION 'balance % yen is beyond the credit limit of % yen', NEW.balance_yen, NEW.credit_limit_yen
            USING ERRCODE = 'check_violation', CONSTRAINT = 'callers_within_credit_limit';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER callers_within_credit_limit BEFORE UPDATE OF balance_yen ON callers
    FOR EACH ROW EXECUTE FUNCTION callers_within_credit_limit();

-- 4. counsellors by phone number -----------------------------------------------

ALTER TABLE counsellors
    ADD COLUMN phone_number text CHECK (phone_number ~ '^0[1-9][0-9]{8,9}$'),
    ALTER COLUMN dial_string DROP NOT NULL,
    ADD CONSTRAINT counsellors_reachable CHECK (phone_number IS NOT NULL OR dial_string IS NOT NULL);
COMMENT ON COLUMN counsellors.dial_string IS
    'admin override: a raw FreeSWITCH dial string; NULL = built from phone_number and CALLD_COUNSELLOR_DIAL_TEMPLATE';
