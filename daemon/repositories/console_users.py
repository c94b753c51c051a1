"""People who log in to the web console: platform admins, Coaching Dial operators, IVR customers, counsellors.

A counsellor's login (role ``counsellor``) is made by their operator and is
tied to one counsellor of the operator's tenant (``counsellor_id``); it is not
one of the :data:`ROLES` the platform hands out.

Passwords are kept as argon2id hashes (``argon2-cffi``); hashing runs in a
thread so a login never stalls the event loop.  There is no lock-out of the
account (a stranger could lock its owner out): guessing is slowed per address
instead (:mod:`daemon.rules.login_backoff`).  An unknown login costs one argon2
verification too, against a dummy hash made with the same parameters, and a
disabled account says so only to someone who gave its right password: the
answer and its time never tell which logins exist.
"""

from __future__ import annotations

import asyncio
import enum
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from daemon.postgres.errors import Conflict, NotFound

MIN_PASSWORD = 10
MAX_PASSWORD = 200
ROLES = ("admin", "operator", "ivr")
COUNSELLOR = "counsellor"
LOGIN = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")

_hasher = PasswordHasher()
# Verified against when the login is unknown, so an unknown name costs as long as a wrong password.
DUMMY_HASH = _hasher.hash("calld: no such user")


class Refused(ValueError):
    """A login, password or role that breaks the rules (the message says which)."""


class Outcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown login or wrong password: the same answer for both
    DISABLED = "disabled"  # only with the right password


@dataclass(frozen=True, slots=True)
class User:
    id: int
    login: str
    display_name: str
    role: str
    tenant_id: int | None
    disabled: bool
    created_at: datetime


_COLUMNS = "id, login, display_name, role, tenant_id, disabled_at IS NOT NULL AS disabled, created_at"


def _user(r: asyncpg.Record) -> User:
    return User(
        r["id"],
        r["login"],
        r["display_name"],
        r["role"],
        r["tenant_id"],
        r["disabled"],
        r["created_at"],
    )


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Refused(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def check_role(role: str, tenant_id: int | None) -> None:
    if role not in ROLES:
        raise Refused(f"role must be one of {', '.join(ROLES)}")
    if (role == "admin") != (tenant_id is None):
        raise Refused("a platform admin belongs to no tenant; operators and IVR customers to exactly one")


def _check_login(login: str) -> str:
    if not LOGIN.fullmatch(login):
        raise Refused("a login is 3 to 64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit")
    return login


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, check_password(password))


async def _verify(stored: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def create(
    pool: asyncpg.Pool, login: str, password: str, role: str, tenant_id: int | None, display_name: str = ""
) -> int:
    check_role(role, tenant_id)
    hashed = await hash_password(password)
    try:
        user_id: int = await pool.fetchval(
            "INSERT INTO console_users (login, display_name, role, tenant_id, password_hash)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            _check_login(login),
            display_name,
            role,
            tenant_id,
            hashed,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"the login {login!r} is taken") from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"no tenant with id {tenant_id}") from None
    return user_id


async def create_counsellor(
    pool: asyncpg.Pool, login: str, password: str, tenant_id: int, counsellor_id: int, display_name: str = ""
) -> int:
    """A counsellor's own login; the counsellor must be one of ``tenant_id``'s."""
    hashed = await hash_password(password)
    try:
        user_id: int | None = await pool.fetchval(
            "INSERT INTO console_users (login, display_name, role, tenant_id, counsellor_id, password_hash)"
            " SELECT $1, $2, 'counsellor', c.tenant_id, c.id, $5 FROM counsellors c"
            " WHERE c.tenant_id = $3 AND c.id = $4"
            " RETURNING id",
            _check_login(login),
            display_name,
            tenant_id,
            counsellor_id,
            hashed,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "console_users_counsellor_id_key":
            raise Conflict(f"counsellor {counsellor_id} has a login already ({exc.constraint_name})") from None
        raise Conflict(f"the login {login!r} is taken ({exc.constraint_name})") from None
    if user_id is None:
        raise NotFound(f"no counsellor {counsellor_id}")
    return user_id


async def counsellor_of(pool: asyncpg.Pool, user_id: int) -> int | None:
    """The counsellor a login belongs to (None: not a counsellor's login)."""
    found: int | None = await pool.fetchval("SELECT counsellor_id FROM console_users WHERE id = $1", user_id)
    return found


async def login_of_counsellor(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int) -> User | None:
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM console_users WHERE tenant_id = $1 AND counsellor_id = $2", tenant_id, counsellor_id
    )
    return _user(row) if row is not None else None


async def get(pool: asyncpg.Pool, user_id: int) -> User:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM console_users WHERE id = $1", user_id)
    if row is None:
        raise NotFound(f"no console user {user_id}")
    return _user(row)


async def list_all(pool: asyncpg.Pool, tenant_id: int | None = None) -> list[User]:
    """Everyone (``tenant_id`` None) or one tenant's people."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM console_users WHERE $1::bigint IS NULL OR tenant_id = $1 ORDER BY id", tenant_id
    )
    return [_user(r) for r in rows]


async def authenticate(pool: asyncpg.Pool, login: str, password: str) -> tuple[Outcome, User | None]:
    """Check a login: the same work, and the same answer, whether the login exists or not."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS}, password_hash FROM console_users WHERE login = $1", login)
    good = await _verify(row["password_hash"] if row else DUMMY_HASH, password)
    if row is None or not good:
        return Outcome.WRONG, None
    if row["disabled"]:
        return Outcome.DISABLED, None
    return Outcome.OK, _user(row)


async def set_password(pool: asyncpg.Pool, user_id: int, password: str) -> None:
    """A new password; it also ends the user's sessions."""
    hashed = await hash_password(password)
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.execute(
            "UPDATE console_users SET password_hash = $2 WHERE id = $1",
            user_id,
            hashed,
        )
        if status != "UPDATE 1":
            raise NotFound(f"no console user {user_id}")
        await conn.execute("DELETE FROM console_sessions WHERE user_id = $1", user_id)
