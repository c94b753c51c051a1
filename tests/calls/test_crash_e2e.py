"""SIGKILL of a daemon mid-call, then restart: nothing stays taken."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from emulator import CallerScript, FakeFreeSwitch
from tests.daemon_process import DaemonProcess
from tests.factories import shop
from tests.stand_in_prompts import write_prompts

pytestmark = pytest.mark.slow


async def test_sigkill_mid_call_then_restart_frees_the_line(db_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = await shop(pool, lines=1)
    await pool.execute("UPDATE numbers SET product = 'ivr' WHERE tenant_id = $1", s.tenant_id)
    prompts = write_prompts(tmp_path / "prompts", welcome=3.0)
    env = {
        "CALLD_DATABASE_URL": db_dsn,
        "CALLD_NODE_ID": "crashy",
        "CALLD_PROMPTS_DIR": str(prompts),
        "CALLD_GENERATE_PROMPTS": "false",
    }
    first = DaemonProcess(env)
    await first.start()
    fs = FakeFreeSwitch(host="127.0.0.1", port=first.esl_port, linger_scale=0.1)
    call = asyncio.create_task(fs.place_call(CallerScript(destination=s.number)))
    for _ in range(100):  # wait until the call holds its line
        if await pool.fetchval("SELECT count(*) FROM active_calls"):
            break
        await asyncio.sleep(0.02)
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 1
    first.kill()
    result = await asyncio.wait_for(call, 30)
    assert result.hangup_by == "fallback"  # FreeSWITCH's dialplan took over: guidance, then hangup
    await first.proc.wait() if first.proc else None
    assert await pool.fetchval("SELECT count(*) FROM active_calls") == 1  # the dead node still holds it

    second = DaemonProcess({**env})
    try:
        await second.start()
        assert await pool.fetchval("SELECT count(*) FROM active_calls") == 0
        fs2 = FakeFreeSwitch(host="127.0.0.1", port=second.esl_port, linger_scale=0.1)
        again = await fs2.place_call(CallerScript(destination=s.number, hangup_after=0.1))
        assert again.errors == []
        assert any("welcome" in (arg or "") for _, arg in again.apps)
    finally:
        await second.stop()
