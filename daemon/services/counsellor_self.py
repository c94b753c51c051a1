"""What counsellors do for themselves, and what their operator sets up for it.

The operator makes a counsellor's login (role ``counsellor``, tied to that one
counsellor) and may set the PIN of the duty line.  The counsellor, logged in,
switches their own duty and changes their own PIN; on the duty line
(:mod:`daemon.calls.duty`) the daemon does the same for them.  Every one of
these is a change with its audit row; a PIN never reaches the log, only that
it was set.  A counsellor acts only on themselves: the counsellor is found
from the login, never from what the browser sends.
"""

from __future__ import annotations

import asyncpg

from daemon.repositories import console_users, duty_pins
from daemon.services import counsellors
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Forbidden, NotFound

LOGIN_TAKEN = "console_users_login_key"
HAS_LOGIN = "console_users_counsellor_id_key"
DUTY_LINE = Actor.system("duty_line")


def _target(counsellor_id: int) -> str:
    return f"counsellor {counsellor_id}"


async def myself(pool: asyncpg.Pool, actor: Actor) -> tuple[int, int]:
    """The tenant and the counsellor a counsellor's login stands for; :class:`Forbidden` for anyone else."""
    counsellor_id = await console_users.counsellor_of(pool, actor.user_id) if actor.user_id is not None else None
    if counsellor_id is None or actor.tenant_id is None:
        raise Forbidden("only a counsellor's own login may do this")
    return actor.tenant_id, counsellor_id


async def grant_login(
    pool: asyncpg.Pool,
    actor: Actor,
    tenant_id: int,
    counsellor_id: int,
    login: str,
    password: str,
    display_name: str = "",
) -> int:
    """The operator makes the counsellor's own login (one per counsellor).

    Refusals: :class:`~daemon.repositories.console_users.Refused` (login or password
    against the rules), :class:`Conflict` with code :data:`LOGIN_TAKEN` or :data:`HAS_LOGIN`.
    """
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        user_id = await console_users.create_counsellor(c.pool, login, password, tenant, counsellor_id, display_name)
        await c.record(
            "counsellor.login",
            tenant_id=tenant,
            target=_target(counsellor_id),
            after={"login": login, "display_name": display_name, "role": console_users.COUNSELLOR},
        )
    return user_id


async def reset_password(pool: asyncpg.Pool, actor: Actor, tenant_id: int, counsellor_id: int, password: str) -> None:
    """The operator gives a counsellor who forgot theirs a new password; their sessions end."""
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        user = await console_users.login_of_counsellor(c.pool, tenant, counsellor_id)
        if user is None:
            raise NotFound(f"counsellor {counsellor_id} has no login")
        await console_users.set_password(c.pool, user.id, password)
        await c.record("counsellor.password", tenant_id=tenant, target=_target(counsellor_id))


async def set_pin(pool: asyncpg.Pool, actor: Actor, tenant_id: int, counsellor_id: int, pin: str | None) -> None:
    """The duty line's PIN of a counsellor (None: closed), set by the operator (or :func:`set_own_pin`)."""
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        await duty_pins.set_pin(c.pool, tenant, counsellor_id, pin)
        after = {"set": pin is not None}
        await c.record("counsellor.duty_pin", tenant_id=tenant, target=_target(counsellor_id), after=after)


async def set_own_pin(pool: asyncpg.Pool, actor: Actor, pin: str) -> None:
    tenant, counsellor_id = await myself(pool, actor)
    await set_pin(pool, actor, tenant, counsellor_id, pin)


async def set_own_duty(pool: asyncpg.Pool, actor: Actor, on_duty: bool) -> None:
    """待機開始 / 待機終了 from the counsellor's own page."""
    tenant, counsellor_id = await myself(pool, actor)
    await counsellors.set_duty(pool, actor, tenant, counsellor_id, on_duty)


async def duty_by_phone(pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, on_duty: bool) -> None:
    """The duty line switched a counsellor who called from their phone and keyed their PIN."""
    await counsellors.set_duty(pool, DUTY_LINE, tenant_id, counsellor_id, on_duty)
