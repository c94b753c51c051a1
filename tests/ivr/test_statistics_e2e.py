"""What IVR calls did, on record for the customer's statistics: menu choices, a caller lost in a menu, blocked calls."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import asyncpg

from daemon.repositories import block_list
from daemon.services import statistics
from daemon.services.actor import Actor
from daemon.services.values import TOKYO
from emulator import CallerScript
from tests.conftest import DaemonFactory
from tests.ivr.test_nodes_e2e import menu_flow
from tests.ivr.world import NUMBER, TARO, fast, ivr_shop


async def test_menu_choices_and_a_caller_lost_in_the_menu_are_counted(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    version = await shop.publish(menu_flow(shop.g))
    await block_list.add(pool, shop.tenant_id, caller="09099990000", number=None, note="")
    fs = await shop.start(start_daemon)
    await fs.place_call(CallerScript(caller=TARO, destination=NUMBER, digits=[fast("2")]))
    await fs.place_call(CallerScript(caller="anonymous", destination=NUMBER, digits=[fast("9"), fast("1")]))
    lost = await fs.place_call(CallerScript(caller=TARO, destination=NUMBER, hangup_after=0.5))
    assert lost.hangup_by == "caller"
    blocked = await fs.place_call(CallerScript(caller="09099990000", destination=NUMBER))
    assert not blocked.answered
    assert shop.daemon is not None
    await shop.daemon.services.writer.drained()

    rows = await pool.fetch(
        "SELECT flow_version, caller_number, last_node, last_kind, caller_hung_up, choices FROM ivr_call_log"
        " ORDER BY started_at"
    )
    assert [(r["last_node"], r["last_kind"], r["caller_hung_up"], json.loads(r["choices"])) for r in rows] == [
        ("bye", "hangup", False, [{"node": "menu", "keys": "2"}]),
        ("bye", "hangup", False, [{"node": "menu", "keys": "1"}]),  # the invalid 9 is no choice
        ("menu", "menu", True, []),
    ]
    assert [r["caller_number"] for r in rows] == [TARO, "", TARO]
    assert {r["flow_version"] for r in rows} == {version}

    today = datetime.now(TOKYO).date()
    found = await statistics.ivr_statistics(
        pool, Actor.system("test"), shop.tenant_id, statistics.period(None, None, today)
    )
    assert found.totals["calls"] == 3 and found.totals["hung_up_in_menu"] == 1 and found.totals["blocked"] == 1
    assert found.daily[-1][0] == today and found.daily[-1][1]["calls"] == 3 and len(found.daily) == 30
    assert sorted(found.choices) == [("menu", "1", 1), ("menu", "2", 1)]
    assert sum(found.hourly) == 3
