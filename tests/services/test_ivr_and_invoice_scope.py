"""Who may: a tenant acts on its own IVR only, and issuing, correcting and pricing are the platform's.

Checked in the service layer itself, whatever door a call comes through: the
refused operation changes nothing and leaves no audit row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from daemon.repositories import audit, contracts, invoices, ivr_flows, tenants, voicemail
from daemon.repositories.invoices import Terms
from daemon.rules.billing.invoice import Issuer, Period
from daemon.rules.ivr.models import Flow
from daemon.rules.ivr.tariff import ForwardTariff
from daemon.services import forwarding
from daemon.services import invoices as invoice_service
from daemon.services import ivr_flows as flow_service
from daemon.services import tenants as tenant_service
from daemon.services import voicemail as voicemail_service
from daemon.services.actor import Actor
from daemon.services.errors import Forbidden, NotFound
from daemon.services.invoice_models import AdjustmentCreate

HANGUP = Flow.model_validate({"entry": {"default": "bye"}, "nodes": {"bye": {"kind": "hangup"}}})
TERMS = Terms(issuer=Issuer(name="calld株式会社", registration_number="T7000012050002"), due_days=20)


async def test_a_tenant_cannot_touch_another_tenants_flows_or_voicemail(pool: asyncpg.Pool) -> None:
    mine, theirs = await tenants.create_tenant(pool, "mine", 1), await tenants.create_tenant(pool, "theirs", 1)
    await ivr_flows.save(pool, theirs, HANGUP)
    message = await voicemail.add(
        pool,
        tenant_id=theirs,
        call_uuid=uuid.uuid4(),
        flow_node="vm",
        caller_number="09011112222",
        dialled="0312345678",
        path="/nonexistent/vm.wav",
        duration_ms=1000,
    )
    me = Actor.tenant_token(mine)
    with pytest.raises(NotFound):
        await flow_service.save(pool, me, theirs, HANGUP)
    with pytest.raises(NotFound):
        await flow_service.publish(pool, me, theirs, 1)
    with pytest.raises(NotFound):
        await voicemail_service.delete(pool, me, theirs, message)
    with pytest.raises(NotFound):  # its own tenant id, another tenant's message: not found either
        await voicemail_service.delete(pool, me, mine, message)
    assert await ivr_flows.live(pool, theirs) is None
    assert [v.version for v in await ivr_flows.versions(pool, theirs)] == [1]
    assert [m.id for m in await voicemail.listing(pool, theirs)] == [message]
    assert await audit.recent(pool) == []
    # its own: done, and recorded as the tenant's
    await flow_service.publish(pool, me, mine, (await flow_service.save(pool, me, mine, HANGUP)).version)
    assert [(r.action, r.tenant_id) for r in await audit.recent(pool)] == [
        ("ivr.flow.publish", mine),
        ("ivr.flow.save", mine),
    ]


async def test_issuing_correcting_and_pricing_are_the_platforms_only(pool: asyncpg.Pool) -> None:
    tenant = await tenants.create_tenant(pool, "shop", 1)
    own = Actor.tenant_token(tenant)
    last_month = Period.containing(datetime.now(UTC) - timedelta(days=40))
    this_month = Period.containing(datetime.now(UTC))
    correction = AdjustmentCreate(amount_yen=1000, reason="設定作業費")
    with pytest.raises(Forbidden):
        await invoice_service.close(pool, own, tenant, last_month, TERMS)
    with pytest.raises(Forbidden):
        await invoice_service.add_adjustment(pool, own, tenant, this_month, correction, TERMS)
    with pytest.raises(Forbidden):
        await forwarding.set_tariff(pool, own, tenant, ForwardTariff(1, 1))
    with pytest.raises(Forbidden):
        await tenant_service.set_forwarding(pool, own, tenant, True)
    assert await invoices.closed_invoices(pool, tenant) == []
    assert [c.forwarding for c in await contracts.changes(pool, tenant)] == [False]
    assert (await forwarding.contract(pool, own, tenant)).tariff != ForwardTariff(1, 1)
    assert await audit.recent(pool) == []
    # the tenant still reads its own month (a preview), and nobody else's
    assert (await invoice_service.invoice(pool, own, tenant, this_month, TERMS)).status == "open"
    with pytest.raises(NotFound):
        await invoice_service.invoice(pool, Actor.tenant_token(tenant + 1), tenant, this_month, TERMS)
