"""Test data built through the same repository functions the operator API uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from daemon.repositories import call_records, callers, counsellors, ledger, tenants
from daemon.rules.billing.charges import Tariff


@dataclass
class Shop:
    tenant_id: int
    number: str


async def shop(pool: asyncpg.Pool, *, lines: int = 10, number: str = "0312345678") -> Shop:
    tenant_id = await tenants.create_tenant(pool, f"shop-{uuid.uuid4().hex[:6]}", lines)
    await tenants.add_number(pool, tenant_id, number, "coaching")
    return Shop(tenant_id, number)


async def prepaid_caller(pool: asyncpg.Pool, tenant_id: int, *, yen: int, number: str = "09012345678") -> int:
    caller_id = await callers.create(
        pool, tenant_id, name=f"caller {number}", billing="prepaid", payment_method="bank_transfer", numbers=[number]
    )
    if yen:
        await ledger.post(pool, tenant_id, caller_id, "deposit", yen, memo="opening deposit")
    return caller_id


async def counsellor(pool: asyncpg.Pool, tenant_id: int, user: str, **kw: object) -> int:
    return await counsellors.create(
        pool,
        tenant_id,
        name=f"counsellor {user}",
        dial_string=f"sofia/external/{user}@127.0.0.1:5090",
        **kw,  # type: ignore[arg-type]
    )


async def talking(
    pool: asyncpg.Pool,
    tenant_id: int,
    caller_id: int,
    rate: int,
    answer_us: int,
    *,
    node_id: str = "elsewhere",
    counsellor_id: int | None = None,
) -> uuid.UUID:
    """A call record of ``caller_id`` whose counsellor answered at ``answer_us`` (billing runs)."""
    who = await callers.caller(pool, caller_id)
    assert who is not None
    call = uuid.uuid4()
    await call_records.open_record(
        pool,
        call,
        tenant_id=tenant_id,
        node_id=node_id,
        caller=who,
        caller_number="",
        group_id=None,
        tariff=Tariff(rate),
        created_us=answer_us,
    )
    await call_records.mark_talking(
        pool,
        call,
        counsellor_id=counsellor_id,
        counsellor_leg=uuid.uuid4(),
        answer_us=answer_us,
        rate_yen_per_min=rate,
        caller_id=caller_id,
    )
    return call
