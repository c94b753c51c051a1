"""Forwarding safety on the console: refused numbers beside their node, the admin's switches, the guard's figures."""

from __future__ import annotations

import json
import re
import uuid

import asyncpg

from daemon.repositories import audit, ivr_flows
from tests.console.conftest import BrowserFactory, Console

PREMIUM = "0990123456"


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


def _flow(number: str) -> dict[str, object]:
    return {
        "entry": {"default": "fwd"},
        "nodes": {"fwd": {"kind": "forward", "numbers": [number], "on_fail": "bye"}, "bye": {"kind": "hangup"}},
    }


def _node_errors(html: str, node: str) -> list[str]:
    return re.findall(rf'<span class="field-error" data-node="{re.escape(node)}">([^<]*)</span>', html)


async def test_a_premium_forward_number_is_refused_in_japanese_beside_its_node(
    console: Console, browser: BrowserFactory
) -> None:
    b = await browser()
    await b.login(console.a.ivr)
    await b.get("/console/ivr/flows")
    page = await b.post("/console/ivr/flows", {"definition": json.dumps(_flow(PREMIUM)), "action": "save"})
    assert page.status == 422
    assert any(
        f"{PREMIUM}は有料情報サービス（ダイヤルQ2）の番号のため発信できません" in m
        for m in _node_errors(page.text, "fwd")
    )
    assert await ivr_flows.versions(_pool(console), console.a.tenant_id) == []


async def test_the_admin_allows_international_calls_and_sets_the_guard_with_audit(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    b = await browser()
    await b.login(console.admin)
    url = f"/console/admin/tenants/{console.a.tenant_id}"
    page = await b.get(url)
    assert page.has("不可（既定）") and page.has("0 / 10件") and page.has("0 / 600分")
    page = await b.post(url + "/international", {"international": "on"})
    assert page.status == 200 and page.has("国際電話への転送：許可")
    page = await b.post(url + "/forward_guard", {"max_legs": "多い", "max_minutes_per_day": "60"})
    assert page.status == 422 and page.has("数字で入力してください")
    page = await b.post(url + "/forward_guard", {"max_legs": "3", "max_minutes_per_day": "１２０"})
    assert page.status == 200 and page.has("0 / 3件") and page.has("0 / 120分")
    await pool.execute(
        "INSERT INTO forward_refusals (tenant_id, call_uuid, flow_node, reason)"
        " VALUES ($1, $2, 'fwd', 'concurrent_legs')",
        console.a.tenant_id,
        uuid.uuid4(),
    )
    page = await b.get(url)
    assert page.has("同時に転送できる件数の上限：1件")
    records = [(r.action, r.login, r.before, r.after) for r in await audit.recent(pool, console.a.tenant_id)]
    assert records == [
        ("tenant.forward_guard", "platform", {"max_legs": 10, "max_minutes": 600}, {"max_legs": 3, "max_minutes": 120}),
        ("tenant.international", "platform", {"international": False}, {"international": True}),
    ]


async def test_the_forwarding_page_shows_a_live_number_that_will_not_be_dialled_and_the_refusals(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    tenant = console.a.tenant_id
    version_id = await pool.fetchval(  # published by an earlier daemon, before the policy
        "INSERT INTO ivr_flow_versions (tenant_id, version, definition, published_at) VALUES ($1, 1, $2::jsonb, now())"
        " RETURNING id",
        tenant,
        json.dumps(_flow(PREMIUM)),
    )
    await pool.execute("INSERT INTO ivr_live_flows (tenant_id, version_id) VALUES ($1, $2)", tenant, version_id)
    await pool.execute(
        "INSERT INTO forward_refusals (tenant_id, call_uuid, flow_node, reason, number) VALUES ($1, $2, 'fwd', $3, $4)",
        tenant,
        uuid.uuid4(),
        "premium_rate",
        PREMIUM,
    )
    b = await browser()
    await b.login(console.a.ivr)
    page = await b.get("/console/ivr/forwarding")
    assert page.status == 200
    assert page.has(f"ノード「fwd」：{PREMIUM}は有料情報サービス（ダイヤルQ2）の番号のため発信できません")
    assert page.has("本日止めた転送") and page.has("有料情報サービス（ダイヤルQ2）の番号")
    other = await browser()
    await other.login(console.b.ivr)
    assert not (await other.get("/console/ivr/forwarding")).has(PREMIUM)  # beta sees none of it
