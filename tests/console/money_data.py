"""Data the money pages' tests share: a logged-in operator, callers with money, ended calls."""

from __future__ import annotations

import re
import time
import uuid

import asyncpg

from daemon.repositories import call_records, callers, ledger
from tests import factories
from tests.console.client import Browser
from tests.console.conftest import BrowserFactory, Console

KEY = re.compile(r'name="key" value="([^"]+)"')


def pool_of(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def operator(console: Console, browser: BrowserFactory, login: str = "") -> Browser:
    b = await browser()
    page = await b.login(login or console.a.operator, next_path="/console/callers")
    assert page.status == 200, page.text
    return b


async def caller(console: Console, tenant_id: int, name: str, number: str, *, yen: int = 0) -> int:
    pool = pool_of(console)
    caller_id = await callers.create(
        pool, tenant_id, name=name, billing="prepaid", payment_method="bank_transfer", numbers=[number]
    )
    if yen:
        await ledger.post(pool, tenant_id, caller_id, "deposit", yen, memo="opening deposit")
    return caller_id


async def ended_call(
    console: Console, tenant_id: int, caller_id: int, *, seconds: int, rate: int = 300, counsellor_id: int | None = None
) -> uuid.UUID:
    """A call answered ``seconds`` ago that has just ended, its charge booked."""
    pool = pool_of(console)
    now_us = time.time_ns() // 1000
    answer_us = now_us - seconds * 1_000_000
    node = console.daemon.settings.node_id  # this node's own call: no dead-node sweep ends it first
    call = await factories.talking(
        pool, tenant_id, caller_id, rate, answer_us, node_id=node, counsellor_id=counsellor_id
    )
    await call_records.finish(pool, call, end_us=now_us, hangup_cause="NORMAL_CLEARING", ended_by="caller")
    return call
