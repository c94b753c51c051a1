-- Where a console user's one-time link is e-mailed (an invitation, and a new link
-- later).  Empty: the link is only shown to the staff who invited, to pass on.
ALTER TABLE console_users
    ADD COLUMN email text NOT NULL DEFAULT ''
        CHECK (email = '' OR (length(email) <= 254 AND email ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'));
