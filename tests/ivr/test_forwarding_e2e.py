"""Forwarding: busy, no answer, answer; sequential and simultaneous; charges by the tenant's tariff."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from structlog.testing import capture_logs

from daemon.repositories import forwarding
from daemon.rules.ivr.tariff import ForwardTariff, talk_seconds
from emulator import CallerScript, CallResult, FarEnd
from tests.conftest import DaemonFactory
from tests.ivr.world import NUMBER, TARO, heard, ivr_shop

SHOP_A, SHOP_B = "09011112222", "09033334444"


def forward_flow(g: Any, **forward: object) -> dict[str, Any]:
    return {
        "entry": {"default": "fwd"},
        "nodes": {
            "fwd": {
                "kind": "forward",
                "numbers": [SHOP_A, SHOP_B],
                "ring_timeout_s": 5,
                "on_fail": "sorry",
                **forward,
            },
            "sorry": {"kind": "play", "guidance": [g("sorry")], "next": "bye"},
            "bye": {"kind": "hangup"},
        },
    }


def bridges(result: CallResult) -> list[str]:
    return [arg for app, arg in result.apps if app == "bridge"]


async def legs(pool: asyncpg.Pool, call_uuid: str) -> list[asyncpg.Record]:
    return list(
        await pool.fetch("SELECT * FROM forward_legs WHERE call_uuid = $1::uuid ORDER BY created_us, number", call_uuid)
    )


async def test_busy_then_answer_is_charged_by_the_tariff(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True, lines=1)
    await forwarding.set_tariff(pool, shop.tenant_id, ForwardTariff(1, 10))
    await shop.publish(forward_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(
        CallerScript(
            caller=TARO,
            destination=NUMBER,
            far_ends={SHOP_A: FarEnd("busy"), SHOP_B: FarEnd("answer", answer_after=0.2, hangup_after=1.5)},
        )
    )
    assert result.errors == []
    assert [a.outcome for a in result.bridged_to] == ["USER_BUSY", "SUCCESS"]
    assert "origination_caller_id_number=0312345678" in bridges(result)[1]  # ours, by default
    rows = await legs(pool, result.call_uuid)
    assert [(r["number"], r["outcome"], r["state"]) for r in rows] == [
        (SHOP_A, "busy", "ended"),
        (SHOP_B, "answered", "ended"),
    ]
    busy, talked = rows
    assert busy["charge_yen"] == 0 and busy["billsec"] == 0 and busy["answer_us"] is None
    assert str(talked["leg_uuid"]) == result.bridged_to[1].legs[0].uuid
    assert 1.4 <= (talked["end_us"] - talked["answer_us"]) / 1e6 <= 1.8
    assert talked["billsec"] == talk_seconds(talked["answer_us"], talked["end_us"])
    assert talked["charge_yen"] == 10 * talked["billsec"]
    assert heard(result) == []  # talked, then the call ends: no "sorry"
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0


async def test_per_minute_tariff_rounds_up(start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await forwarding.set_tariff(pool, shop.tenant_id, ForwardTariff(60, 25))
    await shop.publish(forward_flow(shop.g, numbers=[SHOP_B]))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(
        CallerScript(destination=NUMBER, far_ends={SHOP_B: FarEnd("answer", answer_after=0.1, hangup_after=1.0)})
    )
    (row,) = await legs(pool, result.call_uuid)
    assert row["outcome"] == "answered" and row["unit_seconds"] == 60 and row["yen_per_unit"] == 25
    assert row["charge_yen"] == 25  # one started minute


async def test_no_answer_and_busy_go_to_on_fail(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await shop.publish(forward_flow(shop.g, ring_timeout_s=5))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(
        CallerScript(destination=NUMBER, far_ends={SHOP_A: FarEnd("noanswer"), SHOP_B: FarEnd("busy")})
    )
    assert [a.outcome for a in result.bridged_to] == ["NO_ANSWER", "USER_BUSY"]
    assert heard(result) == ["sorry"]
    rows = await legs(pool, result.call_uuid)
    assert [(r["outcome"], r["charge_yen"]) for r in rows] == [("no_answer", 0), ("busy", 0)]


async def test_simultaneous_rings_all_and_bills_the_winner(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await forwarding.set_tariff(pool, shop.tenant_id, ForwardTariff(30, 7))
    await shop.publish(forward_flow(shop.g, strategy="simultaneous", shown_number="caller"))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(
        CallerScript(
            caller=TARO,
            destination=NUMBER,
            far_ends={
                SHOP_A: FarEnd("answer", answer_after=2.0),
                SHOP_B: FarEnd("answer", answer_after=0.2, hangup_after=0.5),
            },
        )
    )
    assert len(result.bridged_to) == 1
    assert f"origination_caller_id_number={TARO}" in bridges(result)[0]
    rows = {r["number"]: r for r in await legs(pool, result.call_uuid)}
    assert rows[SHOP_B]["outcome"] == "answered" and rows[SHOP_B]["charge_yen"] == 7
    assert rows[SHOP_A]["outcome"] == "no_answer" and rows[SHOP_A]["charge_yen"] == 0


async def test_announcement_to_the_answering_person(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await shop.publish(forward_flow(shop.g, numbers=[SHOP_B], announcement=shop.g("whisper")))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(
        CallerScript(destination=NUMBER, far_ends={SHOP_B: FarEnd("answer", answer_after=0.1, hangup_after=0.3)})
    )
    sets = [arg for app, arg in result.apps if app == "multiset"]
    assert sets and "group_confirm_key=exec" in sets[0]
    assert f"group_confirm_file=playback {tmp_path / 'whisper.wav'}" in sets[0]


async def test_caller_hangs_up_while_ringing_and_while_talking(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await forwarding.set_tariff(pool, shop.tenant_id, ForwardTariff(1, 3))
    await shop.publish(forward_flow(shop.g, numbers=[SHOP_A]))
    fs = await shop.start(start_daemon)
    ringing = await fs.place_call(
        CallerScript(destination=NUMBER, hangup_after=0.5, far_ends={SHOP_A: FarEnd("noanswer")})
    )
    (row,) = await legs(pool, ringing.call_uuid)
    assert (row["outcome"], row["charge_yen"], row["state"]) == ("caller_hangup", 0, "ended")
    talking = await fs.place_call(
        CallerScript(destination=NUMBER, hangup_after_bridge=1.2, far_ends={SHOP_A: FarEnd("answer", answer_after=0.1)})
    )
    (row,) = await legs(pool, talking.call_uuid)
    assert row["outcome"] == "answered" and row["billsec"] in (1, 2)
    assert row["charge_yen"] == 3 * row["billsec"]
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0


async def test_forwarding_switched_off_after_publish_is_not_used(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await shop.publish(forward_flow(shop.g))
    await pool.execute("UPDATE line_contracts SET forwarding = false WHERE tenant_id = $1", shop.tenant_id)
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER, far_ends={SHOP_A: FarEnd("answer")}))
    assert result.bridged_to == [] and heard(result) == ["sorry"]
    assert await pool.fetchval("SELECT count(*) FROM forward_legs") == 0


async def test_forwarded_leg_takes_no_second_line(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """One line: the forwarded call talks on it; a second caller meanwhile is busy."""
    shop = await ivr_shop(pool, tmp_path, forwarding=True, lines=1)
    await shop.publish(forward_flow(shop.g, numbers=[SHOP_A]))
    fs = await shop.start(start_daemon)
    first = asyncio.create_task(
        fs.place_call(
            CallerScript(destination=NUMBER, far_ends={SHOP_A: FarEnd("answer", answer_after=0.1, hangup_after=1.5)})
        )
    )
    await asyncio.sleep(0.8)
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 1
    second = await fs.place_call(CallerScript(caller="09099998888", destination=NUMBER))
    assert heard(second) == ["busy"]
    done = await first
    assert [a.outcome for a in done.bridged_to] == ["SUCCESS"]


async def test_a_database_too_slow_to_open_the_legs_sends_the_caller_to_on_fail(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The legs' rows wait behind the tenant's fraud-guard lock past the database timeout:
    nothing is dialled (never a forward without its row), the caller goes on to ``on_fail``
    at the timeout instead of the call failing at asyncpg's 10-s statement limit; the rows
    written once the lock goes are closed, never left ringing.  The rows are closed whether
    or not the abandoned write could say it wrote them (it may be cancelled after its commit);
    a write that was rolled back leaves nothing to close, and no error for it."""
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await shop.publish(forward_flow(shop.g, ring_timeout_s=5))
    fs = await shop.start(start_daemon)
    with capture_logs() as logs:
        async with pool.acquire() as holder:
            async with holder.transaction():
                await holder.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"forward_guard:{shop.tenant_id}")
                result = await asyncio.wait_for(fs.place_call(CallerScript(destination=NUMBER)), 8)
            assert bridges(result) == []
            assert heard(result) == ["sorry"]
        await asyncio.sleep(0.5)  # the lock is gone: an insert that got through is closed, one cancelled left nothing
    assert [r["outcome"] for r in await legs(pool, result.call_uuid)] in ([], ["failed", "failed"])
    assert [e for e in logs if e["event"] == "ivr_forward_late_rows_unclosed"] == []
