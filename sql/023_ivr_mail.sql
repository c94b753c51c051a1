-- IVR mail and notifications (issue 18 items 3 and 6).
--
-- Voicemail: heard or not.  Notifications of a new message, by e-mail and by
-- webhook, are rows of `notification_deliveries` written by a trigger in the same
-- transaction as the voicemail row, so a message is never stored without its
-- notifications and a daemon restart loses none: every node's courier
-- (daemon/services/notifications.py) claims due rows with SKIP LOCKED, sends,
-- and records the outcome; a failed attempt is retried with back-off.
-- Guidance by mail: the addresses a tenant's guidance may be mailed from.

ALTER TABLE voicemails ADD COLUMN heard_at timestamptz;

-- Where a tenant's voicemail notifications go.  No row: none are sent.
CREATE TABLE voicemail_notify (
    tenant_id       bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    emails          text[] NOT NULL DEFAULT '{}' CHECK (cardinality(emails) <= 10),
    webhook_url     text CHECK (webhook_url ~ '^https?://' AND length(webhook_url) <= 2000
                                AND webhook_url !~ '[[:cntrl:][:space:]]'),
    webhook_secret  text NOT NULL CHECK (webhook_secret ~ '^[0-9a-f]{64}$'),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notification_deliveries (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    voicemail_id     bigint REFERENCES voicemails(id) ON DELETE SET NULL,
    channel          text NOT NULL CHECK (channel IN ('email', 'webhook')),
    target           text NOT NULL CHECK (length(target) <= 2000 AND target !~ '[[:cntrl:]]'),
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),   -- also the claim's lease while an attempt runs
    last_status      integer,                               -- the webhook's HTTP status
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX notification_deliveries_tenant_idx ON notification_deliveries(tenant_id, created_at DESC);

CREATE FUNCTION voicemail_notifications() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notification_deliveries (tenant_id, voicemail_id, channel, target)
        SELECT NEW.tenant_id, NEW.id, 'email', address
          FROM voicemail_notify n, unnest(n.emails) AS address
         WHERE n.tenant_id = NEW.tenant_id
        UNION ALL
        SELECT NEW.tenant_id, NEW.id, 'webhook', n.webhook_url
          FROM voicemail_notify n
         WHERE n.tenant_id = NEW.tenant_id AND n.webhook_url IS NOT NULL;
    IF FOUND THEN
        PERFORM pg_notify('calld_notify', NEW.tenant_id::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER voicemails_notify AFTER INSERT ON voicemails
    FOR EACH ROW EXECUTE FUNCTION voicemail_notifications();

-- Guidance by e-mail: mail from these addresses (lower case) becomes the tenant's
-- guidance.  An address belongs to one tenant: its mail must not be guessed between two.
CREATE TABLE guidance_mail_senders (
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    address     text NOT NULL CHECK (address = lower(address) AND address ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'
                                     AND length(address) <= 254),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, address)
);
CREATE UNIQUE INDEX guidance_mail_senders_address_idx ON guidance_mail_senders(address);
