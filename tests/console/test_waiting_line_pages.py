"""The waiting line in the console: switched on in the group form (audited), shown on the live board."""

from __future__ import annotations

import asyncio

from daemon.repositories import audit, counsellors, groups
from emulator import CallerScript, Keys
from tests.calls.test_admission_e2e import emulator_for
from tests.console.conftest import BrowserFactory, Console
from tests.console.shop import SERVICE, TARO, coaching_shop, pool_of
from tests.console.test_board import _operator, events, until


async def busy_shop(console: Console) -> None:
    """Alpha's shop with its group's waiting line on and its one member off duty."""
    hana = await coaching_shop(console)
    pool = pool_of(console)
    await pool.execute("UPDATE counsellor_groups SET queue_enabled = true WHERE tenant_id = $1", console.a.tenant_id)
    await pool.execute("UPDATE counsellors SET on_duty = false WHERE id = $1", hana)


def waiting_script(hangup_after: float = 6.0) -> CallerScript:
    """Taro keys the group, then 1 to wait, and hangs up after ``hangup_after`` s."""
    keys = [Keys("12#", delay=0.05, interval=0.05), Keys("1", delay=0.05)]
    return CallerScript(caller=TARO, destination=SERVICE, digits=keys, hangup_after=hangup_after)


async def test_an_operator_switches_the_waiting_line_on_and_off(console: Console, browser: BrowserFactory) -> None:
    [hana] = [await counsellors.create(pool_of(console), console.a.tenant_id, name="花子", phone_number="09012345670")]
    b = await _operator(console, browser)
    form = await b.get("/console/groups/new")
    assert form.has("順番待ち") and form.has('name="queue_max_wait_s" type="text" value="300"')
    base = {"code": "12", "name": "タロット", "rate_yen_per_min": "600", f"member-{hana}": "1"}
    page = await b.post(
        "/console/groups",
        base | {"queue_enabled": "on", "queue_max_wait_s": "180", "queue_max_length": "5", "queue_announce_s": "20"},
    )
    assert page.url.endswith("/console/groups")
    [group] = await groups.list_all(pool_of(console), console.a.tenant_id)
    assert (group.queue_enabled, group.queue_max_wait_s, group.queue_max_length, group.queue_announce_s) == (
        True,
        180,
        5,
        20,
    )
    [entry] = await audit.recent(pool_of(console), console.a.tenant_id)
    assert entry.after["queue_enabled"] is True and entry.after["queue_max_length"] == 5
    edit = await b.get(f"/console/groups/{group.id}")
    assert edit.has('name="queue_enabled" checked')

    refused = await b.post(f"/console/groups/{group.id}", base | {"queue_max_wait_s": "5"})
    assert refused.status == 422 and refused.has("10以上で入力してください")
    await b.post(f"/console/groups/{group.id}", base)  # the box left unticked: off
    assert not (await groups.get(pool_of(console), console.a.tenant_id, group.id)).queue_enabled


async def test_a_waiting_caller_shows_on_the_board(console: Console, browser: BrowserFactory) -> None:
    await busy_shop(console)
    b = await _operator(console, browser)
    stream = events(b)
    first = await until(stream, lambda s: True)
    assert [(q["group"], q["waiting"], q["since_us"]) for q in first["queues"]] == [("タロット", 0, None)]
    call = asyncio.create_task(emulator_for(console.daemon).place_call(waiting_script()))
    waiting = await until(stream, lambda s: s["queues"][0]["waiting"] == 1)
    assert waiting["queues"][0]["since_us"] > 0
    [live] = waiting["calls"]
    assert (live["state_label"], live["group"], live["caller"]) == ("順番待ち", "タロット", "—")
    page = await b.get("/console/board")  # the server-rendered table
    assert page.has('data-waiting="1"') and page.has("1人")
    await until(stream, lambda s: s["queues"][0]["waiting"] == 0)
    await call
