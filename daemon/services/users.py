"""Console users: the platform creates them, lifts a lock-out, sets a new password.

The rules (login pattern, password length, role ↔ tenant) are
:mod:`daemon.repositories.console_users`' own; a refusal comes out as :class:`Invalid`.
A password never reaches the audit log: only that it was set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import asyncpg

from daemon.repositories import console_users, login_throttle
from daemon.rules.login_backoff import login_key
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import RULE, Invalid, Problem, coded


def _target(user_id: int) -> str:
    return f"console user {user_id}"


@contextlib.contextmanager
def _rules() -> Iterator[None]:
    """The users' own rules (login, password, role) refused: :class:`Invalid`."""
    try:
        yield
    except console_users.Refused as exc:
        raise Invalid([Problem((), str(exc), RULE)]) from None


async def create_user(
    pool: asyncpg.Pool,
    actor: Actor,
    login: str,
    password: str,
    role: str,
    tenant_id: int | None,
    display_name: str = "",
) -> int:
    actor.require_platform()
    with _rules():
        async with change(pool, actor) as c:
            with coded("login_taken"):
                user_id = await console_users.create(c.pool, login, password, role, tenant_id, display_name)
            await c.record(
                "console_user.create",
                tenant_id=tenant_id,
                target=_target(user_id),
                after={"login": login, "display_name": display_name, "role": role, "tenant_id": tenant_id},
            )
    return user_id


async def unlock_user(pool: asyncpg.Pool, actor: Actor, user_id: int) -> None:
    actor.require_platform()
    async with change(pool, actor) as c:
        user = await console_users.get(c.pool, user_id)
        held = await login_throttle.lift(c.pool, login_key(user.login))
        await c.record(
            "console_user.unlock",
            tenant_id=user.tenant_id,
            target=_target(user.id),
            before={"waiting_addresses": held},
            after={"waiting_addresses": 0},
        )


async def set_password(pool: asyncpg.Pool, actor: Actor, user_id: int, password: str) -> None:
    """A new password; it also lifts a lock-out and ends the user's sessions."""
    actor.require_platform()
    with _rules():
        async with change(pool, actor) as c:
            user = await console_users.get(c.pool, user_id)
            await console_users.set_password(c.pool, user.id, password)
            await c.record("console_user.password", tenant_id=user.tenant_id, target=_target(user.id))
