"""The destination policy: every number the daemon dials, each refusal with its reason."""

from __future__ import annotations

import asyncpg
import pytest
from pydantic_core import PydanticCustomError

from daemon.repositories import counsellors, groups, hunting, tenants
from daemon.repositories.counsellors import dial_string
from daemon.rules import destinations
from daemon.rules.numbers import normalise_dialled_number


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("0990123456", "premium_rate"),
        ("0570123456", "caller_pays"),
        ("0180123456", "mass_calling"),
        ("0170123456", "message_dial"),
        ("0910123456", "special_connection"),
        ("02012345678", "m2m"),
        ("0101442071234567", "international"),
        ("+442071234567", "international"),
        ("+97912345678", "high_cost_abroad"),
        ("+881612345678", "high_cost_abroad"),
        ("00144207123456", "carrier_prefix"),
        ("0033010442071234", "carrier_prefix"),
        ("110", "emergency"),
        ("118", "emergency"),
        ("119", "emergency"),
        ("104", "short_code"),
        ("1060312345678", "short_code"),
        ("1840312345678", "short_code"),
        ("#7119", "short_code"),
        ("*67", "short_code"),
        ("031234567", "not_a_number"),
        ("0901234567", "not_a_number"),
        ("090-1234-5678", "not_a_number"),
        ("0312345678\r\nbgapi", "not_a_number"),
        ("3312345678", "not_a_number"),
    ],
)
def test_refused_with_its_reason(typed: str, code: str) -> None:
    with pytest.raises(PydanticCustomError) as refused:
        destinations.check(typed)
    assert refused.value.type == f"destination_{code}"
    context = refused.value.context or {}
    assert str(context["number"]) in refused.value.message()
    assert "発信できません" in str(context["japanese"]) or code == "not_a_number"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0312345678", "0312345678"),
        ("+81312345678", "0312345678"),
        ("09012345678", "09012345678"),
        ("05012345678", "05012345678"),
        ("0120123456", "0120123456"),
        ("08001234567", "08001234567"),
        ("0466123456", "0466123456"),
    ],
)
def test_ordinary_japanese_numbers_are_dialled(typed: str, stored: str) -> None:
    assert destinations.check(typed) == stored
    assert destinations.check(typed, international=True) == stored


def test_international_only_by_contract_and_never_to_high_cost_networks() -> None:
    assert destinations.check("+442071234567", international=True) == "010442071234567"
    assert destinations.check("010442071234567", international=True) == "010442071234567"
    assert destinations.e164("010442071234567") == "+442071234567"
    assert destinations.e164("0312345678") == "+81312345678"
    for number in ("+97912345678", "+8821234567", "00144207123456", "0990123456"):
        with pytest.raises(PydanticCustomError):
            destinations.check(number, international=True)


def test_the_dial_string_is_never_built_for_a_refused_number() -> None:
    """The last net before ``bridge``: every template-built dial string passes the policy."""
    template = "sofia/gateway/carrier/{number}"
    assert dial_string("0312345678", None, template) == "sofia/gateway/carrier/0312345678"
    for number in ("0990123456", "0570123456", "02012345678", "110", "010442071234567"):
        with pytest.raises(destinations.Refused) as refused:
            dial_string(number, None, template)
        assert refused.value.refusal.number == number
    e164 = "sofia/gateway/carrier/{e164}"
    assert dial_string("010442071234567", None, e164, international=True) == "sofia/gateway/carrier/+442071234567"


def test_counsellor_numbers_follow_the_same_policy() -> None:
    for number, code in (("0990123456", "premium_rate"), ("+442071234567", "international"), ("110", "emergency")):
        with pytest.raises(PydanticCustomError) as refused:
            normalise_dialled_number(number)
        assert refused.value.type == f"destination_{code}"
    with pytest.raises(PydanticCustomError) as malformed:
        normalise_dialled_number("090-1234-5678")
    assert malformed.value.type == "phone_number"  # the format's own, precise wording
    assert normalise_dialled_number("+819012345678") == "09012345678"


async def test_a_counsellor_stored_with_a_refused_number_is_never_rung(pool: asyncpg.Pool) -> None:
    """A number saved before a rule existed: the hunt passes over that counsellor, the others are rung."""
    tenant_id = await tenants.create_tenant(pool, "hunt", 1)
    stored = await counsellors.create(pool, tenant_id, name="old", phone_number="0170123456")  # allowed back then
    ordinary = await counsellors.create(pool, tenant_id, name="ok", phone_number="09012345678")
    group_id = await groups.create(
        pool, tenant_id, code="1", name="g", rate_yen_per_min=100, members=[stored, ordinary], strategy="sequential"
    )
    found = await hunting.free_members(pool, group_id, "sequential")
    assert [(m.id, m.dial_string) for m in found] == [(ordinary, "sofia/gateway/carrier/09012345678")]
    listed = {
        c.id: c.dial_string("sofia/gateway/carrier/{number}") for c in await counsellors.list_all(pool, tenant_id)
    }
    assert listed == {stored: "", ordinary: "sofia/gateway/carrier/09012345678"}  # shown as not rung, no error
