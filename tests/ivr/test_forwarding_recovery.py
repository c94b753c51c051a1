"""A daemon crash during forwarded calls: each leg finished once, from FreeSWITCH's evidence."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from daemon.recovery.reconcile import adopt_dead_nodes, reconcile
from daemon.repositories import admission, forwarding, nodes
from daemon.rules.ivr.tariff import ForwardTariff
from emulator import CallerScript, FakeFreeSwitch, FarEnd
from tests.daemon_process import DaemonProcess
from tests.ivr.test_forwarding_e2e import SHOP_A, forward_flow
from tests.ivr.world import NUMBER, ivr_shop
from tests.stand_in_prompts import write_prompts

T0 = 1_795_582_441_000_000


async def open_leg(
    pool: asyncpg.Pool, tenant_id: int, node: str, *, answered: bool, call_uuid: uuid.UUID | None = None
) -> uuid.UUID:
    leg = uuid.uuid4()
    await forwarding.open_legs(
        pool,
        [(leg, SHOP_A)],
        call_uuid=call_uuid or uuid.uuid4(),
        tenant_id=tenant_id,
        node_id=node,
        flow_node="fwd",
        tariff=ForwardTariff(1, 10),
        created_us=T0,
    )
    if answered:
        await forwarding.mark_answered(pool, leg, T0 + 1_000_000)
    return leg


async def test_restart_without_freeswitch_finishes_from_cdr_or_bounds(pool: asyncpg.Pool, tmp_path: Path) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    with_cdr = await open_leg(pool, shop.tenant_id, "n1", answered=False)  # answered after the crash
    busy = await open_leg(pool, shop.tenant_id, "n1", answered=False)
    silent = await open_leg(pool, shop.tenant_id, "n1", answered=False)
    talking = await open_leg(pool, shop.tenant_id, "n1", answered=True)
    elsewhere = await open_leg(pool, shop.tenant_id, "n2", answered=True)
    await pool.execute(
        "INSERT INTO fs_cdr (uuid, answer_uepoch, end_uepoch, hangup_cause) VALUES ($1, $2, $3, 'NORMAL_CLEARING'),"
        " ($4, 0, $5, 'USER_BUSY')",
        with_cdr,
        T0 + 2_000_000,
        T0 + 14_500_000,
        busy,
        T0 + 100_000,
    )
    await reconcile(pool, "n1", None)
    rows = {r["leg_uuid"]: r for r in await pool.fetch("SELECT * FROM forward_legs")}
    assert (rows[with_cdr]["outcome"], rows[with_cdr]["billsec"], rows[with_cdr]["charge_yen"]) == ("answered", 13, 130)
    assert rows[with_cdr]["reconciled"] == "cdr"
    assert (rows[busy]["outcome"], rows[busy]["charge_yen"], rows[busy]["reconciled"]) == ("busy", 0, "cdr")
    assert (rows[silent]["charge_yen"], rows[silent]["reconciled"]) == (0, "no_evidence")
    assert rows[talking]["reconciled"] == "estimate" and rows[talking]["charge_yen"] > 0
    assert rows[elsewhere]["state"] == "talking"  # another node's: not ours to finish
    before = await pool.fetch("SELECT leg_uuid, charge_yen, ended_at FROM forward_legs ORDER BY leg_uuid")
    await reconcile(pool, "n1", None)  # twice: nothing booked twice
    assert await pool.fetch("SELECT leg_uuid, charge_yen, ended_at FROM forward_legs ORDER BY leg_uuid") == before


async def test_restart_keeps_the_line_of_a_forwarded_talk_until_it_is_finished(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """A forwarded talk may go on inside FreeSWITCH while the daemon restarts: its line stays taken."""
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    talking, ringing, plain = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for call in (talking, ringing, plain):
        assert (await admission.admit(pool, call, NUMBER, "n1")).outcome == admission.Outcome.ADMITTED
    await open_leg(pool, shop.tenant_id, "n1", answered=True, call_uuid=talking)
    await open_leg(pool, shop.tenant_id, "n1", answered=False, call_uuid=ringing)
    assert await nodes.register(pool, "n1") == 2
    assert [r["call_uuid"] for r in await pool.fetch("SELECT call_uuid FROM active_calls")] == [talking]
    await reconcile(pool, "n1", None)  # no FreeSWITCH, no CDR: finished from the bound, line given back
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0


@pytest.mark.slow
async def test_sigkill_mid_forwarded_talk_then_restart_charges_once(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path / "g", forwarding=True, lines=2)
    await forwarding.set_tariff(pool, shop.tenant_id, ForwardTariff(1, 10))
    await shop.publish(forward_flow(shop.g, numbers=[SHOP_A]))
    fs = FakeFreeSwitch(host="127.0.0.1", port=0, linger_scale=0.1)
    inbound = await fs.serve_inbound("127.0.0.1", 0, "s3cret-esl")
    env = {
        "CALLD_DATABASE_URL": db_dsn,
        "CALLD_NODE_ID": "crashy-ivr",
        "CALLD_DATA_DIR": str(tmp_path / "data"),
        "CALLD_PROMPTS_DIR": str(write_prompts(tmp_path / "prompts")),
        "CALLD_GENERATE_PROMPTS": "false",
        "CALLD_FS_ESL_PORT": str(inbound.sockets[0].getsockname()[1]),
        "CALLD_FS_ESL_PASSWORD": "s3cret-esl",
    }
    first = DaemonProcess(env)
    await first.start()
    fs.port = first.esl_port
    call = asyncio.create_task(
        fs.place_call(
            CallerScript(
                destination=NUMBER, far_ends={SHOP_A: FarEnd("answer", answer_after=0.1)}, hangup_after_bridge=8.0
            )
        )
    )
    for _ in range(300):
        if await pool.fetchval("SELECT count(*) FROM forward_legs WHERE state = 'talking'"):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    first.kill()
    assert first.proc is not None
    await first.proc.wait()
    second = DaemonProcess(env)
    try:
        await second.start()
        result = await asyncio.wait_for(call, 30)
        assert result.hangup_by == "caller"
        for _ in range(200):
            if await pool.fetchval("SELECT count(*) FROM forward_legs WHERE state = 'ended'"):
                break
            await asyncio.sleep(0.05)
        row = await pool.fetchrow("SELECT * FROM forward_legs")
        assert row is not None and row["state"] == "ended" and row["reconciled"] == "live"
        assert result.end_time is not None
        assert abs(row["billsec"] - (result.end_time - row["answer_us"] / 1e6)) <= 1.0
        assert row["charge_yen"] == 10 * row["billsec"]
        assert await pool.fetchval("SELECT count(*) FROM forward_legs") == 1
        assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0
    finally:
        await second.stop()
        await fs.close()


async def test_dead_node_legs_are_finished_from_cdrs_only(pool: asyncpg.Pool, tmp_path: Path) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True)
    await pool.execute("INSERT INTO nodes (node_id, heartbeat_at) VALUES ('gone', now() - interval '1 hour')")
    with_cdr = await open_leg(pool, shop.tenant_id, "gone", answered=True)
    still_ringing = await open_leg(pool, shop.tenant_id, "gone", answered=False)
    mine = await open_leg(pool, shop.tenant_id, "me", answered=True)
    await pool.execute(
        "INSERT INTO fs_cdr (uuid, answer_uepoch, end_uepoch, hangup_cause) VALUES ($1, $2, $3, 'NORMAL_CLEARING')",
        with_cdr,
        T0 + 1_000_000,
        T0 + 4_200_000,
    )
    await adopt_dead_nodes(pool, "me", 30.0)
    rows = {r["leg_uuid"]: r for r in await pool.fetch("SELECT * FROM forward_legs")}
    assert (rows[with_cdr]["state"], rows[with_cdr]["billsec"], rows[with_cdr]["charge_yen"]) == ("ended", 4, 40)
    assert rows[still_ringing]["state"] == "ringing"  # no evidence yet: left for its CDR
    assert rows[mine]["state"] == "talking"  # a live node's leg is never adopted
