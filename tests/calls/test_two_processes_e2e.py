"""Two daemon processes on one PostgreSQL: the line limit holds across nodes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from emulator import CallerScript, FakeFreeSwitch
from tests.calls.test_admission_e2e import played
from tests.daemon_process import DaemonProcess
from tests.factories import shop
from tests.stand_in_prompts import write_prompts

pytestmark = pytest.mark.slow


async def test_three_lines_twenty_calls_two_processes(db_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = await shop(pool, lines=3)
    await pool.execute("UPDATE numbers SET product = 'ivr' WHERE tenant_id = $1", s.tenant_id)
    prompts = write_prompts(tmp_path / "prompts", greeting=1.0)
    nodes = [
        DaemonProcess(
            {
                "CALLD_DATABASE_URL": db_dsn,
                "CALLD_NODE_ID": f"node-{i}",
                "CALLD_PROMPTS_DIR": str(prompts),
                "CALLD_GENERATE_PROMPTS": "false",
            }
        )
        for i in range(2)
    ]
    try:
        await asyncio.gather(*(n.start() for n in nodes))
        switches = [FakeFreeSwitch(host="127.0.0.1", port=n.esl_port, linger_scale=0.1) for n in nodes]
        results = await asyncio.gather(
            *(switches[i % 2].place_call(CallerScript(caller=f"090{i:08d}", destination=s.number)) for i in range(20))
        )
        assert all(r.errors == [] for r in results)
        first_prompts = [played(r)[0] for r in results]
        assert first_prompts.count("greeting") == 3
        assert first_prompts.count("busy") == 17
        assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0
    finally:
        await asyncio.gather(*(n.stop() for n in nodes))
