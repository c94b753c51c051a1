"""The counsellor's duty line: who is calling (their registered phone) and their PIN.

A counsellor calls the tenant's duty number from the phone the operator
registered for them (``counsellors.phone_number``, the caller ID) and keys a PIN
of 4 to 8 digits to switch their duty.  The PIN is kept as an argon2id hash,
verified in a thread so the call's event loop never stalls on it; a wrong PIN
costs the same work as a right one.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from daemon.postgres.errors import NotFound

PIN = re.compile(r"[0-9]{4,8}")
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class DutyPhone:
    counsellor_id: int
    name: str
    on_duty: bool
    pin_hash: str | None  # None: no PIN set yet, the duty line cannot be used


def check_pin(pin: str) -> str:
    if not PIN.fullmatch(pin):
        raise ValueError("a duty PIN is 4 to 8 digits")
    return pin


async def set_pin(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, pin: str | None) -> None:
    """A new PIN (None: the duty line is closed to this counsellor)."""
    hashed = await asyncio.to_thread(_hasher.hash, check_pin(pin)) if pin is not None else None
    status = await pool.execute(
        "UPDATE counsellors SET duty_pin_hash = $3 WHERE tenant_id = $1 AND id = $2", tenant_id, counsellor_id, hashed
    )
    if status != "UPDATE 1":
        raise NotFound(f"no counsellor {counsellor_id}")


async def has_pin(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int) -> bool:
    found: bool | None = await pool.fetchval(
        "SELECT duty_pin_hash IS NOT NULL FROM counsellors WHERE tenant_id = $1 AND id = $2", tenant_id, counsellor_id
    )
    return bool(found)


async def by_phone(pool: asyncpg.Pool, tenant_id: int, number: str) -> DutyPhone | None:
    """The counsellor whose registered phone is ``number`` (national digits)."""
    row = await pool.fetchrow(
        "SELECT id, name, on_duty, duty_pin_hash FROM counsellors WHERE tenant_id = $1 AND phone_number = $2"
        " ORDER BY id LIMIT 1",
        tenant_id,
        number,
    )
    return DutyPhone(row["id"], row["name"], row["on_duty"], row["duty_pin_hash"]) if row is not None else None


async def verify(phone: DutyPhone, pin: str) -> bool:
    def check() -> bool:
        try:
            return phone.pin_hash is not None and _hasher.verify(phone.pin_hash, pin)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
