"""Console sessions, kept server-side: the cookie carries a random token, the table its SHA-256.

A session ends after :data:`IDLE_SECONDS` without a request, after
:data:`MAX_SECONDS` in any case, at logout, and when the user's password
changes.  Each session has its own CSRF token, which every form sends back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import asyncpg

from daemon.repositories import console_users
from daemon.repositories.tokens import digest

IDLE_SECONDS = 2 * 3600
MAX_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    user: console_users.User
    csrf_token: str


async def start(pool: asyncpg.Pool, user_id: int) -> str:
    """A new session for ``user_id``; returns the cookie's token (shown to nobody else)."""
    token = secrets.token_urlsafe(32)
    await pool.execute(
        "INSERT INTO console_sessions (token_sha256, user_id, csrf_token, expires_at)"
        " VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        digest(token),
        user_id,
        secrets.token_urlsafe(32),
        float(IDLE_SECONDS),
    )
    return token


async def resume(pool: asyncpg.Pool, token: str) -> Session | None:
    """The live session behind ``token`` (its idle clock restarted), or None."""
    row = await pool.fetchrow(
        "UPDATE console_sessions s SET last_seen = now(),"
        " expires_at = least(s.created_at + make_interval(secs => $2), now() + make_interval(secs => $3))"
        " FROM console_users u"
        " WHERE s.token_sha256 = $1 AND s.expires_at > now() AND s.created_at + make_interval(secs => $2) > now()"
        " AND u.id = s.user_id AND u.disabled_at IS NULL"
        " RETURNING s.csrf_token, s.user_id",
        digest(token),
        float(MAX_SECONDS),
        float(IDLE_SECONDS),
    )
    if row is None:
        return None
    return Session(await console_users.get(pool, row["user_id"]), row["csrf_token"])


async def end(pool: asyncpg.Pool, token: str) -> None:
    await pool.execute("DELETE FROM console_sessions WHERE token_sha256 = $1", digest(token))


async def purge_expired(pool: asyncpg.Pool) -> int:
    status: str = await pool.execute("DELETE FROM console_sessions WHERE expires_at <= now()")
    return int(status.rsplit(maxsplit=1)[-1])
