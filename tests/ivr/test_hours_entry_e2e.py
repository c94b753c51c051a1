"""Business hours (time injected) and the entry node by how the call arrived."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from daemon.ivr import interpreter
from emulator import CallerScript
from tests.conftest import DaemonFactory
from tests.ivr.world import NUMBER, TOLL_FREE, heard, ivr_shop, tokyo


def hours_flow(g: Any) -> dict[str, Any]:
    return {
        "entry": {"default": "hours"},
        "nodes": {
            "hours": {
                "kind": "hours",
                "week": {d: ["09:00-12:00", "13:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                "closed_dates": ["2026-12-29"],
                "open_dates": {"2026-12-27": ["10:00-15:00"]},
                "open": "open",
                "closed": "closed",
            },
            "open": {"kind": "play", "guidance": [g("welcome")], "next": "bye"},
            "closed": {"kind": "play", "guidance": [g("closed")], "next": "bye"},
            "bye": {"kind": "hangup"},
        },
    }


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (tokyo(2026, 12, 2, 10, 30), "welcome"),  # a Wednesday morning
        (tokyo(2026, 12, 2, 12, 30), "closed"),  # lunch
        (tokyo(2026, 12, 2, 18, 0), "closed"),  # the end is not open
        (dt.datetime(2026, 12, 2, 0, 30, tzinfo=dt.UTC), "welcome"),  # 09:30 in Tokyo
        (tokyo(2026, 12, 5, 10, 30), "closed"),  # Saturday
        (tokyo(2027, 1, 11, 10, 30), "closed"),  # 成人の日, a Monday public holiday
        (tokyo(2026, 11, 23, 10, 30), "closed"),  # 勤労感謝の日 (Monday)
        (tokyo(2026, 12, 29, 10, 30), "closed"),  # the tenant's own closed day (a Tuesday)
        (tokyo(2026, 12, 27, 11, 0), "welcome"),  # a special opening Sunday
        (tokyo(2026, 12, 27, 16, 0), "closed"),  # … outside its hours
    ],
)
async def test_business_hours(
    start_daemon: DaemonFactory,
    pool: asyncpg.Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    at: dt.datetime,
    expected: str,
) -> None:
    monkeypatch.setattr(interpreter, "now", lambda: at)
    shop = await ivr_shop(pool, tmp_path)
    await shop.publish(hours_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=NUMBER))
    assert heard(result) == [expected]


def entry_flow(g: Any) -> dict[str, Any]:
    play = {
        name: {"kind": "play", "guidance": [g(name)], "next": "bye"}
        for name in ("welcome", "sales", "support", "closed", "sorry")
    }
    return {
        "entry": {
            "default": "welcome",
            "by_arrival": {"toll_free": "sales", "forwarded": "support"},
            "by_number": {"0398765432": "closed"},
            "by_diverted_from": {"0355556666": "sorry"},
        },
        "nodes": {**play, "bye": {"kind": "hangup"}},
    }


@pytest.mark.parametrize(
    ("dialled", "diversion", "expected"),
    [
        (NUMBER, None, "welcome"),  # the 03 number: default
        (TOLL_FREE, None, "sales"),  # the toll-free overlay
        ("0398765432", None, "closed"),  # a number's own default
        (NUMBER, "<sip:0311112222@10.0.0.1>;reason=unconditional", "support"),  # carrier-forwarded
        (NUMBER, "<sip:0355556666@127.0.0.1>;reason=unconditional", "sorry"),  # from this old number
        (NUMBER, "<sip:0355556666@a>;reason=no-answer, <sip:0311112222@b>;reason=unconditional", "support"),
    ],
)
async def test_entry_by_arrival(
    start_daemon: DaemonFactory,
    pool: asyncpg.Pool,
    tmp_path: Path,
    dialled: str,
    diversion: str | None,
    expected: str,
) -> None:
    shop = await ivr_shop(pool, tmp_path, numbers=(NUMBER, TOLL_FREE, "0398765432"))
    await shop.publish(entry_flow(shop.g))
    fs = await shop.start(start_daemon)
    result = await fs.place_call(CallerScript(destination=dialled, diversion=diversion))
    assert result.errors == []
    assert heard(result) == [expected]
