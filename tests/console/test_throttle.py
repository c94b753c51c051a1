"""The log-in back-off: the rule, and its atomic application in PostgreSQL (parallel attempts, other nodes)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from daemon.repositories import login_throttle
from daemon.repositories.login_throttle import Key
from daemon.rules.login_backoff import BY_ADDRESS, BY_LOGIN, Backoff, client_key, login_key

RULE = Backoff(free=5, base_s=30.0, max_s=900.0, forget_s=86_400.0)


def test_the_wait_doubles_past_the_free_attempts_up_to_the_cap() -> None:
    assert [RULE.wait_after(n) for n in range(1, 12)] == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]
    assert RULE.wait_after(10**6) == 900  # no overflow however long a guesser goes on
    assert BY_LOGIN.free < BY_ADDRESS.free  # one address may mistype several logins before it waits


def test_an_ipv6_client_is_counted_by_its_64_and_ipv4_by_itself() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("192.0.2.1") == client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("::ffff:192.0.2.2") != client_key("::ffff:192.0.2.1")  # not one ::ffff:0:0/64 for all
    assert client_key(None) == "unknown"
    assert login_key("op-alpha") != login_key("op-alphb") and len(login_key("x" * 10_000)) == 32


def keys(address: str, login: str) -> list[Key]:
    return [Key(address, b"", BY_ADDRESS), Key(address, login_key(login), BY_LOGIN)]


async def test_parallel_attempts_take_exactly_the_free_places(pool: asyncpg.Pool) -> None:
    verdicts = await asyncio.gather(*(login_throttle.attempt(pool, keys("192.0.2.1", "op")) for _ in range(14)))
    assert sum(v.allowed for v in verdicts) == BY_LOGIN.free
    refused = [v for v in verdicts if not v.allowed]
    assert refused and all(25 <= v.wait_s <= 30 for v in refused)
    # another address, the same login: not held up
    assert (await login_throttle.attempt(pool, keys("192.0.2.2", "op"))).allowed


async def test_the_database_waits_as_the_rule_says_and_refusals_do_not_lengthen_it(pool: asyncpg.Pool) -> None:
    async def wait_row() -> float:
        wait: float = await pool.fetchval(
            "SELECT extract(epoch FROM wait_until - last_at)::float8 FROM console_login_throttle"
            " WHERE login_sha256 = $1",
            login_key("op"),
        )
        return wait

    for n in range(1, 9):
        assert (await login_throttle.attempt(pool, keys("192.0.2.1", "op"))).allowed
        assert await wait_row() == pytest.approx(BY_LOGIN.wait_after(n), abs=0.01)
        before = await pool.fetchval(
            "SELECT wait_until FROM console_login_throttle WHERE login_sha256 = $1", login_key("op")
        )
        if BY_LOGIN.wait_after(n):
            assert not (await login_throttle.attempt(pool, keys("192.0.2.1", "op"))).allowed
            after = await pool.fetchval(
                "SELECT wait_until FROM console_login_throttle WHERE login_sha256 = $1", login_key("op")
            )
            assert after == before  # the refused attempt changed nothing
        await pool.execute("UPDATE console_login_throttle SET wait_until = now() - interval '1 ms'")  # time passes
    # the address counted the 8 taken attempts only, not the refused ones
    assert await pool.fetchval("SELECT attempts FROM console_login_throttle WHERE login_sha256 = ''") == 8


async def test_an_address_spraying_many_logins_waits_for_every_login(pool: asyncpg.Pool) -> None:
    verdicts = await asyncio.gather(
        *(login_throttle.attempt(pool, keys("192.0.2.1", f"guess-{i}")) for i in range(BY_ADDRESS.free + 6))
    )
    assert sum(v.allowed for v in verdicts) == BY_ADDRESS.free
    assert not (await login_throttle.attempt(pool, keys("192.0.2.1", "a-new-name"))).allowed
    # a refusal by the address rolled the login's own count back: no row for the logins refused
    assert (
        await pool.fetchval("SELECT count(*) FROM console_login_throttle WHERE login_sha256 <> ''") == BY_ADDRESS.free
    )


async def test_the_right_password_starts_that_login_afresh_and_gives_the_address_its_attempt_back(
    pool: asyncpg.Pool,
) -> None:
    for _ in range(BY_LOGIN.free - 1):
        assert (await login_throttle.attempt(pool, keys("192.0.2.1", "op"))).allowed
    assert (await login_throttle.attempt(pool, keys("192.0.2.1", "op"))).allowed
    await login_throttle.succeeded(pool, "192.0.2.1", login_key("op"))
    assert (
        await pool.fetchval("SELECT count(*) FROM console_login_throttle WHERE login_sha256 = $1", login_key("op")) == 0
    )
    assert (
        await pool.fetchval("SELECT attempts FROM console_login_throttle WHERE login_sha256 = ''") == BY_LOGIN.free - 1
    )
    assert (await login_throttle.attempt(pool, keys("192.0.2.1", "op"))).allowed


async def test_lift_and_purge(pool: asyncpg.Pool) -> None:
    for address in ("192.0.2.1", "192.0.2.2"):
        for _ in range(BY_LOGIN.free):
            await login_throttle.attempt(pool, keys(address, "op"))
    assert await login_throttle.waiting(pool, login_key("op")) == 2
    assert await login_throttle.lift(pool, login_key("op")) == 2
    assert await login_throttle.waiting(pool, login_key("op")) == 0
    assert (await login_throttle.attempt(pool, keys("192.0.2.1", "op"))).allowed
    await pool.execute("UPDATE console_login_throttle SET last_at = now() - interval '2 days'")
    await login_throttle.purge(pool, 86_400.0)
    assert await pool.fetchval("SELECT count(*) FROM console_login_throttle") == 0
