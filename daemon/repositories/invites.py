"""One-time links that set a console user's password (a new customer's first login).

The link carries a random token; only its SHA-256 is stored.  Redeeming is one
statement that marks the link used only if it is unused and unexpired, so two
tabs (or a replayed request) cannot both set a password with it.  A new link
for the same user retires the earlier ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from daemon.postgres.errors import Conflict, NotFound
from daemon.postgres.types import Conn, Queryable
from daemon.repositories import console_users
from daemon.repositories.tokens import digest

LIFETIME = timedelta(days=7)
# The hash of a user who has not set a password yet: argon2 cannot parse it, so no password matches it.
NO_PASSWORD = "!invited"


@dataclass(frozen=True, slots=True)
class Invitee:
    user_id: int
    login: str
    display_name: str
    role: str
    tenant_id: int | None
    expires_at: datetime


async def new_user(
    conn: Conn, login: str, role: str, tenant_id: int | None, display_name: str = "", email: str = ""
) -> int:
    """A console user who cannot log in until they set a password through their link (mailed to ``email``)."""
    console_users.check_role(role, tenant_id)
    if not console_users.LOGIN.fullmatch(login):
        raise console_users.Refused(
            "a login is 3 to 64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit"
        )
    try:
        user_id: int = await conn.fetchval(
            "INSERT INTO console_users (login, display_name, role, tenant_id, password_hash, email)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            login,
            display_name,
            role,
            tenant_id,
            NO_PASSWORD,
            email,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"the login {login!r} is taken") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"no tenant with id {tenant_id}") from None
    return user_id


async def address(pool: Queryable, user_id: int) -> str:
    """Where ``user_id``'s links are e-mailed; empty: nowhere (the link is passed on by hand)."""
    found: str | None = await pool.fetchval("SELECT email FROM console_users WHERE id = $1", user_id)
    return found or ""


async def create(conn: Conn, user_id: int, lifetime: timedelta = LIFETIME) -> tuple[str, datetime]:
    """A new link for ``user_id`` (earlier unused ones stop working); returns the token and its expiry."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "UPDATE console_invites SET expires_at = greatest(created_at + interval '1 microsecond', now())"
        " WHERE user_id = $1 AND used_at IS NULL AND expires_at > now()",
        user_id,
    )
    expires: datetime = await conn.fetchval(
        "INSERT INTO console_invites (token_sha256, user_id, expires_at)"
        " VALUES ($1, $2, now() + $3::interval) RETURNING expires_at",
        digest(token),
        user_id,
        lifetime,
    )
    return token, expires


_VALID = (
    "SELECT u.id, u.login, u.display_name, u.role, u.tenant_id, i.expires_at"
    " FROM console_invites i JOIN console_users u ON u.id = i.user_id"
    " WHERE i.token_sha256 = $1 AND i.used_at IS NULL AND i.expires_at > now() AND u.disabled_at IS NULL"
)


def _invitee(row: asyncpg.Record) -> Invitee:
    return Invitee(row["id"], row["login"], row["display_name"], row["role"], row["tenant_id"], row["expires_at"])


async def valid(pool: Queryable, token: str) -> Invitee | None:
    """Whom an unused, unexpired link is for; None for anything else (unknown, used, expired)."""
    row = await pool.fetchrow(_VALID, digest(token))
    return None if row is None else _invitee(row)


async def redeem(conn: Conn, token: str, password_hash: str) -> Invitee | None:
    """Use the link once: the user's password becomes ``password_hash``.  None if it cannot be used."""
    row = await conn.fetchrow(
        "UPDATE console_invites i SET used_at = now() FROM console_users u"
        " WHERE u.id = i.user_id AND i.token_sha256 = $1 AND i.used_at IS NULL AND i.expires_at > now()"
        " AND u.disabled_at IS NULL"
        " RETURNING u.id, u.login, u.display_name, u.role, u.tenant_id, i.expires_at",
        digest(token),
    )
    if row is None:
        return None
    await conn.execute("UPDATE console_users SET password_hash = $2 WHERE id = $1", row["id"], password_hash)
    await conn.execute("DELETE FROM console_sessions WHERE user_id = $1", row["id"])
    return _invitee(row)
