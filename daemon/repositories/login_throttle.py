"""Console log-in attempts, counted in PostgreSQL so that parallel attempts and every node count.

The rule (free attempts, doubling wait, cap) is :mod:`daemon.rules.login_backoff`;
here it is applied.  An attempt *reserves* its place before the password is
checked: one ``INSERT … ON CONFLICT DO UPDATE … WHERE wait_until <=
clock_timestamp()`` per key, which row-locks the key (the clock, not ``now()``:
an attempt that queued behind another must compare with the time it got the
lock, not with when its transaction began), so of fourteen parallel attempts exactly the
free ones pass and the rest are refused without a password check.  Both keys
of an attempt (the address, then address + login: always in that order, so two
attempts never deadlock) are reserved in one transaction; a refusal by either
rolls both back, so refused attempts never lengthen the wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from daemon.postgres.types import Queryable

MAX_DOUBLINGS = 30  # as daemon.rules.login_backoff: 2**30 times the base is past any cap; keeps power() finite


class Rule(Protocol):
    @property
    def free(self) -> int: ...
    @property
    def base_s(self) -> float: ...
    @property
    def max_s(self) -> float: ...
    @property
    def forget_s(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Key:
    address: str
    login_sha256: bytes  # b"": the address as a whole
    rule: Rule


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    wait_s: float = 0.0  # refused: seconds until the next attempt is taken


def _wait(attempts: str) -> str:
    """SQL for the wait after ``attempts`` ($3 free, $4 base, $5 cap), as Backoff.wait_after computes it."""
    return (
        f"make_interval(secs => CASE WHEN {attempts} < $3::int THEN 0"
        f" ELSE least($5::float8, $4::float8 * power(2, least({attempts} - $3::int, {MAX_DOUBLINGS}))) END)"
    )


_COUNT = "CASE WHEN t.last_at < clock_timestamp() - make_interval(secs => $6::float8) THEN 1 ELSE t.attempts + 1 END"
_RESERVE = (
    "INSERT INTO console_login_throttle AS t (address, login_sha256, attempts, wait_until, last_at)"
    f" VALUES ($1, $2, 1, clock_timestamp() + {_wait('1')}, clock_timestamp())"
    " ON CONFLICT (address, login_sha256) DO UPDATE"
    f" SET attempts = {_COUNT}, wait_until = clock_timestamp() + {_wait(_COUNT)}, last_at = clock_timestamp()"
    " WHERE t.wait_until <= clock_timestamp()"
    " RETURNING attempts"
)


class _Refused(Exception):
    """Rolls the reservation back."""


async def attempt(pool: asyncpg.Pool, keys: Sequence[Key]) -> Verdict:
    """Take one attempt on every key, or on none (then the wait until the last of them lets one through)."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            for key in keys:
                rule = key.rule
                taken = await conn.fetchval(
                    _RESERVE, key.address, key.login_sha256, rule.free, rule.base_s, rule.max_s, rule.forget_s
                )
                if taken is None:
                    raise _Refused
    except _Refused:
        wait: float = await pool.fetchval(
            "SELECT coalesce(extract(epoch FROM max(wait_until) - now()), 0)::float8 FROM console_login_throttle"
            " WHERE (address, login_sha256) IN (SELECT * FROM unnest($1::text[], $2::bytea[]))",
            [k.address for k in keys],
            [k.login_sha256 for k in keys],
        )
        return Verdict(False, max(wait, 1.0))
    return Verdict(True)


async def succeeded(pool: asyncpg.Pool, address: str, login_sha256: bytes) -> None:
    """The right password: that login starts afresh from that address, and the address gets its attempt back."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM console_login_throttle WHERE address = $1 AND login_sha256 = $2", address, login_sha256
        )
        await conn.execute(
            "UPDATE console_login_throttle SET attempts = greatest(attempts - 1, 0)"
            " WHERE address = $1 AND login_sha256 = ''",
            address,
        )


async def waiting(pool: asyncpg.Pool, login_sha256: bytes) -> int:
    """From how many addresses this login must wait now (the admin's user page)."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM console_login_throttle WHERE login_sha256 = $1 AND wait_until > now()", login_sha256
    )
    return count


async def lift(db: Queryable, login_sha256: bytes) -> int:
    """Forget every address's attempts at this login (an admin vouched for the person); how many were held."""
    rows = await db.fetch(
        "DELETE FROM console_login_throttle WHERE login_sha256 = $1 RETURNING wait_until > now() AS held",
        login_sha256,
    )
    return sum(1 for r in rows if r["held"])


async def purge(pool: asyncpg.Pool, quiet_s: float) -> None:
    """Housekeeping: keys quiet for ``quiet_s`` start from zero anyway; drop them."""
    await pool.execute(
        "DELETE FROM console_login_throttle WHERE last_at < now() - make_interval(secs => $1::float8)", quiet_s
    )
