"""The emulator's mod_cdr_pg_csv: one fs_cdr row per leg, from the leg's own HANGUP_COMPLETE variables."""

from __future__ import annotations

import asyncio

import asyncpg

from daemon.esl import Event
from daemon.esl.commands import execute
from emulator import CallerScript, FakeFreeSwitch, FarEnd
from tests.emulator.app import AppConn, AppServer, is_event

PASSWORD = "cdr-secret"


async def hangup_listener(fs: FakeFreeSwitch) -> AppConn:
    inbound = await fs.serve_inbound("127.0.0.1", 0, PASSWORD)
    reader, writer = await asyncio.open_connection("127.0.0.1", inbound.sockets[0].getsockname()[1])
    conn = AppConn(reader, writer)
    await conn.next()
    assert (await conn.command(f"auth {PASSWORD}\n\n".encode())).reply_text == "+OK accepted"
    await conn.command(b"event plain CHANNEL_HANGUP_COMPLETE\n\n")
    return conn


def as_int(event: Event, name: str) -> int:
    return int(event[f"variable_{name}"])


async def test_a_bridged_call_writes_both_legs(pool: asyncpg.Pool, db_dsn: str) -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("answer")
        await conn.run("set", "hangup_after_bridge=true")
        await conn.command(execute("bridge", "sofia/external/111@h", "b1"))
        await conn.drain()

    far_ends = {"111": FarEnd("answer", answer_after=0.1, hangup_after=1.2)}
    async with AppServer(app) as server:
        fs = FakeFreeSwitch(port=server.port, linger_scale=0.01, park_event=False, cdr_dsn=db_dsn)
        listener = await hangup_listener(fs)
        result = await fs.place_call(CallerScript(caller="0901'2345678", far_ends=far_ends))
        events = [(await listener.until(lambda f: is_event(f, "CHANNEL_HANGUP_COMPLETE"))).event() for _ in range(2)]
        listener.close()
        await fs.close()
    assert result.errors == [] and result.answered
    assert fs.cdr is not None and fs.cdr.failed == [] and fs.cdr.written == 2

    rows = {str(r["uuid"]): r for r in await pool.fetch("SELECT * FROM fs_cdr")}
    b_leg, a_leg = events  # the far end's HANGUP_COMPLETE comes first
    assert set(rows) == {a_leg.unique_id, b_leg.unique_id}
    assert a_leg.unique_id == result.call_uuid
    for event, other in ((a_leg, b_leg), (b_leg, a_leg)):
        row = rows[event.unique_id]
        assert str(row["bleg_uuid"]) == other.unique_id
        for column in ("start_uepoch", "answer_uepoch", "bridge_uepoch", "end_uepoch", "billsec"):
            assert row[column] == as_int(event, column), column
        assert row["hangup_cause"] == event["variable_hangup_cause"] == event["Hangup-Cause"]
        assert row["answer_uepoch"] > 0 and row["end_uepoch"] > row["answer_uepoch"]
        # whole epoch seconds subtracted, as FreeSWITCH does (billsec_rounding)
        assert row["billsec"] == row["end_uepoch"] // 1_000_000 - row["answer_uepoch"] // 1_000_000 >= 1
    caller = rows[result.call_uuid]
    assert caller["caller_id_number"] == "0901'2345678"  # escaped, not broken
    assert caller["destination_number"] == a_leg["Caller-Destination-Number"] == "0312345678"


async def test_a_refused_call_writes_zeros_and_nulls(pool: asyncpg.Pool, db_dsn: str) -> None:
    async def app(conn: AppConn) -> None:
        await conn.start()
        await conn.run("hangup", "USER_BUSY")
        await conn.drain()

    async with AppServer(app) as server:
        fs = FakeFreeSwitch(port=server.port, linger_scale=0.01, park_event=False, cdr_dsn=db_dsn)
        result = await fs.place_call(CallerScript())
        await fs.close()
    assert result.errors == [] and not result.answered
    row = await pool.fetchrow("SELECT * FROM fs_cdr")
    assert row is not None and str(row["uuid"]) == result.call_uuid
    assert row["bleg_uuid"] is None and row["hangup_cause"] == "USER_BUSY"
    assert (row["answer_uepoch"], row["bridge_uepoch"], row["billsec"]) == (0, 0, 0)
    assert row["end_uepoch"] >= row["start_uepoch"] > 0
