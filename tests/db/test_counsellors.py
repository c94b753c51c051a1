"""Counsellors by phone number: the hunt rings the template filled in, or the admin's raw override."""

from __future__ import annotations

import asyncpg
import pytest

from daemon.config import Settings
from daemon.repositories import counsellors, groups, hunting
from daemon.repositories.counsellors import dial_string
from tests.factories import shop


async def test_the_hunt_rings_the_dial_string_to_use(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    by_number = await counsellors.create(pool, s.tenant_id, name="by number", phone_number="09011112222")
    raw = await counsellors.create(
        pool, s.tenant_id, name="raw", dial_string="sofia/external/08011112222@127.0.0.1:5090"
    )
    both = await counsellors.create(pool, s.tenant_id, name="both", phone_number="0312345678", dial_string="user/1001")
    group = await groups.create(
        pool,
        s.tenant_id,
        code="1",
        name="g",
        rate_yen_per_min=100,
        members=[by_number, raw, both],
        strategy="sequential",
    )
    members = await hunting.free_members(pool, group, "sequential", dial_template="sofia/gateway/ntt/{e164}")
    assert [m.dial_string for m in members] == [
        "sofia/gateway/ntt/+819011112222",
        "sofia/external/08011112222@127.0.0.1:5090",
        "user/1001",
    ]
    default = await hunting.free_members(pool, group, "sequential")
    assert default[0].dial_string == "sofia/gateway/carrier/09011112222"


async def test_a_counsellor_is_reachable(pool: asyncpg.Pool) -> None:
    s = await shop(pool)
    with pytest.raises(ValueError, match="needs a phone number"):
        await counsellors.create(pool, s.tenant_id, name="nobody")
    for number in ("090123", "+819012345678", "9012345678"):  # stored numbers are national digits
        with pytest.raises(ValueError, match="invalid counsellor"):
            await counsellors.create(pool, s.tenant_id, name="bad", phone_number=number)
    assert await counsellors.list_all(pool, s.tenant_id) == []


def test_dial_templates() -> None:
    assert dial_string("0312345678", None, "sofia/gateway/carrier/{number}") == "sofia/gateway/carrier/0312345678"
    assert dial_string("09012345678", None, "sofia/gateway/c/{e164}@sip.example.jp") == (
        "sofia/gateway/c/+819012345678@sip.example.jp"
    )
    assert dial_string(None, "user/1001", "x/{number}") == "user/1001"
    with pytest.raises(ValueError, match="must hold"):
        dial_string("0312345678", None, "sofia/gateway/carrier/")
    for bad in ("sofia/gateway/carrier", "sofia/gateway/{number}\napi x", "{number}{number}", "a/${x}/{number}"):
        with pytest.raises(ValueError, match="counsellor_dial_template"):
            Settings(counsellor_dial_template=bad)
    assert Settings.model_fields["counsellor_dial_template"].default == counsellors.DEFAULT_DIAL_TEMPLATE
