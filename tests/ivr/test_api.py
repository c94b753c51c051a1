"""The IVR API: versions, publishing and its refusals, roll-back, voicemail, the forwarding add-on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from daemon.repositories import forwarding, tokens
from daemon.rules.ivr.tariff import ForwardTariff
from emulator import CallerScript, Keys
from tests.conftest import DaemonFactory
from tests.http.test_status_admin import call, url
from tests.ivr.world import NUMBER, Ivr, add_guidance, ivr_shop

FLOWS = "/api/v1/operator/ivr/flows"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def operator(pool: asyncpg.Pool, shop: Ivr) -> dict[str, str]:
    _, token = await tokens.create(pool, shop.tenant_id, "desk")
    return {"Authorization": f"Bearer {token}"}


def simple(g: Any) -> dict[str, Any]:
    return {
        "entry": {"default": "hello"},
        "nodes": {"hello": {"kind": "play", "guidance": [g("welcome")], "next": "bye"}, "bye": {"kind": "hangup"}},
    }


async def test_save_publish_roll_back(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.start(start_daemon)
    assert shop.daemon is not None
    me = await operator(pool, shop)
    status, v1 = await call(http, shop.daemon, "POST", FLOWS, simple(shop.g), headers=me)
    assert status == 201 and v1["version"] == 1 and v1["live"] is False
    assert v1["definition"]["nodes"]["hello"]["guidance"] == [shop.g("welcome")]
    second = simple(shop.g)
    second["nodes"]["hello"]["guidance"] = [shop.g("sales")]
    _, v2 = await call(http, shop.daemon, "POST", FLOWS, second, headers=me)
    for version in (1, 2, 1):
        status, body = await call(http, shop.daemon, "POST", f"{FLOWS}/{version}/publish", headers=me)
        assert status == 200 and body["live"] is True and body["published_at"] is not None
        _, listed = await call(http, shop.daemon, "GET", FLOWS, headers=me)
        assert [(v["version"], v["live"]) for v in listed["versions"]] == [(1, version == 1), (2, version == 2)]
        assert shop.fs is not None
        result = await shop.fs.place_call(CallerScript(destination=NUMBER))
        assert Path(next(a for app, a in result.apps if app == "playback")).stem == (
            "welcome" if version == 1 else "sales"
        )
    assert v2["version"] == 2
    assert (await call(http, shop.daemon, "POST", f"{FLOWS}/9/publish", headers=me))[0] == 404
    assert (await call(http, shop.daemon, "GET", f"{FLOWS}/9", headers=me))[0] == 404
    # another tenant sees none of it
    other = await ivr_shop(pool, tmp_path / "other", numbers=("0311110000",))
    theirs = await operator(pool, other)
    assert (await call(http, shop.daemon, "GET", f"{FLOWS}/1", headers=theirs))[0] == 404
    assert (await call(http, shop.daemon, "GET", FLOWS, headers=theirs))[1] == {"versions": []}
    assert (await call(http, shop.daemon, "GET", FLOWS, headers={}))[0] == 401


def refused(g: Any, other_guidance: int) -> list[tuple[str, dict[str, Any], str]]:
    base = simple(g)

    def with_nodes(**nodes: Any) -> dict[str, Any]:
        return {"entry": base["entry"], "nodes": {**base["nodes"], **nodes}}

    return [
        ("hello", with_nodes(hello={"kind": "play", "guidance": [g("welcome")], "next": "nowhere"}), "'nowhere'"),
        ("entry.default", {"entry": {"default": "gone"}, "nodes": base["nodes"]}, "'gone'"),
        (
            "entry.by_arrival.toll_free",
            {"entry": {"default": "hello", "by_arrival": {"toll_free": "x"}}, "nodes": base["nodes"]},
            "'x'",
        ),
        ("hello", with_nodes(hello={"kind": "play", "guidance": [999999], "next": "bye"}), "guidance 999999"),
        ("hello", with_nodes(hello={"kind": "play", "guidance": [other_guidance], "next": "bye"}), "guidance"),
        (
            "m",
            with_nodes(
                m={
                    "kind": "menu",
                    "prompt": g("menu"),
                    "options": {"1": "bye"},
                    "fallback": "bye",
                    "invalid_prompt": 999998,
                }
            ),
            "guidance 999998",
        ),
        ("fwd", with_nodes(fwd={"kind": "forward", "numbers": ["09011112222"], "on_fail": "bye"}), "add-on"),
        (
            "fwd",
            with_nodes(
                fwd={"kind": "forward", "numbers": ["09011112222"], "shown_number": "0399990000", "on_fail": "bye"}
            ),
            "not one of the tenant's numbers",
        ),
        ("a", with_nodes(a={"kind": "play", "guidance": [g("welcome")], "next": "a"}), "loop"),
        (
            "h",
            with_nodes(
                h={"kind": "hours", "open": "p", "closed": "bye"},
                p={"kind": "play", "guidance": [g("closed")], "next": "h"},
            ),
            "loop",
        ),
    ]


async def test_every_refused_definition_names_its_node(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    other = await ivr_shop(pool, tmp_path / "other", numbers=("0311110000",))
    daemon = await start_daemon()
    me = await operator(pool, shop)
    _, good = await call(http, daemon, "POST", FLOWS, simple(shop.g), headers=me)
    assert (await call(http, daemon, "POST", f"{FLOWS}/{good['version']}/publish", headers=me))[0] == 200
    before = await pool.fetchval("SELECT count(*) FROM ivr_flow_guidance")
    for node, flow, words in refused(shop.g, other.g("welcome")):
        status, saved = await call(http, daemon, "POST", FLOWS, flow, headers=me)
        assert status == 201, saved
        status, body = await call(http, daemon, "POST", f"{FLOWS}/{saved['version']}/publish", headers=me)
        assert status == 422, (node, body)
        assert node in body["error"] and words in body["error"], body
        assert ["flow", node] in [d["loc"] for d in body["detail"]]
        # nothing half-published: the good version is still live, no guidance rows recorded
        _, listed = await call(http, daemon, "GET", FLOWS, headers=me)
        assert [v["version"] for v in listed["versions"] if v["live"]] == [good["version"]]
        assert await pool.fetchval("SELECT count(*) FROM ivr_flow_guidance") == before


async def test_a_menu_loop_waits_for_the_caller_and_is_allowed(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    daemon = await start_daemon()
    me = await operator(pool, shop)
    flow = {
        "entry": {"default": "m"},
        "nodes": {
            "m": {"kind": "menu", "prompt": shop.g("menu"), "options": {"1": "p", "9": "bye"}, "fallback": "m"},
            "p": {"kind": "play", "guidance": [shop.g("sales")], "next": "m"},
            "bye": {"kind": "hangup"},
        },
    }
    _, saved = await call(http, daemon, "POST", FLOWS, flow, headers=me)
    assert (await call(http, daemon, "POST", f"{FLOWS}/{saved['version']}/publish", headers=me))[0] == 200


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"hello": {"kind": "dance", "next": "bye"}}, "nodes.hello"),
        ({"h": {"kind": "hours", "week": {"mon": ["18:00-09:00"]}, "open": "bye", "closed": "bye"}}, "week"),
        ({"h": {"kind": "hours", "week": {"funday": ["09:00-18:00"]}, "open": "bye", "closed": "bye"}}, "week"),
        ({"m": {"kind": "menu", "prompt": 1, "options": {"1#": "bye"}, "fallback": "bye"}}, "options"),
        ({"f": {"kind": "forward", "numbers": ["+1 555"], "on_fail": "bye"}}, "numbers"),
        ({"v": {"kind": "voicemail", "max_seconds": 100000}}, "max_seconds"),
        ({"bad name!": {"kind": "hangup"}}, "nodes"),
    ],
)
async def test_shape_errors_are_422_on_save(
    start_daemon: DaemonFactory,
    pool: asyncpg.Pool,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    patch: dict[str, Any],
    field: str,
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    daemon = await start_daemon()
    flow = simple(shop.g)
    flow["nodes"].update(patch)
    status, body = await call(http, daemon, "POST", FLOWS, flow, headers=await operator(pool, shop))
    assert status == 422 and field in body["error"], body
    assert await pool.fetchval("SELECT count(*) FROM ivr_flow_versions") == 0


async def test_published_guidance_cannot_be_deleted(pool: asyncpg.Pool, tmp_path: Path) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(simple(shop.g))
    with pytest.raises(asyncpg.RestrictViolationError):
        await pool.execute("DELETE FROM guidance WHERE id = $1", shop.g("welcome"))
    spare = await add_guidance(pool, shop.tenant_id, tmp_path, "spare")
    await pool.execute("DELETE FROM guidance WHERE id = $1", spare)  # not referenced: fine


async def test_forwarding_add_on_through_the_admin_api(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    daemon = await start_daemon()
    me = await operator(pool, shop)
    flow = {
        "entry": {"default": "f"},
        "nodes": {"f": {"kind": "forward", "numbers": ["09011112222"], "on_fail": "bye"}, "bye": {"kind": "hangup"}},
    }
    _, saved = await call(http, daemon, "POST", FLOWS, flow, headers=me)
    assert (await call(http, daemon, "POST", f"{FLOWS}/{saved['version']}/publish", headers=me))[0] == 422
    path = f"/api/v1/tenants/{shop.tenant_id}/forwarding"
    tariff = f"{path}/tariff"
    assert (await call(http, daemon, "PUT", tariff, {"unit_seconds": 45, "yen_per_unit": 9}))[0] == 422
    assert (await call(http, daemon, "PUT", path, {"enabled": "yes"}))[0] == 422
    assert (await call(http, daemon, "PUT", path, {"enabled": True}, headers=me))[0] == 401
    assert (await call(http, daemon, "PUT", tariff, {"unit_seconds": 30, "yen_per_unit": 9}, headers=me))[0] == 401
    assert (await call(http, daemon, "PUT", "/api/v1/tenants/999999/forwarding", {"enabled": True}))[0] == 404
    missing = "/api/v1/tenants/999999/forwarding/tariff"
    assert (await call(http, daemon, "PUT", missing, {"unit_seconds": 30, "yen_per_unit": 9}))[0] == 404
    status, body = await call(http, daemon, "PUT", path, {"enabled": True})
    assert status == 200 and body["forwarding"] is True
    status, body = await call(http, daemon, "PUT", tariff, {"unit_seconds": 30, "yen_per_unit": 9})
    assert status == 200 and body == {"tenant_id": shop.tenant_id, "unit_seconds": 30, "yen_per_unit": 9}
    assert (await call(http, daemon, "POST", f"{FLOWS}/{saved['version']}/publish", headers=me))[0] == 200
    row = await pool.fetchrow("SELECT * FROM forwarding_tariffs WHERE tenant_id = $1", shop.tenant_id)
    assert row is not None
    assert (row["unit_seconds"], row["yen_per_unit"]) == (30, 9)


async def test_voicemail_listed_downloaded_deleted(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(
        {
            "entry": {"default": "vm"},
            "nodes": {"vm": {"kind": "voicemail", "prompt": shop.g("leave"), "max_seconds": 5}},
        }
    )
    fs = await shop.start(start_daemon)
    assert shop.daemon is not None
    result = await fs.place_call(CallerScript(destination=NUMBER, digits=[Keys("#", delay=1.0)]))
    me = await operator(pool, shop)
    status, listed = await call(http, shop.daemon, "GET", "/api/v1/operator/ivr/voicemails", headers=me)
    assert status == 200
    (message,) = listed["voicemails"]
    assert message["call_uuid"] == result.call_uuid and message["caller_number"] == "09012345678"
    audio = f"/api/v1/operator/ivr/voicemails/{message['id']}/audio"
    async with http.get(url(shop.daemon, audio), headers=me) as resp:
        assert resp.status == 200 and resp.content_type == "audio/wav"
        assert (await resp.read())[:4] == b"RIFF"
    other = await ivr_shop(pool, tmp_path / "other", numbers=("0311110000",))
    assert (await call(http, shop.daemon, "GET", audio, headers=await operator(pool, other)))[0] == 404
    assert (await call(http, shop.daemon, "GET", "/api/v1/operator/ivr/voicemails?limit=0", headers=me))[0] == 422
    gone = f"/api/v1/operator/ivr/voicemails/{message['id']}"
    path = await pool.fetchval("SELECT path FROM voicemails WHERE id = $1", message["id"])
    assert (await call(http, shop.daemon, "DELETE", gone, headers=me))[0] == 204
    assert not await asyncio.to_thread(Path(path).exists)
    assert (await call(http, shop.daemon, "DELETE", gone, headers=me))[0] == 404
    assert (await call(http, shop.daemon, "GET", "/api/v1/operator/ivr/voicemails", headers=me))[1] == {
        "voicemails": []
    }


async def test_forwarded_calls_and_contract_for_the_operator(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    daemon = await start_daemon()
    me = await operator(pool, shop)
    assert (await call(http, daemon, "GET", "/api/v1/operator/ivr/forwarding", headers=me))[1] == {
        "enabled": True,
        "unit_seconds": 60,
        "yen_per_unit": 20,
    }
    t0 = 1_795_582_441_000_000
    legs = [uuid.uuid4(), uuid.uuid4()]
    for i, leg in enumerate(legs):
        await forwarding.open_legs(
            pool,
            [(leg, "09011112222")],
            call_uuid=uuid.uuid4(),
            tenant_id=shop.tenant_id,
            node_id="n",
            flow_node="fwd",
            tariff=ForwardTariff(60, 20),
            created_us=t0 + i * 3_600_000_000,
        )
    await forwarding.mark_answered(pool, legs[1], t0 + 3_601_000_000)
    await forwarding.finish(pool, legs[1], outcome="answered", end_us=t0 + 3_662_000_000)
    status, body = await call(http, daemon, "GET", "/api/v1/operator/ivr/forwarded-calls", headers=me)
    assert status == 200
    assert [(x["leg_uuid"], x["outcome"], x["billsec"], x["charge_yen"]) for x in body["legs"]] == [
        (str(legs[1]), "answered", 61, 40),
        (str(legs[0]), None, None, None),
    ]
    since = "2026-11-25T05:30:00Z"  # between the two
    status, body = await call(http, daemon, "GET", f"/api/v1/operator/ivr/forwarded-calls?since={since}", headers=me)
    assert [x["leg_uuid"] for x in body["legs"]] == [str(legs[1])]
    bad = "/api/v1/operator/ivr/forwarded-calls?limit=abc"
    assert (await call(http, daemon, "GET", bad, headers=me))[0] == 422
    other = await ivr_shop(pool, tmp_path / "other", numbers=("0311110000",))
    theirs = await call(
        http, daemon, "GET", "/api/v1/operator/ivr/forwarded-calls", headers=await operator(pool, other)
    )
    assert theirs[1] == {"legs": []}
