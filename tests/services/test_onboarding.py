"""Onboarding a customer through the service layer (real PostgreSQL): one transaction, the pool, the invite link."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from daemon.repositories import audit, billing_contacts, console_users, contracts, invites, number_pool, tenants
from daemon.repositories.console_users import Outcome
from daemon.repositories.tokens import digest
from daemon.services import invites as invite_service
from daemon.services import number_pool as pool_service
from daemon.services import tenants as service
from daemon.services.actor import Actor
from daemon.services.errors import Conflict, Forbidden, Invalid, NotFound
from daemon.services.tenant_models import InviteIn, Onboarding, PoolNumberIn

ADMIN = Actor.cli("root")
PASSWORD = "correct horse battery"


def _onboarding(name: str = "さくら歯科", number: str | None = "0345678901", **kw: object) -> Onboarding:
    return Onboarding.model_validate(
        {
            "name": name,
            "billing_name": "医療法人さくら会 さくら歯科 御中",
            "billing_address": "〒150-0001\n東京都渋谷区神宮前1-2-3",
            "billing_email": "office@sakura-dental.example.jp",
            "product": "ivr",
            "number": number,
            "lines": 2,
            "forwarding": True,
            "first_user": {"login": "sakura", "display_name": "受付 佐藤"},
        }
        | kw
    )


async def _stock(pool: asyncpg.Pool, *numbers: str) -> None:
    for n in numbers:
        await pool_service.add(pool, ADMIN, PoolNumberIn(number=n))


async def test_one_onboarding_creates_everything_and_the_link_sets_the_password_once(pool: asyncpg.Pool) -> None:
    await _stock(pool, "0345678901")
    done = await service.onboard(pool, ADMIN, _onboarding())
    tenant = await tenants.get_tenant(pool, done.tenant_id)
    assert tenant.lines == 2 and [(n.number, n.product) for n in tenant.numbers] == [("0345678901", "ivr")]
    assert (await contracts.changes(pool, done.tenant_id))[-1].forwarding is True
    contact = await billing_contacts.get(pool, done.tenant_id)
    assert contact.name == "医療法人さくら会 さくら歯科 御中" and contact.address.endswith("神宮前1-2-3")
    assert [p.tenant_id for p in await number_pool.listing(pool)] == [done.tenant_id]
    assert await number_pool.listing(pool, free_only=True) == []

    invitation = done.invitation
    assert invitation is not None and invitation.path.startswith("/console/invite/")
    # no password works before the link is used, and the token itself is not stored
    assert (await console_users.authenticate(pool, "sakura", "!invited"))[0] is Outcome.WRONG
    assert await pool.fetchval("SELECT token_sha256 FROM console_invites") == digest(invitation.token)

    used = await invite_service.redeem(pool, invitation.token, PASSWORD, "192.0.2.7")
    assert (used.login, used.role, used.tenant_id) == ("sakura", "ivr", done.tenant_id)
    outcome, user = await console_users.authenticate(pool, "sakura", PASSWORD)
    assert outcome is Outcome.OK and user is not None and user.tenant_id == done.tenant_id
    with pytest.raises(invite_service.LinkUnusable):
        await invite_service.redeem(pool, invitation.token, "another password 123")
    assert (await console_users.authenticate(pool, "sakura", PASSWORD))[0] is Outcome.OK

    actions = [r.action for r in reversed(await audit.recent(pool))]
    assert actions == ["number_pool.add", "tenant.onboard", "console_user.invite_redeemed"]


async def test_a_number_is_never_given_to_two_tenants_even_when_two_admins_race(pool: asyncpg.Pool) -> None:
    await _stock(pool, "0345678901")
    results = await asyncio.gather(
        service.onboard(pool, ADMIN, _onboarding("one", first_user=None)),
        service.onboard(pool, ADMIN, _onboarding("two", first_user=None)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Onboarded"]
    # the loser left nothing behind: no tenant, no audit row
    assert [t.name for t in await tenants.list_tenants(pool)] in (["one"], ["two"])
    assert await pool.fetchval("SELECT count(*) FROM numbers WHERE number = '0345678901'") == 1


async def test_a_number_outside_the_pool_or_taken_refuses_the_whole_onboarding(pool: asyncpg.Pool) -> None:
    with pytest.raises(NotFound):
        await service.onboard(pool, ADMIN, _onboarding())
    await _stock(pool, "0345678901")
    await service.onboard(pool, ADMIN, _onboarding("first", first_user=None))
    with pytest.raises(Conflict) as taken:
        await service.onboard(pool, ADMIN, _onboarding("second"))
    assert taken.value.code == "number_taken"
    assert [t.name for t in await tenants.list_tenants(pool)] == ["first"]
    assert [u.login for u in await console_users.list_all(pool)] == []


async def test_an_assigned_number_cannot_leave_the_pool_and_only_03_numbers_enter_it(pool: asyncpg.Pool) -> None:
    await _stock(pool, "0345678901", "0311112222")
    await service.onboard(pool, ADMIN, _onboarding(first_user=None))
    with pytest.raises(Conflict) as assigned:
        await pool_service.remove(pool, ADMIN, "0345678901")
    assert assigned.value.code == "number_assigned"
    await pool_service.remove(pool, ADMIN, "0311112222")
    assert [p.number for p in await number_pool.listing(pool)] == ["0345678901"]
    with pytest.raises(ValueError, match="Tokyo"):
        PoolNumberIn(number="0612345678")
    with pytest.raises(asyncpg.CheckViolationError):  # the table itself holds 03 numbers only
        await pool.execute("INSERT INTO number_pool (number) VALUES ('0612345678')")


async def test_an_expired_link_and_a_short_password_set_nothing(pool: asyncpg.Pool) -> None:
    tenant_id = await tenants.create_tenant(pool, "shop", 1)
    invitation = await invite_service.invite(pool, ADMIN, tenant_id, InviteIn(login="owner", role="coaching"))
    assert (await console_users.get(pool, invitation.user_id)).role == "operator"
    with pytest.raises(Invalid):
        await invite_service.redeem(pool, invitation.token, "short")
    await pool.execute(
        "UPDATE console_invites SET created_at = created_at - interval '8 days',"
        " expires_at = expires_at - interval '8 days'"
    )
    with pytest.raises(invite_service.LinkUnusable):
        await invite_service.redeem(pool, invitation.token, PASSWORD)
    # a new link works, and retires the old one
    again = await invite_service.reinvite(pool, ADMIN, invitation.user_id)
    third = await invite_service.reinvite(pool, ADMIN, invitation.user_id)
    assert await invites.valid(pool, again.token) is None
    await invite_service.redeem(pool, third.token, PASSWORD)
    assert (await console_users.authenticate(pool, "owner", PASSWORD))[0] is Outcome.OK
    assert third.expires_at - (await pool.fetchval("SELECT now()")) > timedelta(days=6)


async def test_a_tenants_own_user_may_not_onboard(pool: asyncpg.Pool) -> None:
    with pytest.raises(Forbidden):
        await service.onboard(pool, Actor.tenant_token(1), _onboarding())
