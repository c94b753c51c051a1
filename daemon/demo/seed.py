"""The demo shop of ``make run``: created once, in one transaction, left alone afterwards.

Tenant "demo" with 2 lines on 0312345678 (Coaching Dial); a prepaid caller
09012345678 (山田太郎) with 3,000 yen; counsellor 星野ひかり reached at
``sofia/external/08011112222@127.0.0.1:5090`` (a SIPp UAS on loopback, as in the
FreeSWITCH captures), on duty, in group code 1 (恋愛相談) at 300 yen a minute.
People read these names in the console: they are Japanese, like the real ones.

The shop is found by an existence check under an advisory lock (nodes may start
together), never by a caught unique violation: a failed INSERT would still
consume a tenant id at every start.  Everything is created in one transaction,
so a failure (the demo number already belongs to another tenant) leaves nothing
half-built behind.
"""

from __future__ import annotations

import asyncpg

from daemon.logs import get_logger
from daemon.postgres.one_connection import one_connection
from daemon.repositories import callers, counsellors, groups, ledger, tenants

_log = get_logger(__name__)

NAME = "demo"
NUMBER = "0312345678"
CALLER = "09012345678"
_LOCK = "calld-demo"


class DemoConflict(tenants.Conflict):
    """The demo cannot be created: its number belongs to another tenant."""


async def ensure_demo(pool: asyncpg.Pool) -> int:
    """The demo tenant's id, creating the whole shop on the first call."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK)
        existing: int | None = await conn.fetchval("SELECT id FROM tenants WHERE name = $1", NAME)
        if existing is not None:
            if not await conn.fetchval("SELECT 1 FROM numbers WHERE number = $1 AND tenant_id = $2", NUMBER, existing):
                # Left half-built by an older version (or changed by hand): say so, change nothing.
                _log.warning("demo_tenant_incomplete", tenant_id=existing, missing_number=NUMBER)
            return existing
        owner = await conn.fetchval(
            "SELECT t.name FROM numbers n JOIN tenants t ON t.id = n.tenant_id WHERE n.number = $1", NUMBER
        )
        if owner is not None:
            raise DemoConflict(
                f"the demo number {NUMBER} already belongs to tenant {owner!r}: "
                "set CALLD_DEMO=false, or remove that number first"
            )
        return await _create(one_connection(conn))


async def _create(pool: asyncpg.Pool) -> int:
    tenant_id = await tenants.create_tenant(pool, NAME, 2)
    await tenants.add_number(pool, tenant_id, NUMBER, "coaching")
    caller = await callers.create(
        pool, tenant_id, name="山田太郎", billing="prepaid", payment_method="bank_transfer", numbers=[CALLER]
    )
    await ledger.post(pool, tenant_id, caller, "deposit", 3000, memo="デモ用の初回入金", idempotency_key="demo-opening")
    counsellor = await counsellors.create(
        pool, tenant_id, name="星野ひかり", dial_string="sofia/external/08011112222@127.0.0.1:5090"
    )
    await groups.create(pool, tenant_id, code="1", name="恋愛相談", rate_yen_per_min=300, members=[counsellor])
    return tenant_id
