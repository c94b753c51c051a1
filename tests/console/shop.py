"""A Coaching Dial shop for the console tests: a number, a prepaid caller, a counsellor in a group,
and the emulated caller who rings it (the board tests and the browser tests share them)."""

from __future__ import annotations

import asyncpg

from daemon.repositories import callers, counsellors, groups, ledger, tenants
from emulator import CallerScript, FarEnd, Keys
from tests.console.conftest import Console

TARO = "09012345678"
SERVICE = "0312345678"
USER = "08011110001"


def pool_of(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def coaching_shop(console: Console) -> int:
    """Alpha takes calls: a number, a prepaid caller with 10,000 yen, one counsellor in group 12."""
    pool, tenant = pool_of(console), console.a.tenant_id
    await tenants.add_number(pool, tenant, SERVICE, "coaching")
    caller = await callers.create(
        pool, tenant, name="太郎", billing="prepaid", payment_method="bank_transfer", numbers=[TARO]
    )
    await ledger.post(pool, tenant, caller, "deposit", 10_000, memo="opening deposit")
    hana = await counsellors.create(
        pool, tenant, name="花子", dial_string=f"sofia/external/{USER}@127.0.0.1:5090", on_duty=True
    )
    await groups.create(pool, tenant, code="12", name="タロット", rate_yen_per_min=600, members=[hana])
    return hana


def call_script(ring_s: float = 2.5, talk_s: float = 3.0) -> CallerScript:
    return CallerScript(
        caller=TARO,
        destination=SERVICE,
        digits=[Keys("12#", delay=0.05, interval=0.05)],
        far_ends={USER: FarEnd("answer", answer_after=ring_s, hangup_after=talk_s)},
    )
