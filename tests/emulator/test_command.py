"""``python -m emulator call``: a demo call watched without FreeSWITCH, against a daemon of the fixtures."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from daemon.demo import seed as demo
from daemon.repositories import tokens
from tests.conftest import REPO, DaemonFactory
from tests.daemon_process import clean_environment


async def emulate(*args: str) -> tuple[int, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        *args,
        cwd=REPO,
        env=clean_environment(),
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode().splitlines()


def timeline(lines: list[str]) -> list[str]:
    """The timeline's entries without their times: ``   1.73s  prompt   minutes_10`` → ``prompt minutes_10``."""
    return [" ".join(line.split()[1:]) for line in lines if line.startswith(" ") and line.split()[0].endswith("s")]


async def test_a_demo_call_from_the_readme(start_daemon: DaemonFactory, pool: asyncpg.Pool) -> None:
    daemon = await start_daemon(demo=True)
    tenant_id = await pool.fetchval("SELECT id FROM tenants WHERE name = 'demo'")
    _, token = await tokens.create(pool, tenant_id, "emulator test")
    code, lines = await emulate(
        "call",
        demo.NUMBER,
        "--from",
        demo.CALLER,
        "--keys",
        "1",
        "--talk",
        "2",
        "--esl",
        f"127.0.0.1:{daemon.esl_port}",
        "--http",
        f"http://127.0.0.1:{daemon.http_port}",
        "--operator-token",
        token,
    )
    assert code == 0, lines
    assert lines[0] == f"calling 0312345678 from 09012345678 through the daemon at 127.0.0.1:{daemon.esl_port}"
    steps = timeline(lines)
    assert steps[:9] == [
        "offered the call reaches FreeSWITCH; the dialplan hands it to the daemon",
        "answered by the daemon",
        "prompt welcome, then choose_group (waiting for keys)",  # keys typed during welcome count
        "key 1",
        "key #",
        "prompt minutes_10",  # 3,000 yen at 300 yen a minute
        "ringing sofia/external/08011112222@127.0.0.1:5090",
        "bridged the counsellor answered: talking (billing starts now)",
        "hang-up NORMAL_CLEARING",
    ]
    assert steps[-1].startswith("ended NORMAL_CLEARING (hung up by the caller); FreeSWITCH billsec")
    record = await pool.fetchrow("SELECT charge_yen, billed_seconds, state FROM call_records")
    assert record is not None and record["state"] == "ended" and record["billed_seconds"] in (2, 3)
    balance = await pool.fetchval("SELECT balance_yen FROM callers WHERE tenant_id = $1", tenant_id)
    assert balance == 3000 - record["charge_yen"]
    assert lines[-1] == (
        f"charge: {record['charge_yen']} yen for {record['billed_seconds']} billed seconds (ended by caller);"
        f" the balance of 山田太郎 is now {balance:,} yen"
    )


async def test_without_a_daemon_it_says_so(start_daemon: DaemonFactory) -> None:
    daemon = await start_daemon()
    port = daemon.esl_port
    await daemon.stop()  # nothing listens there any more
    code, lines = await emulate("call", "0312345678", "--from", "09012345678", "--esl", f"127.0.0.1:{port}")
    assert code == 1
    assert "hang-up NORMAL_TEMPORARY_FAILURE" in timeline(lines)
    assert lines[-1].startswith(f"the daemon did not take the call at 127.0.0.1:{port}")


async def test_usage_errors_exit_2() -> None:
    assert (await emulate("call", "0312345678"))[0] == 2  # --from is required
    assert (await emulate("call", "0312345678", "--from", "09012345678", "--keys", "1a"))[0] == 2
