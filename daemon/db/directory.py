"""Who is calling and whom they want: callers and counsellor groups at call time."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from daemon.billing.charges import Tariff
from daemon.billing.limits import MAX_BALANCE_YEN
from daemon.db.types import Queryable


@dataclass(frozen=True, slots=True)
class Caller:
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
class Group:
    id: int
    code: str
    name: str
    tariff: Tariff
    strategy: str
    ring_timeout_s: int
    max_missed: int
    wrapup_seconds: int
    warning_seconds: int


_CALLER_COLUMNS = "c.id, c.name, c.billing, c.balance_yen, c.credit_limit_yen"


def _caller(row: asyncpg.Record | None) -> Caller | None:
    if row is None:
        return None
    return Caller(row["id"], row["name"], row["billing"], row["balance_yen"], row["credit_limit_yen"])


async def caller_by_number(pool: asyncpg.Pool, tenant_id: int, number: str) -> Caller | None:
    return _caller(
        await pool.fetchrow(
            f"SELECT {_CALLER_COLUMNS} FROM caller_numbers n JOIN callers c ON c.id = n.caller_id"
            " WHERE n.tenant_id = $1 AND n.number = $2",
            tenant_id,
            number,
        )
    )


async def caller_by_pin(pool: asyncpg.Pool, tenant_id: int, pin: str) -> Caller | None:
    return _caller(
        await pool.fetchrow(
            f"SELECT {_CALLER_COLUMNS} FROM callers c WHERE c.tenant_id = $1 AND c.pin = $2", tenant_id, pin
        )
    )


async def caller(conn: Queryable, caller_id: int) -> Caller | None:
    return _caller(await conn.fetchrow(f"SELECT {_CALLER_COLUMNS} FROM callers c WHERE c.id = $1", caller_id))


async def group_by_code(pool: asyncpg.Pool, tenant_id: int, code: str) -> Group | None:
    row = await pool.fetchrow("SELECT * FROM counsellor_groups WHERE tenant_id = $1 AND code = $2", tenant_id, code)
    if row is None:
        return None
    return Group(
        row["id"],
        row["code"],
        row["name"],
        Tariff(row["rate_yen_per_min"], row["free_seconds"], row["minimum_charge_yen"]),
        row["strategy"],
        row["ring_timeout_s"],
        row["max_missed"],
        row["wrapup_seconds"],
        row["warning_seconds"],
    )
