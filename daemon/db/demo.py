"""The demo shop of ``make run``: created once, left alone afterwards.

Tenant "demo" with 2 lines on 0312345678 (Coaching Dial); a prepaid caller
09012345678 with 3,000 yen; counsellor "demo counsellor" reached at
``sofia/external/08011112222@127.0.0.1:5090`` (a SIPp UAS on loopback, as in the
FreeSWITCH captures), on duty, in group code 1 at 300 yen a minute.
"""

from __future__ import annotations

import asyncpg

from daemon.db import coaching_admin, ledger, tenants

NUMBER = "0312345678"
CALLER = "09012345678"


async def ensure_demo(pool: asyncpg.Pool) -> int:
    try:
        tenant_id = await tenants.create_tenant(pool, "demo", 2)
    except tenants.Conflict:
        return await tenants.tenant_id_by_name(pool, "demo")
    await tenants.add_number(pool, tenant_id, NUMBER, "coaching")
    caller = await coaching_admin.create_caller(
        pool, tenant_id, name="demo caller", billing="prepaid", payment_method="bank_transfer", numbers=[CALLER]
    )
    await ledger.post(pool, tenant_id, caller, "deposit", 3000, memo="demo", idempotency_key="demo-opening")
    counsellor = await coaching_admin.create_counsellor(
        pool, tenant_id, name="demo counsellor", dial_string="sofia/external/08011112222@127.0.0.1:5090"
    )
    await coaching_admin.create_group(
        pool, tenant_id, code="1", name="demo group", rate_yen_per_min=300, members=[counsellor]
    )
    return tenant_id
