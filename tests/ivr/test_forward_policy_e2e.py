"""Toll fraud through forwarding: the destination policy, international by contract, the fraud guard."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from daemon.app import Daemon
from daemon.repositories import audit
from emulator import CallerScript, CallResult, FarEnd
from tests.calls.test_admission_e2e import emulator_for
from tests.conftest import DaemonFactory
from tests.http.test_status_admin import call
from tests.ivr.test_api import operator
from tests.ivr.test_forwarding_e2e import SHOP_A, bridges, forward_flow
from tests.ivr.world import NUMBER, TARO, Ivr, heard, ivr_shop

FLOWS = "/api/v1/operator/ivr/flows"
PREMIUM = "0990123456"
LONDON = "010442071234567"


async def publish_unchecked(shop: Ivr, flow: dict[str, Any]) -> None:
    """A flow as an earlier daemon saved and published it, whatever today's rules say."""
    version_id = await shop.pool.fetchval(
        "INSERT INTO ivr_flow_versions (tenant_id, version, definition, published_at)"
        " VALUES ($1, 1, $2::jsonb, now()) RETURNING id",
        shop.tenant_id,
        json.dumps(flow),
    )
    await shop.pool.execute(
        "INSERT INTO ivr_flow_guidance (version_id, guidance_id) SELECT $1, unnest($2::bigint[])",
        version_id,
        list(shop.guidance.values()),
    )
    await shop.pool.execute(
        "INSERT INTO ivr_live_flows (tenant_id, version_id) VALUES ($1, $2)", shop.tenant_id, version_id
    )


def refused_metric(daemon: Daemon, tenant_id: int, reason: str) -> float:
    value = daemon.metrics.registry.get_sample_value(
        "calld_forwards_refused_total", {"tenant": str(tenant_id), "reason": reason}
    )
    return value or 0.0


def rang(result: CallResult) -> list[str]:
    return [leg.endpoint.rsplit("/", 1)[-1] for attempt in result.bridged_to for leg in attempt.legs]


async def refusals(pool: asyncpg.Pool, tenant_id: int) -> list[tuple[str, str]]:
    rows = await pool.fetch("SELECT reason, number FROM forward_refusals WHERE tenant_id = $1 ORDER BY id", tenant_id)
    return [(r["reason"], r["number"]) for r in rows]


async def test_a_flow_published_before_the_policy_never_dials_its_premium_number(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await publish_unchecked(shop, forward_flow(shop.g, numbers=[PREMIUM, SHOP_A]))
    fs = await shop.start(start_daemon)
    out = capsys.readouterr().out
    assert "ivr_published_number_refused" in out and PREMIUM in out and "premium_rate" in out
    far_ends = {PREMIUM: FarEnd("answer", answer_after=0.1, hangup_after=1.0), SHOP_A: FarEnd("answer")}
    result = await fs.place_call(CallerScript(caller=TARO, destination=NUMBER, far_ends=far_ends))
    assert result.errors == []
    assert bridges(result) == [] and result.bridged_to == []  # nothing originated, to 0990 or to anyone
    assert heard(result) == ["sorry"]  # the node's on_fail
    assert await pool.fetchval("SELECT count(*) FROM forward_legs") == 0
    assert await refusals(pool, shop.tenant_id) == [("premium_rate", PREMIUM)]
    assert shop.daemon is not None and refused_metric(shop.daemon, shop.tenant_id, "premium_rate") == 1


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (PREMIUM, "premium_rate"),
        ("0570123456", "caller_pays"),
        ("02012345678", "m2m"),
        ("0180123456", "mass_calling"),
        ("110", "emergency"),
        ("#7119", "short_code"),
        ("00144207123456", "carrier_prefix"),
        ("+97912345678", "high_cost_abroad"),
    ],
)
async def test_the_api_refuses_a_forward_number_with_its_reason(
    start_daemon: DaemonFactory,
    pool: asyncpg.Pool,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    number: str,
    code: str,
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    daemon = await start_daemon()
    flow = forward_flow(shop.g, numbers=["0312345678", number])
    status, body = await call(http, daemon, "POST", FLOWS, flow, headers=await operator(pool, shop))
    assert status == 422, body
    (detail,) = body["detail"]
    assert detail["type"] == f"destination_{code}" and detail["loc"][-1] == 1
    assert number[-3:] in detail["msg"] and "nodes.fwd.forward.numbers.1" in body["error"]
    assert await pool.fetchval("SELECT count(*) FROM ivr_flow_versions") == 0


async def test_international_only_while_the_contract_allows_it(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    fs = await shop.start(start_daemon)
    assert shop.daemon is not None
    daemon, me = shop.daemon, await operator(pool, shop)
    status, saved = await call(http, daemon, "POST", FLOWS, forward_flow(shop.g, numbers=["+442071234567"]), headers=me)
    assert status == 201 and saved["definition"]["nodes"]["fwd"]["numbers"] == [LONDON]
    publish = f"{FLOWS}/{saved['version']}/publish"
    status, body = await call(http, daemon, "POST", publish, headers=me)
    assert status == 422 and "international" in body["error"]  # off by default
    switch = f"/api/v1/tenants/{shop.tenant_id}/international"
    assert (await call(http, daemon, "PUT", switch, {"enabled": True}, headers=me))[0] == 401  # platform admin only
    status, safety = await call(http, daemon, "PUT", switch, {"enabled": True})
    assert status == 200 and safety["international"] is True
    assert (await call(http, daemon, "POST", publish, headers=me))[0] == 200
    london = {LONDON: FarEnd("answer", answer_after=0.1, hangup_after=0.3)}
    result = await fs.place_call(CallerScript(destination=NUMBER, far_ends=london))
    assert rang(result) == [LONDON] and "sofia/gateway/carrier/010442071234567" in bridges(result)[0]

    status, safety = await call(http, daemon, "PUT", switch, {"enabled": False})
    assert status == 200 and safety["international"] is False
    result = await fs.place_call(CallerScript(destination=NUMBER, far_ends=london))
    assert bridges(result) == [] and heard(result) == ["sorry"]  # the live flow's node now refuses
    assert await refusals(pool, shop.tenant_id) == [("international", LONDON)]
    records = [r for r in await audit.recent(pool, shop.tenant_id) if r.action == "tenant.international"]
    assert [(r.login, r.before, r.after) for r in reversed(records)] == [
        ("admin-api", {"international": False}, {"international": True}),
        ("admin-api", {"international": True}, {"international": False}),
    ]


async def test_the_guard_holds_legs_at_once_across_two_nodes(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True, lines=8)
    await shop.publish(forward_flow(shop.g, numbers=[SHOP_A]))
    first = await shop.start(start_daemon)
    other = await start_daemon(data_dir=tmp_path / "other")
    second = emulator_for(other)
    guard = f"/api/v1/tenants/{shop.tenant_id}/forward_guard"
    assert (await call(http, other, "PUT", guard, {"max_legs": -1, "max_minutes_per_day": 10}))[0] == 422
    status, safety = await call(http, other, "PUT", guard, {"max_legs": 2, "max_minutes_per_day": 600})
    assert status == 200 and (safety["max_legs"], safety["max_minutes_per_day"]) == (2, 600)
    talk = {SHOP_A: FarEnd("answer", answer_after=0.3, hangup_after=2.0)}
    results = await asyncio.gather(
        *(fs.place_call(CallerScript(destination=NUMBER, far_ends=talk)) for fs in (first, second) * 3)
    )
    talked = [r for r in results if r.bridged_to]
    assert len(talked) == 2  # six callers at once on two nodes, two legs allowed
    assert all(heard(r) == ["sorry"] for r in results if not r.bridged_to)
    assert await refusals(pool, shop.tenant_id) == [("concurrent_legs", "")] * 4
    assert await pool.fetchval("SELECT count(*) FROM forward_legs WHERE outcome = 'answered'") == 2
    assert shop.daemon is not None
    assert (
        refused_metric(shop.daemon, shop.tenant_id, "concurrent_legs")
        + refused_metric(other, shop.tenant_id, "concurrent_legs")
        == 4
    )
    status, safety = await call(http, other, "GET", f"/api/v1/tenants/{shop.tenant_id}/call_safety")
    assert status == 200 and safety["open_legs"] == 0
    assert safety["refused_today"] == [{"reason": "concurrent_legs", "count": 4}]
    after = await first.place_call(CallerScript(destination=NUMBER, far_ends=talk))
    assert rang(after) == [SHOP_A]  # the legs are free again
    changes = [r for r in await audit.recent(pool, shop.tenant_id) if r.action == "tenant.forward_guard"]
    assert [(r.before, r.after) for r in changes] == [
        ({"max_legs": 10, "max_minutes": 600}, {"max_legs": 2, "max_minutes": 600})
    ]


async def test_the_guard_stops_forwarding_past_the_minutes_of_the_day(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await shop.publish(forward_flow(shop.g, numbers=[SHOP_A]))
    await pool.execute("UPDATE line_contracts SET forward_max_minutes = 2 WHERE tenant_id = $1", shop.tenant_id)
    now_us = time.time_ns() // 1000
    await pool.execute(
        "INSERT INTO forward_legs (leg_uuid, call_uuid, tenant_id, node_id, number, state, outcome, created_us,"
        " answer_us, end_us, billsec, unit_seconds, yen_per_unit, charge_yen)"
        " VALUES (gen_random_uuid(), gen_random_uuid(), $1, 'n', $2, 'ended', 'answered', $3, $3, $4, 119, 1, 1, 119)",
        shop.tenant_id,
        SHOP_A,
        now_us - 200_000_000,
        now_us - 81_000_000,
    )
    fs = await shop.start(start_daemon)
    talk = {SHOP_A: FarEnd("answer", answer_after=0.1, hangup_after=1.2)}
    within = await fs.place_call(CallerScript(destination=NUMBER, far_ends=talk))
    assert rang(within) == [SHOP_A]  # 119 s of 120 used: still allowed, and this talk takes the rest
    past = await fs.place_call(CallerScript(destination=NUMBER, far_ends=talk))
    assert bridges(past) == [] and heard(past) == ["sorry"]
    assert await refusals(pool, shop.tenant_id) == [("daily_minutes", "")]
