"""The live board: a real call through the emulated FreeSWITCH shows up, rings, talks and goes;
the Server-Sent Events stream delivers each change and does not hold the daemon's stop."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg

from daemon.repositories import counsellors
from tests.calls.test_admission_e2e import emulator_for
from tests.console.client import Browser
from tests.console.conftest import BrowserFactory, Console
from tests.console.shop import TARO, call_script, coaching_shop

Snapshot = dict[str, Any]


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def _operator(console: Console, browser: BrowserFactory, login: str | None = None) -> Browser:
    b = await browser()
    await b.login(login or console.a.operator)
    return b


async def events(b: Browser) -> AsyncIterator[Snapshot]:
    """The board's snapshots as the stream sends them."""
    async with b.session.get(b.base + "/console/board/events") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        name = ""
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == "snapshot":
                yield json.loads(line.removeprefix("data: "))


async def until(stream: AsyncIterator[Snapshot], wanted: Callable[[Snapshot], bool], within: float = 15) -> Snapshot:
    """The first snapshot that is ``wanted``, within ``within`` seconds."""
    async with asyncio.timeout(within):
        async for snapshot in stream:
            if wanted(snapshot):
                return snapshot
    raise AssertionError("the stream ended")


def state_of(snapshot: Snapshot, counsellor_id: int) -> str:
    return str(next(c["state"] for c in snapshot["counsellors"] if c["id"] == counsellor_id))


async def test_a_real_call_rings_talks_and_leaves_the_board(console: Console, browser: BrowserFactory) -> None:
    hana = await coaching_shop(console)
    b = await _operator(console, browser)
    first = await b.get("/console/board")
    assert first.status == 200 and first.has("通話中の呼はありません")
    assert re.search(rf'id="counsellor-{hana}-state" data-state="free"', first.text)
    stream = events(b)
    assert (await until(stream, lambda s: True))["calls"] == []

    call = asyncio.create_task(emulator_for(console.daemon).place_call(call_script()))
    ringing = await until(stream, lambda s: state_of(s, hana) == "ringing")
    [live] = ringing["calls"]
    assert (live["state"], live["state_label"], live["counsellor"]) == ("hunting", "呼出中", "花子")
    assert ringing["lines"] == {"contracted": 2, "in_use": 1}

    talking = await until(stream, lambda s: state_of(s, hana) == "talking")
    [live] = talking["calls"]
    assert live["state_label"] == "通話中" and live["caller"] == "090****5678" and live["group"] == "タロット"
    assert live["counsellor"] == "花子" and live["balance"] == "10,000円"
    assert live["answer_us"] and live["deadline_us"]  # a prepaid caller's cutoff is armed
    # the page itself, rendered on the server, shows the same call
    page = await b.get("/console/board")
    row = re.search(
        rf'<tr id="call-{live["id"]}" data-call="{live["id"]}" data-state="talking">(.*?)</tr>', page.text, re.S
    )
    assert row is not None
    assert "090****5678" in row.group(1) and "花子" in row.group(1) and "10,000円" in row.group(1)
    assert TARO not in page.text  # never the whole number
    assert re.search(r'id="lines-in-use">1<', page.text)

    result = await asyncio.wait_for(call, 30)
    assert result.errors == [] and result.bridged_to
    gone = await until(stream, lambda s: s["calls"] == [] and s["lines"]["in_use"] == 0)
    assert state_of(gone, hana) == "free"  # the group has no wrap-up time
    assert (await b.get("/console/board")).has("通話中の呼はありません")


async def test_the_stream_sends_a_new_snapshot_after_a_duty_change(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    hana = await counsellors.create(pool, console.a.tenant_id, name="花子", phone_number="09011112222", on_duty=True)
    b = await _operator(console, browser)
    await b.get("/console/counsellors")  # its CSRF token
    stream = events(b)
    assert state_of(await until(stream, lambda s: True), hana) == "free"
    await b.post(f"/console/counsellors/{hana}/duty", {"on_duty": "0"})
    changed = await until(stream, lambda s: True, within=5)  # the next snapshot is the changed one
    assert state_of(changed, hana) == "off"
    assert next(c for c in changed["counsellors"] if c["id"] == hana)["state_label"] == "休止"


async def test_wrap_up_shows_after_a_talk(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    hana = await counsellors.create(pool, console.a.tenant_id, name="花子", phone_number="09011112222", on_duty=True)
    await pool.execute("UPDATE counsellors SET wrapup_until = now() + interval '1 minute' WHERE id = $1", hana)
    page = await (await _operator(console, browser)).get("/console/board")
    assert re.search(
        rf'id="counsellor-{hana}-state" data-state="wrapup"><span class="state state-wrapup">後処理<', page.text
    )


async def test_each_tenant_sees_only_its_own_board(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    await counsellors.create(pool, console.a.tenant_id, name="花子", phone_number="09011112222", on_duty=True)
    beta = await _operator(console, browser, console.b.operator)
    assert not (await beta.get("/console/board")).has("花子")
    assert (await until(events(beta), lambda s: True))["counsellors"] == []
    ivr = await _operator(console, browser, console.a.ivr)
    async with ivr.session.get(ivr.base + "/console/board/events") as response:
        assert response.status == 403


async def test_an_open_stream_does_not_hold_the_daemons_stop(console: Console, browser: BrowserFactory) -> None:
    b = await _operator(console, browser)
    async with b.session.get(b.base + "/console/board/events") as response:
        while (await asyncio.wait_for(response.content.readline(), 5)) != b"event: snapshot\n":
            pass
        started = time.monotonic()
        await asyncio.wait_for(console.daemon.stop(), 20)
        assert time.monotonic() - started < 5  # aiohttp waits up to 60 s for a running handler
        # the stream was ended by the server, not cut: the rest reads to its end
        rest = await asyncio.wait_for(response.content.read(), 5)
        assert response.content.at_eof() and rest.endswith(b"\n\n")
