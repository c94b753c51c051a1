"""A call that ends while the daemon is dead and FreeSWITCH cannot reach the database.

mod_cdr_pg_csv spools the CDRs it cannot insert and never retries them.  Before, the
restarted daemon found neither a live channel nor a CDR and billed the call by estimate
up to its armed deadline (issue 16, item 3).  Now it puts the spool back first: the call
is finished from FreeSWITCH's own end time and charged for the talk it had.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from emulator import CallerScript, FarEnd
from emulator.cdr import CdrWriter
from tests.calls.test_crash_e2e import tarot_with_inbound
from tests.daemon_process import DaemonProcess, free_port

pytestmark = pytest.mark.slow


async def test_a_call_ended_into_the_spool_is_charged_from_it_not_estimated(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    spool = tmp_path / "cdr-pg-csv"
    s, caller_id, fs, env = await tarot_with_inbound(db_dsn, pool, tmp_path, "spooled", 100_000)
    env["CALLD_CDR_SPOOL_DIR"] = str(spool)
    fs.cdr = CdrWriter(f"postgresql://freeswitch_cdr:x@127.0.0.1:{free_port()}/calld", spool_dir=spool)
    first = DaemonProcess(env)
    await first.start()
    fs.port = first.esl_port
    call = asyncio.create_task(
        fs.place_call(
            CallerScript(
                destination=s.number, digits=["12#"], far_ends={"08011110001": FarEnd("answer", answer_after=0.1)}
            )
        )
    )
    record = None
    for _ in range(300):
        record = await pool.fetchrow("SELECT call_uuid, deadline_us FROM call_records WHERE state = 'talking'")
        if record is not None and record["deadline_us"] is not None:
            break
        await asyncio.sleep(0.02)
    assert record is not None
    await asyncio.sleep(1.0)
    first.kill()
    assert first.proc is not None
    await first.proc.wait()

    assert fs.kill(str(record["call_uuid"]), "NORMAL_CLEARING")  # the caller hangs up; nobody listens
    await asyncio.wait_for(call, 30)
    await fs.cdr.flush()
    assert len(fs.cdr.failed) == 2  # both legs' CDRs went to the spool
    assert (spool / "cdr-spool.sql").read_text().count("INSERT INTO fs_cdr") == 2

    second = DaemonProcess(env)
    try:
        await second.start()
        for _ in range(200):
            if await pool.fetchval("SELECT count(*) FROM call_records WHERE state = 'ended'"):
                break
            await asyncio.sleep(0.05)
        rec = await pool.fetchrow("SELECT ended_by FROM call_records")
        assert rec is not None and rec["ended_by"] == "reconciled_cdr"
        ends = await pool.fetch("SELECT end_uepoch FROM fs_cdr")
        assert len(ends) == 2
        charge = await pool.fetchval(
            "SELECT -amount_yen FROM ledger WHERE caller_id = $1 AND kind = 'charge'", caller_id
        )
        assert charge is not None and 0 < charge < 600  # about 1 s at 600 yen/min, not minutes up to the deadline
    finally:
        await second.stop()
