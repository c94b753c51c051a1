"""A forward with an announcement, as FreeSWITCH runs it (forward_announcement* captures).

The announcement plays to the answering person before the caller is bridged
(CHANNEL_BRIDGE comes when it ends); meanwhile the caller hears ringback, because the
forward sets ``ringback`` (without it the caller hears nothing at all); the forwarded
time is billed from the phone's answer, announcement included, as the carrier bills it.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from daemon.calls.bridge import RINGBACK
from daemon.repositories import forwarding
from daemon.rules.ivr.tariff import ForwardTariff
from emulator import CallerScript, FarEnd
from tests.conftest import DaemonFactory
from tests.ivr.world import NUMBER, ivr_shop

SHOP = "09033334444"
WHISPER = 1.0  # seconds of announcement


async def test_ringback_through_the_announcement_and_billing_from_the_answer(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    shop = await ivr_shop(pool, tmp_path, forwarding=True, long={"whisper": WHISPER})
    await forwarding.set_tariff(pool, shop.tenant_id, ForwardTariff(1, 2))
    flow = {
        "entry": {"default": "fwd"},
        "nodes": {
            "fwd": {
                "kind": "forward",
                "numbers": [SHOP],
                "ring_timeout_s": 5,
                "announcement": shop.g("whisper"),
                "on_fail": "bye",
            },
            "bye": {"kind": "hangup"},
        },
    }
    await shop.publish(flow)
    fs = await shop.start(start_daemon)
    # the shop answers 0.5 s into the ringing and hangs up 2 s after it is bridged to the caller
    result = await fs.place_call(
        CallerScript(destination=NUMBER, far_ends={SHOP: FarEnd("answer", answer_after=0.5, hangup_after=2.0)})
    )
    assert result.errors == []
    (attempt,) = result.bridged_to
    (ringback,) = [h for h in result.heard if h.what.startswith("ringback")]
    (talk,) = [h for h in result.heard if h.what.startswith("far end")]
    assert ringback.what == f"ringback {RINGBACK}"
    assert abs(ringback.start - attempt.at) < 0.1  # from the moment the phone rings ...
    assert 0.5 + WHISPER - 0.05 <= ringback.end - ringback.start <= 0.5 + WHISPER + 0.15  # ... through the announcement
    assert abs(talk.start - ringback.end) < 0.05  # ... until the caller is bridged
    (row,) = await pool.fetch("SELECT * FROM forward_legs WHERE call_uuid = $1::uuid", result.call_uuid)
    assert row["outcome"] == "answered"
    talked_us = row["end_us"] - row["answer_us"]  # from the phone's 200 OK: the announcement is billed
    assert WHISPER + 2.0 - 0.1 <= talked_us / 1e6 <= WHISPER + 2.0 + 0.2
    assert row["charge_yen"] == 2 * row["billsec"]
