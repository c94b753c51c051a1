"""kill -9 of a daemon on its embedded PostgreSQL while calls end: every call is settled from evidence.

The killed daemon's PostgreSQL keeps running, and FreeSWITCH keeps writing the
CDRs of the calls that end meanwhile (mod_cdr_pg_csv over TCP, as the emulator's
writer does).  The restarted daemon used to fast-stop that server and start it
again: a CDR written in that window was lost and its call billed by estimate up
to its deadline (issue 16, item 3).  Now the restart adopts the server: every
call is ``reconciled_cdr`` (it ended while no daemon listened) or
``reconciled_live`` (it ended after the restart), none ``reconciled_estimate``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from daemon.postgres.embedded import CDR_DATABASE, CDR_PASSWORD_FILE, CDR_ROLE, EmbeddedPostgres
from daemon.repositories import groups
from emulator import CallerScript, FakeFreeSwitch, FarEnd, Keys
from emulator.cdr import CdrWriter
from tests.daemon_process import DaemonProcess, free_port, stop_leftover_postgres
from tests.factories import counsellor, prepaid_caller, shop
from tests.stand_in_prompts import write_prompts

pytestmark = pytest.mark.slow

CALLS = 20
AFTER_RESTART = 3  # calls still talking when the new daemon is up
ESL_PASSWORD = "restart-esl-secret"


async def seed(pool: asyncpg.Pool) -> list[CallerScript]:
    """A shop with CALLS lines, and per call a prepaid caller and a one-counsellor group."""
    s = await shop(pool, lines=CALLS)
    scripts = []
    for i in range(CALLS):
        await prepaid_caller(pool, s.tenant_id, yen=100_000, number=f"0901234{i:04d}")
        member = await counsellor(pool, s.tenant_id, f"0801111{i:04d}")
        await groups.create(pool, s.tenant_id, code=f"{20 + i}", name=f"g{i}", rate_yen_per_min=60, members=[member])
        scripts.append(
            CallerScript(
                caller=f"0901234{i:04d}",
                destination=s.number,
                digits=[Keys(f"{20 + i}#", delay=0.05, interval=0.05)],
                far_ends={f"0801111{i:04d}": FarEnd("answer", answer_after=0.1)},
            )
        )
    return scripts


@asynccontextmanager
async def guest_pool(data: Path) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the daemon's embedded server (a guest: it never stops the server)."""
    guest = await asyncio.to_thread(EmbeddedPostgres, data / "pgdata")
    pool = await asyncpg.create_pool(guest.dsn, min_size=1, max_size=4)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


async def settled(data: Path) -> dict[str, int]:
    """How the calls were finished (once all are), and how many charges were booked."""
    async with guest_pool(data) as pool:
        for _ in range(400):
            if await pool.fetchval("SELECT count(*) FROM call_records WHERE state = 'ended'") == CALLS:
                break
            await asyncio.sleep(0.05)
        assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0
        rows = await pool.fetch("SELECT ended_by, count(*) AS n FROM call_records GROUP BY ended_by")
        charges = await pool.fetchval("SELECT count(*) FROM ledger WHERE kind = 'charge'")
        return {r["ended_by"]: r["n"] for r in rows} | {"charges": charges}


async def test_calls_ending_across_a_restart_on_the_embedded_database_are_never_estimated(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cdr_port = free_port()
    fs = FakeFreeSwitch(host="127.0.0.1", port=0, linger_scale=0.1, record_frames=False)
    inbound = await fs.serve_inbound("127.0.0.1", 0, ESL_PASSWORD)
    env = {
        "CALLD_DATABASE_URL": "",
        "CALLD_DATA_DIR": str(data),
        "CALLD_EMBEDDED_PG_PORT": str(cdr_port),
        "CALLD_NODE_ID": "embedded-node",
        "CALLD_PROMPTS_DIR": str(write_prompts(tmp_path / "prompts", seconds=0.05)),
        "CALLD_GENERATE_PROMPTS": "false",
        "CALLD_FS_ESL_PORT": str(inbound.sockets[0].getsockname()[1]),
        "CALLD_FS_ESL_PASSWORD": ESL_PASSWORD,
    }
    first = DaemonProcess(env)
    second = DaemonProcess(env)
    try:
        await first.start(ready_within=120)
        password = (data / CDR_PASSWORD_FILE).read_text().strip()
        fs.cdr = CdrWriter(f"postgresql://{CDR_ROLE}:{password}@127.0.0.1:{cdr_port}/{CDR_DATABASE}")
        async with guest_pool(data) as pool:
            scripts = await seed(pool)
            fs.port = first.esl_port
            calls = [asyncio.create_task(fs.place_call(script)) for script in scripts]
            for _ in range(600):
                if await pool.fetchval("SELECT count(*) FROM call_records WHERE state = 'talking'") == CALLS:
                    break
                await asyncio.sleep(0.05)
            talking = [r["call_uuid"] for r in await pool.fetch("SELECT call_uuid FROM call_records")]
        assert len(talking) == CALLS
        server_pid = (data / "pgdata" / "postmaster.pid").read_text().split()[0]
        await first.crash()

        # The callers hang up one by one while the new daemon starts; the last few after.
        restarting = asyncio.create_task(second.start(ready_within=120))
        while len(talking) > AFTER_RESTART and not restarting.done():
            assert fs.kill(str(talking.pop(0)), "NORMAL_CLEARING")
            await asyncio.wait({restarting}, timeout=0.25)
        await restarting
        for call in talking:
            assert fs.kill(str(call), "NORMAL_CLEARING")
        assert (data / "pgdata" / "postmaster.pid").read_text().split()[0] == server_pid  # adopted, never stopped
        results = await asyncio.wait_for(asyncio.gather(*calls), 60)
        assert all(r.hangup_by == "uuid_kill" for r in results)
        assert fs.cdr is not None
        await fs.cdr.flush()
        assert fs.cdr.failed == []

        how = await settled(data)
        print(f"\nsettled: {how}")
        assert set(how) <= {"reconciled_cdr", "reconciled_live", "charges"}, how
        assert how.get("reconciled_cdr", 0) + how.get("reconciled_live", 0) == how["charges"] == CALLS, how
    finally:
        await first.stop()
        await second.stop(within=60)
        await fs.close()
        stop_leftover_postgres(data / "pgdata")
