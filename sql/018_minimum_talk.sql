-- Hunting that knows the caller's money: a prepaid caller (or a postpaid one with a credit limit)
-- is offered only to members whose rate the money covers for at least this much talk.
-- Per group, like the tariff it protects; one minute unless the operator says otherwise.
ALTER TABLE counsellor_groups
    ADD COLUMN minimum_talk_seconds integer NOT NULL DEFAULT 60
        CHECK (minimum_talk_seconds BETWEEN 1 AND 3600);
