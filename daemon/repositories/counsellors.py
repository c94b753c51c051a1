"""Counsellors: who they are, how to reach them, whether they are on duty; one tenant at a time.

An operator enters a counsellor's *phone number* (national form); the daemon
builds the dial string from ``CALLD_COUNSELLOR_DIAL_TEMPLATE`` (e.g.
``sofia/gateway/carrier/{number}``) each time it rings them, so changing the
carrier gateway is one setting.  A raw FreeSWITCH dial string is an admin
override (``dial_string``, checked against a conservative character set) and
wins when set: for SIP phones on a LAN, the demo's loopback UAS, or a number
the template cannot express.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from daemon.postgres.errors import Conflict, NotFound
from daemon.rules import destinations

DEFAULT_DIAL_TEMPLATE = "sofia/gateway/carrier/{number}"
TEMPLATE_PATTERN = r"^[A-Za-z0-9_./@:+=-]*\{(number|e164)\}[A-Za-z0-9_./@:+=-]*$"
"""A template: dial-string characters around one ``{number}`` (0312345678) or ``{e164}`` (+81312345678)."""
DIAL_STRING_PATTERN = r"^[A-Za-z0-9_./@:+=-]{3,200}$"
"""A raw dial string (the override); the same rule as the database's CHECK."""


def dial_string(phone_number: str | None, override: str | None, template: str, *, international: bool = False) -> str:
    """The dial string to ring: the override if set, else the template filled with the phone number.

    The number must pass :mod:`daemon.rules.destinations` (``international``: the
    tenant's contract allows it), else :class:`~daemon.rules.destinations.Refused`:
    every number the daemon dials is built here, so none reaches ``bridge``
    unchecked.  The override is the platform admin's raw dial string, taken as is.
    """
    if override is not None:
        return override
    if phone_number is None:
        raise ValueError("a counsellor has a phone number or a dial string")
    refused = destinations.refusal(phone_number, international=international)
    if refused is not None:
        raise destinations.Refused(refused)
    if not re.fullmatch(TEMPLATE_PATTERN, template):
        raise ValueError(f"dial template {template!r} must hold {{number}} or {{e164}} once, in dial-string characters")
    return template.replace("{number}", phone_number).replace("{e164}", destinations.e164(phone_number))


@dataclass(frozen=True, slots=True)
class CounsellorRow:
    """A counsellor as the operator manages them."""

    id: int
    name: str
    phone_number: str | None
    dial_override: str | None  # raw dial string set by the admin; None: built from the phone number
    rate_yen_per_min: int | None
    on_duty: bool
    in_call: bool
    missed_in_row: int
    last_call_end: datetime | None

    def dial_string(self, template: str) -> str:
        """What FreeSWITCH rings; empty for a number stored before a destination rule refused it (never rung)."""
        try:
            return dial_string(self.phone_number, self.dial_override, template)
        except destinations.Refused:
            return ""


_COLUMNS = (
    "id, name, phone_number, dial_string, rate_yen_per_min, on_duty, current_call IS NOT NULL AS in_call,"
    " missed_in_row, last_call_end"
)


def _row(r: asyncpg.Record) -> CounsellorRow:
    return CounsellorRow(
        r["id"],
        r["name"],
        r["phone_number"],
        r["dial_string"],
        r["rate_yen_per_min"],
        r["on_duty"],
        r["in_call"],
        r["missed_in_row"],
        r["last_call_end"],
    )


def _rule(exc: asyncpg.CheckViolationError) -> ValueError:
    if exc.constraint_name == "counsellors_reachable":
        return ValueError("a counsellor needs a phone number (or a dial string set by the admin)")
    return ValueError(f"invalid counsellor ({exc.constraint_name})")


async def create(
    pool: asyncpg.Pool,
    tenant_id: int,
    *,
    name: str,
    phone_number: str | None = None,
    dial_string: str | None = None,
    on_duty: bool = True,
    rate_yen_per_min: int | None = None,
) -> int:
    """A counsellor reached at ``phone_number`` (national form), or at a raw ``dial_string`` (admin)."""
    try:
        counsellor_id: int = await pool.fetchval(
            "INSERT INTO counsellors (tenant_id, name, phone_number, dial_string, on_duty, rate_yen_per_min)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            tenant_id,
            name,
            phone_number,
            dial_string,
            on_duty,
            rate_yen_per_min,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"counsellor {name!r} already exists") from None
    except asyncpg.CheckViolationError as exc:
        raise _rule(exc) from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"no tenant {tenant_id}") from None
    return counsellor_id


async def get(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int) -> CounsellorRow:
    row = await pool.fetchrow(
        f"SELECT {_COLUMNS} FROM counsellors WHERE tenant_id = $1 AND id = $2", tenant_id, counsellor_id
    )
    if row is None:
        raise NotFound(f"no counsellor {counsellor_id}")
    return _row(row)


async def list_all(pool: asyncpg.Pool, tenant_id: int) -> list[CounsellorRow]:
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM counsellors WHERE tenant_id = $1 ORDER BY id", tenant_id)
    return [_row(r) for r in rows]


async def update(
    pool: asyncpg.Pool,
    tenant_id: int,
    counsellor_id: int,
    *,
    name: str,
    phone_number: str | None,
    rate_yen_per_min: int | None,
    on_duty: bool,
) -> None:
    """Replace the operator's settings; the admin's dial-string override is left as it is."""
    try:
        status = await pool.execute(
            "UPDATE counsellors SET name = $3, phone_number = $4, rate_yen_per_min = $5, on_duty = $6,"
            " missed_in_row = CASE WHEN $6 AND NOT on_duty THEN 0 ELSE missed_in_row END"
            " WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            counsellor_id,
            name,
            phone_number,
            rate_yen_per_min,
            on_duty,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a counsellor named {name!r} already exists") from None
    except asyncpg.CheckViolationError as exc:
        raise _rule(exc) from None
    if status != "UPDATE 1":
        raise NotFound(f"no counsellor {counsellor_id}")


async def set_dial_override(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, dial_string: str | None) -> None:
    """Set (or, with None, drop) the raw dial string that overrides the phone number (admin only)."""
    try:
        status = await pool.execute(
            "UPDATE counsellors SET dial_string = $3 WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            counsellor_id,
            dial_string,
        )
    except asyncpg.CheckViolationError as exc:
        raise _rule(exc) from None
    if status != "UPDATE 1":
        raise NotFound(f"no counsellor {counsellor_id} in tenant {tenant_id}")


async def set_duty(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, on_duty: bool) -> None:
    status = await pool.execute(
        "UPDATE counsellors SET on_duty = $3, missed_in_row = CASE WHEN $3 THEN 0 ELSE missed_in_row END"
        " WHERE id = $1 AND tenant_id = $2",
        counsellor_id,
        tenant_id,
        on_duty,
    )
    if status != "UPDATE 1":
        raise NotFound(f"no counsellor {counsellor_id}")


async def delete(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int) -> None:
    status = await pool.execute(
        "DELETE FROM counsellors WHERE tenant_id = $1 AND id = $2 AND current_call IS NULL", tenant_id, counsellor_id
    )
    if status != "DELETE 1":
        await get(pool, tenant_id, counsellor_id)  # 404 if it does not exist
        raise Conflict(f"counsellor {counsellor_id} is in a call; try again after it ends")
