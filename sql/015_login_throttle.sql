-- Console log-in: a back-off per (address, login) and per address instead of locking the account.
--
-- The lock-out of 012 let a stranger lock any user out by typing five wrong
-- passwords.  Now attempts are counted per key: the client address with the
-- login typed (its SHA-256, known or not: the table never says which logins
-- exist), and the address alone (login_sha256 = '').  Past a key's free
-- attempts each further one waits twice as long as the last, up to a cap; the
-- right password from another address is never held up.  A row is reserved
-- with one INSERT … ON CONFLICT DO UPDATE … WHERE wait_until <= now(), so
-- parallel attempts and other nodes all count (daemon/db/login_throttle.py).
CREATE TABLE console_login_throttle (
    address       text NOT NULL CHECK (length(address) <= 64),
    login_sha256  bytea NOT NULL CHECK (length(login_sha256) IN (0, 32)),
    attempts      integer NOT NULL CHECK (attempts >= 0),
    wait_until    timestamptz NOT NULL,
    last_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (address, login_sha256)
);
CREATE INDEX console_login_throttle_login_idx ON console_login_throttle(login_sha256);
CREATE INDEX console_login_throttle_last_idx ON console_login_throttle(last_at);

-- The per-account lock-out is gone: its counter and its deadline mean nothing any more.
ALTER TABLE console_users DROP COLUMN failed_logins, DROP COLUMN locked_until;
