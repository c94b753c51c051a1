"""A prepaid cut-off while the database hangs: the caller still hears why, from the daemon."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from daemon.repositories import hunting
from emulator import CallerScript
from tests.calls.test_admission_e2e import played
from tests.calls.test_coaching_e2e import TARO, answers, balance, fast, record, world
from tests.conftest import DaemonFactory

HANG_SECONDS = 3.0  # longer than the backstop's lag after the deadline (at most 1.7 s)


async def test_cut_off_while_the_counsellor_release_hangs(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the cut, freeing the counsellor meets a hung database (here: it answers only
    after HANG_SECONDS).  The backstop must not end the caller's leg meanwhile: the talk is
    already over, and the caller is owed the guidance saying the money ran out."""
    real_release = hunting.release

    async def hanging_release(db: asyncpg.Pool, counsellor_id: int, call_uuid: uuid.UUID, **kw: object) -> None:
        await asyncio.sleep(HANG_SECONDS)
        await real_release(db, counsellor_id, call_uuid, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(hunting, "release", hanging_release)
    w = await world(start_daemon, pool, yen=30, warning_seconds=1)  # 600 yen/min: 3 s of talk
    result = await w.fs.place_call(
        CallerScript(caller=TARO, destination=w.number, digits=[fast("12#")], far_ends={"08011110001": answers(0.1)})
    )
    assert result.errors == []
    assert result.hangup_by == "app"  # not "sched_hangup": FreeSWITCH's backstop did not cut the goodbye
    assert played(result)[-1] == "balance_exhausted"
    rec = await record(w, result.call_uuid)
    assert rec["ended_by"] == "cutoff"
    assert rec["billed_seconds"] == 3 and rec["charge_yen"] == 30
    assert await balance(w) == 0
