"""Callers (end users): who they are, how they pay, their numbers; one tenant at a time.

Two views of a caller: :class:`Caller` is what a call needs (their money),
:class:`CallerRow` what the operator manages.  The balance is the ledger's
(:mod:`daemon.repositories.ledger`); nothing here changes it.  Every statement carries
the tenant id, so an id of another tenant is simply "not found".
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import asyncpg

from daemon.postgres.errors import Conflict, NotFound
from daemon.postgres.types import Queryable
from daemon.rules.billing.limits import MAX_BALANCE_YEN
from daemon.rules.numbers import digits_only, strip_country_code


class CallerNotFound(NotFound):
    """No such caller in this tenant (or deleted meanwhile)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """A caller as a call sees them: their money."""

    id: int
    name: str
    billing: str  # prepaid | postpaid
    balance_yen: int
    credit_limit_yen: int | None

    @property
    def limited(self) -> bool:
        """Does this caller's money bound the talk time?"""
        return self.billing == "prepaid" or self.credit_limit_yen is not None

    @property
    def available_yen(self) -> int:
        """Money the caller can still talk for (prepaid balance, or credit left)."""
        if self.billing == "prepaid":
            return self.balance_yen
        return (self.credit_limit_yen or 0) + self.balance_yen

    @property
    def floor_yen(self) -> int:
        """The lowest the balance may be taken by a charge or an adjustment.

        Prepaid: 0.  Postpaid with a credit limit: minus the limit.  Postpaid
        without one: minus the most anyone may owe (``MAX_BALANCE_YEN``).
        """
        if self.billing == "prepaid":
            return 0
        if self.credit_limit_yen is not None:
            return -self.credit_limit_yen
        return -MAX_BALANCE_YEN


@dataclass(frozen=True, slots=True)
class CallerRow:
    """A caller as the operator manages them (the PIN itself is never read back)."""

    id: int
    name: str
    numbers: tuple[str, ...]
    has_pin: bool
    billing: str
    payment_method: str
    credit_limit_yen: int | None
    balance_yen: int
    furigana: str = ""  # フリガナ / 振込名義: how their bank transfers name them


# -- at call time ----------------------------------------------------------------

_MONEY_COLUMNS = "c.id, c.name, c.billing, c.balance_yen, c.credit_limit_yen"


def _caller(row: asyncpg.Record | None) -> Caller | None:
    if row is None:
        return None
    return Caller(row["id"], row["name"], row["billing"], row["balance_yen"], row["credit_limit_yen"])


async def caller_by_number(pool: asyncpg.Pool, tenant_id: int, number: str) -> Caller | None:
    return _caller(
        await pool.fetchrow(
            f"SELECT {_MONEY_COLUMNS} FROM caller_numbers n JOIN callers c ON c.id = n.caller_id"
            " WHERE n.tenant_id = $1 AND n.number = $2",
            tenant_id,
            number,
        )
    )


async def caller_by_pin(pool: asyncpg.Pool, tenant_id: int, pin: str) -> Caller | None:
    return _caller(
        await pool.fetchrow(
            f"SELECT {_MONEY_COLUMNS} FROM callers c WHERE c.tenant_id = $1 AND c.pin = $2", tenant_id, pin
        )
    )


async def caller(conn: Queryable, caller_id: int) -> Caller | None:
    return _caller(await conn.fetchrow(f"SELECT {_MONEY_COLUMNS} FROM callers c WHERE c.id = $1", caller_id))


# -- the operator's ----------------------------------------------------------------

_ROW_COLUMNS = (
    "c.id, c.name, c.pin IS NOT NULL AS has_pin, c.billing, c.payment_method, c.credit_limit_yen, c.balance_yen,"
    " c.furigana, COALESCE((SELECT array_agg(n.number ORDER BY n.number) FROM caller_numbers n"
    " WHERE n.caller_id = c.id), '{}') AS numbers"
)


def _row(r: asyncpg.Record) -> CallerRow:
    return CallerRow(
        r["id"],
        r["name"],
        tuple(r["numbers"]),
        r["has_pin"],
        r["billing"],
        r["payment_method"],
        r["credit_limit_yen"],
        r["balance_yen"],
        r["furigana"],
    )


def _rule(constraint: str | None) -> str:
    if constraint in ("callers_check2", "callers_balance_yen_check"):
        return "a prepaid balance cannot be negative: settle what is owed before switching to prepaid"
    if constraint == "callers_check":
        return "card payers are postpaid"
    if constraint == "callers_check1":
        return "a credit limit applies to postpaid callers only"
    return f"the caller's settings break a rule ({constraint})"


async def create(
    pool: asyncpg.Pool,
    tenant_id: int,
    *,
    name: str,
    billing: str,
    payment_method: str,
    numbers: list[str] | None = None,
    pin: str | None = None,
    credit_limit_yen: int | None = None,
    furigana: str = "",
) -> int:
    async with pool.acquire() as conn, conn.transaction():
        try:
            caller_id: int = await conn.fetchval(
                "INSERT INTO callers (tenant_id, name, billing, payment_method, pin, credit_limit_yen, furigana)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                tenant_id,
                name,
                billing,
                payment_method,
                pin,
                credit_limit_yen,
                furigana,
            )
            await conn.executemany(
                "INSERT INTO caller_numbers (tenant_id, number, caller_id) VALUES ($1, $2, $3)",
                [(tenant_id, number, caller_id) for number in numbers or []],
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"caller number or PIN already registered ({exc.constraint_name})") from None
        except asyncpg.CheckViolationError as exc:
            raise ValueError(f"invalid caller: {_rule(exc.constraint_name)}") from None
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(f"no tenant {tenant_id}") from None
    return caller_id


async def get(pool: asyncpg.Pool, tenant_id: int, caller_id: int) -> CallerRow:
    row = await pool.fetchrow(
        f"SELECT {_ROW_COLUMNS} FROM callers c WHERE c.tenant_id = $1 AND c.id = $2", tenant_id, caller_id
    )
    if row is None:
        raise NotFound(f"no caller {caller_id}")
    return _row(row)


async def list_all(pool: asyncpg.Pool, tenant_id: int) -> list[CallerRow]:
    rows = await pool.fetch(f"SELECT {_ROW_COLUMNS} FROM callers c WHERE c.tenant_id = $1 ORDER BY c.id", tenant_id)
    return [_row(r) for r in rows]


async def search(pool: asyncpg.Pool, tenant_id: int, text: str, limit: int = 100) -> list[CallerRow]:
    """Callers whose name contains ``text`` or one of whose numbers contains its digits (+81… as 0…)."""
    text = unicodedata.normalize("NFKC", text).strip()
    digits = strip_country_code(text.replace("-", "").replace(" ", ""))
    rows = await pool.fetch(
        f"SELECT {_ROW_COLUMNS} FROM callers c WHERE c.tenant_id = $1 AND (c.name ILIKE '%' || $2 || '%'"
        " OR ($3 <> '' AND EXISTS (SELECT 1 FROM caller_numbers n WHERE n.caller_id = c.id"
        " AND strpos(n.number, $3) > 0))) ORDER BY c.id LIMIT $4",
        tenant_id,
        _like_literal(text),
        digits if digits_only(digits) else "",
        limit,
    )
    return [_row(r) for r in rows]


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def set_pin(pool: asyncpg.Pool, tenant_id: int, caller_id: int, pin: str | None) -> None:
    """A new PIN (None: none); the PIN itself is never read back."""
    try:
        status = await pool.execute(
            "UPDATE callers SET pin = $3 WHERE tenant_id = $1 AND id = $2", tenant_id, caller_id, pin
        )
    except asyncpg.UniqueViolationError:
        raise Conflict("that PIN is already registered to another caller") from None
    if status != "UPDATE 1":
        raise NotFound(f"no caller {caller_id}")


async def update(
    pool: asyncpg.Pool,
    tenant_id: int,
    caller_id: int,
    *,
    name: str,
    billing: str,
    payment_method: str,
    numbers: list[str],
    pin: str | None,
    credit_limit_yen: int | None,
    keep_pin: bool = False,
    furigana: str = "",
) -> None:
    """Replace a caller's settings and numbers in one transaction (the balance is the ledger's).

    ``keep_pin``: leave the PIN as it is (the console edits settings and resets PINs apart).
    """
    async with pool.acquire() as conn, conn.transaction():
        try:
            status = await conn.execute(
                "UPDATE callers SET name = $3, pin = CASE WHEN $8 THEN pin ELSE $4 END, billing = $5,"
                " payment_method = $6, credit_limit_yen = $7, furigana = $9 WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                caller_id,
                name,
                pin,
                billing,
                payment_method,
                credit_limit_yen,
                keep_pin,
                furigana,
            )
            if status != "UPDATE 1":
                raise NotFound(f"no caller {caller_id}")
            await conn.execute("DELETE FROM caller_numbers WHERE caller_id = $1", caller_id)
            await conn.executemany(
                "INSERT INTO caller_numbers (tenant_id, number, caller_id) VALUES ($1, $2, $3)",
                [(tenant_id, number, caller_id) for number in numbers],
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"caller number or PIN already registered ({exc.constraint_name})") from None
        except asyncpg.CheckViolationError as exc:
            raise ValueError(_rule(exc.constraint_name)) from None


async def delete(pool: asyncpg.Pool, tenant_id: int, caller_id: int) -> None:
    try:
        status = await pool.execute("DELETE FROM callers WHERE tenant_id = $1 AND id = $2", tenant_id, caller_id)
    except asyncpg.ForeignKeyViolationError:
        raise Conflict(
            f"caller {caller_id} has ledger or call history, which is kept; remove their numbers instead"
        ) from None
    if status != "DELETE 1":
        raise NotFound(f"no caller {caller_id}")
