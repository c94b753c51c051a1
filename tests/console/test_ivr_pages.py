"""IVR customer pages: flows (JSON checked as the API checks it, messages at their node)."""

from __future__ import annotations

import json
import re

import asyncpg

from daemon.db import audit, ivr_flows
from tests.console.conftest import BrowserFactory, Console

GOOD = {"entry": {"default": "bye"}, "nodes": {"bye": {"kind": "hangup"}}}
HOURS = {
    "entry": {"default": "hours"},
    "nodes": {
        "hours": {"kind": "hours", "week": {"mon": ["09:00-18:00"]}, "open": "bye", "closed": "bye"},
        "bye": {"kind": "hangup"},
    },
}


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


def _node_errors(html: str, node: str) -> list[str]:
    return re.findall(rf'<span class="field-error" data-node="{re.escape(node)}">([^<]*)</span>', html)


async def test_a_valid_flow_is_saved_and_published_with_its_business_hours(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.a.ivr)
    await b.get("/console/ivr/flows")
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(HOURS), "action": "publish"})
    assert page.status == 200 and page.url.endswith("/console/ivr/flows")
    live = await ivr_flows.live(pool, console.a.tenant_id)
    assert live is not None and live.version == 1
    assert page.has("営業時間") and page.has("09:00-18:00")
    row = (await audit.recent(pool))[0]
    assert (row.action, row.tenant_id, row.after["version"]) == ("ivr.flow.publish", console.a.tenant_id, 1)
    # beta sees none of it
    other = await browser()
    await other.login(console.b.ivr)
    assert (await ivr_flows.versions(pool, console.b.tenant_id)) == []
    assert not (await other.get("/console/ivr/flows")).has("09:00-18:00")


async def test_a_flow_with_an_invalid_node_shows_the_message_at_the_node_and_changes_nothing(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.a.ivr)
    await b.get("/console/ivr/flows")
    broken = {
        "entry": {"default": "menu"},
        "nodes": {
            "menu": {"kind": "menu", "prompt": 7, "options": {"1": "sales"}, "fallback": "bye"},
            "bye": {"kind": "hangup"},
        },
    }
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(broken), "action": "publish"})
    assert page.status == 422
    messages = _node_errors(page.text, "menu")
    assert "次のノード「sales」がありません" in messages and "ガイダンス 7 がありません" in messages
    assert _node_errors(page.text, "bye") == []
    assert page.has('"sales"')  # the text typed is kept
    assert await ivr_flows.versions(pool, console.a.tenant_id) == []
    assert await audit.recent(pool) == []

    # a shape error (a key that is not digits) is shown at its node too, and nothing is saved
    bad_shape = json.loads(json.dumps(GOOD))
    bad_shape["nodes"]["vm"] = {"kind": "voicemail", "max_seconds": 1}
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(bad_shape), "action": "save"})
    assert page.status == 422
    assert any("max_seconds" in m and "5以上" in m for m in _node_errors(page.text, "vm"))
    page = await b.post("/console/ivr/flows", {"definition": "{not json", "action": "save"})
    assert page.status == 422 and page.has("JSONの形式が正しくありません")
    assert await ivr_flows.versions(pool, console.a.tenant_id) == []


async def test_an_earlier_version_is_published_again_to_roll_back(console: Console, browser: BrowserFactory) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.a.ivr)
    await b.get("/console/ivr/flows")
    await b.post("/console/ivr/flows", {"definition": json.dumps(GOOD), "action": "publish"})
    await b.post("/console/ivr/flows", {"definition": json.dumps(HOURS), "action": "publish"})
    live = await ivr_flows.live(pool, console.a.tenant_id)
    assert live is not None and live.version == 2
    await b.post("/console/ivr/flows/1/publish")
    live = await ivr_flows.live(pool, console.a.tenant_id)
    assert live is not None and live.version == 1
    # beta's customer cannot publish alpha's version numbers: beta has none
    other = await browser()
    await other.login(console.b.ivr)
    await other.get("/console/ivr/flows")
    assert (await other.post("/console/ivr/flows/1/publish")).status == 404


async def test_an_operator_cannot_open_the_ivr_pages(console: Console, browser: BrowserFactory) -> None:
    b = await browser()
    await b.login(console.a.operator)
    assert (await b.get("/console/ivr/flows")).status == 403
    b2 = await browser()
    await b2.login(console.admin)
    assert (await b2.get("/console/ivr/flows")).status == 403
