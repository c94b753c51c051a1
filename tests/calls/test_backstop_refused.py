"""A backstop FreeSWITCH refuses: an error, unless the channel was already gone (a benign race)."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from daemon.calls.cutoff import Backstop, wall_us
from tests.fake_channel import FakeChannel


@pytest.mark.parametrize(
    ("reply", "level"),
    [
        ("-ERR No such channel!\n", "info"),  # hung up while the arm was on its way: nothing left to cut
        ("-USAGE: [+]<time> <uuid> [<cause>]\n", "error"),
        ("-ERR no reply\n", "error"),
    ],
)
async def test_a_refused_backstop_is_logged_by_why(reply: str, level: str) -> None:
    fake = FakeChannel()
    session = await fake.start()
    fake.api_replies["sched_hangup"] = reply
    backstop = Backstop(session)
    with capture_logs() as logs:
        await backstop.arm(wall_us() + 60_000_000)
    assert backstop.armed_for_us is None and backstop.runtime is None
    assert [(e["event"], e["log_level"], e["reply"]) for e in logs] == [("backstop_not_armed", level, reply.strip())]


async def test_an_armed_backstop_logs_nothing() -> None:
    fake = FakeChannel()
    session = await fake.start()
    backstop = Backstop(session)
    deadline = wall_us() + 60_000_000
    with capture_logs() as logs:
        await backstop.arm(deadline)
    assert backstop.armed_for_us == deadline
    assert logs == []
