"""Fixtures of the console tests: a daemon on a real database, two tenants, and their people."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from daemon.app import Daemon
from daemon.repositories import console_users, tenants
from tests.conftest import DaemonFactory
from tests.console.client import PASSWORD, Browser


@dataclass(frozen=True)
class Shop:
    """One tenant and the logins of its operator and IVR customer."""

    tenant_id: int
    operator: str
    ivr: str


@dataclass(frozen=True)
class Console:
    daemon: Daemon
    admin: str
    a: Shop
    b: Shop


async def _shop(daemon: Daemon, name: str) -> Shop:
    pool = daemon.pool
    assert pool is not None
    tenant_id = await tenants.create_tenant(pool, name, 2)
    await console_users.create(pool, f"op-{name}", PASSWORD, "operator", tenant_id, f"{name}の運営者")
    await console_users.create(pool, f"ivr-{name}", PASSWORD, "ivr", tenant_id, f"{name}のお客様")
    return Shop(tenant_id, f"op-{name}", f"ivr-{name}")


@pytest.fixture
async def console(start_daemon: DaemonFactory) -> Console:
    # The pages' tests share the worker's loop with Chromium's driver and the emulator: on a loaded
    # CI machine an admission once took over the daemon's 2-s database timeout there, and the call
    # was refused as unavailable.  The time-outs themselves are tested where they are the point.
    daemon = await start_daemon(db_timeout_seconds=10.0)
    assert daemon.pool is not None
    await console_users.create(daemon.pool, "platform", PASSWORD, "admin", None, "運用担当")
    return Console(daemon, "platform", await _shop(daemon, "alpha"), await _shop(daemon, "beta"))


BrowserFactory = Callable[[], Awaitable[Browser]]


@pytest.fixture
async def browser(console: Console) -> AsyncIterator[BrowserFactory]:
    opened: list[Browser] = []

    async def factory() -> Browser:
        b = Browser(console.daemon)
        opened.append(b)
        return b

    yield factory
    for b in opened:
        await b.close()
