"""Console users in the database: hashing, lock-out, sessions (real PostgreSQL)."""

from __future__ import annotations

import asyncpg
import pytest

from daemon.postgres.errors import Conflict
from daemon.repositories import console_sessions, console_users, tenants
from daemon.repositories.console_users import Outcome

PASSWORD = "long enough password"


@pytest.mark.production_password_cost  # the stored hash, as the daemon's own parameters make it
async def test_the_password_is_stored_as_an_argon2_hash(pool: asyncpg.Pool) -> None:
    user_id = await console_users.create(pool, "admin1", PASSWORD, "admin", None)
    stored = await pool.fetchval("SELECT password_hash FROM console_users WHERE id = $1", user_id)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert (await console_users.authenticate(pool, "admin1", PASSWORD))[0] is Outcome.OK


async def test_rules_for_logins_passwords_and_roles(pool: asyncpg.Pool) -> None:
    tenant = await tenants.create_tenant(pool, "shop", 1)
    with pytest.raises(console_users.Refused, match="10 to 200"):
        await console_users.create(pool, "op1", "short", "operator", tenant)
    with pytest.raises(console_users.Refused, match="belongs to no tenant"):
        await console_users.create(pool, "op1", PASSWORD, "operator", None)
    with pytest.raises(console_users.Refused, match="a login is"):
        await console_users.create(pool, "Op\r\n1", PASSWORD, "operator", tenant)
    await console_users.create(pool, "op1", PASSWORD, "operator", tenant)
    with pytest.raises(Conflict):
        await console_users.create(pool, "op1", PASSWORD, "operator", tenant)


async def test_no_number_of_wrong_passwords_locks_the_account(pool: asyncpg.Pool) -> None:
    """Guessing is slowed per address (tests/console/test_throttle.py); the account itself never locks."""
    await console_users.create(pool, "admin1", PASSWORD, "admin", None)
    outcomes = [(await console_users.authenticate(pool, "admin1", "wrong!"))[0] for _ in range(8)]
    assert outcomes == [Outcome.WRONG] * 8
    outcome, user = await console_users.authenticate(pool, "admin1", PASSWORD)
    assert outcome is Outcome.OK and user is not None and user.login == "admin1"
    assert await console_users.authenticate(pool, "nobody", PASSWORD) == (Outcome.WRONG, None)


async def test_a_session_ends_at_logout_at_expiry_and_when_the_user_is_disabled(pool: asyncpg.Pool) -> None:
    user_id = await console_users.create(pool, "admin1", PASSWORD, "admin", None)
    token = await console_sessions.start(pool, user_id)
    session = await console_sessions.resume(pool, token)
    assert session is not None and session.user.login == "admin1" and len(session.csrf_token) > 30
    await console_sessions.end(pool, token)
    assert await console_sessions.resume(pool, token) is None

    expired = await console_sessions.start(pool, user_id)
    await pool.execute("UPDATE console_sessions SET expires_at = now() - interval '1 second'")
    assert await console_sessions.resume(pool, expired) is None
    assert await console_sessions.purge_expired(pool) == 1

    live = await console_sessions.start(pool, user_id)
    await pool.execute("UPDATE console_users SET disabled_at = now()")
    assert await console_sessions.resume(pool, live) is None
    assert (await console_users.authenticate(pool, "admin1", PASSWORD))[0] is Outcome.DISABLED


async def test_no_session_outlives_its_absolute_limit(pool: asyncpg.Pool) -> None:
    user_id = await console_users.create(pool, "admin1", PASSWORD, "admin", None)
    token = await console_sessions.start(pool, user_id)
    await pool.execute("UPDATE console_sessions SET created_at = now() - interval '12 hours 1 second'")
    assert await console_sessions.resume(pool, token) is None
