"""The IVR share of the soak: a shop's flow, what each caller does, what came of it, the audit.

The shop (``tests.ivr.world.ivr_shop``, the forwarding add-on on, 30 s units at
15 yen) publishes: business hours (open all week) → a keypad menu (a 0.5 s
prompt): 1 → information (``sales``), 2 → voicemail, 3 → forwarded to the shop's
two phones in turn (5 s each; busy / no answer on both → ``sorry``); any other
key or none → goodbye.  Per call (seeded):

* 8 % hang up during the menu prompt;
* 27 % key 1; 25 % key 2 and leave a message (ended by ``#``, or by hanging up);
* 35 % key 3: the first phone answers (60 %), or is busy and the second answers
  (20 %), or neither does (10 %), or the caller gives up while it rings (10 %);
  the forwarded talk lasts 1-30 s, ended by either side;
* 5 % key 9 (not on the menu).

The audit: every ``forward_legs`` row ended, each answered leg billed by its own
tariff (``ForwardTariff.charge(talk_seconds(answer, end))``), no line of the
shop left taken, every voicemail's recording on disk.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import asyncpg

from daemon.repositories import forwarding
from daemon.rules.ivr.models import WEEKDAYS
from daemon.rules.ivr.tariff import ForwardTariff, talk_seconds
from emulator import CallerScript, CallResult, FarEnd, Keys
from tests.ivr.world import TOLL_FREE, heard, ivr_shop

NUMBER = TOLL_FREE
SHOP_A, SHOP_B = "09011112222", "09033334444"
TARIFF = ForwardTariff(30, 15)
MENU_SECONDS = 0.5


async def shop(dsn: str, folder: Path, lines: int) -> int:
    """The shop's tenant, number, guidance and published flow; returns the tenant id."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        ivr = await ivr_shop(pool, folder, lines=lines, forwarding=True, numbers=(NUMBER,), long={"menu": MENU_SECONDS})
        await forwarding.set_tariff(pool, ivr.tenant_id, TARIFF)
        g = ivr.g
        await ivr.publish(
            {
                "entry": {"default": "hours"},
                "nodes": {
                    "hours": {
                        "kind": "hours",
                        "week": {day: ["00:00-24:00"] for day in WEEKDAYS},
                        "public_holidays_closed": False,
                        "open": "menu",
                        "closed": "bye",
                    },
                    "menu": {
                        "kind": "menu",
                        "prompt": g("menu"),
                        "options": {"1": "info", "2": "vm", "3": "fwd"},
                        "first_digit_timeout_ms": 1000,
                        "max_retries": 0,
                        "fallback": "bye",
                    },
                    "info": {"kind": "play", "guidance": [g("sales")], "next": "bye"},
                    "vm": {"kind": "voicemail", "prompt": g("leave"), "max_seconds": 10, "silence_seconds": 3},
                    "fwd": {
                        "kind": "forward",
                        "numbers": [SHOP_A, SHOP_B],
                        "ring_timeout_s": 5,
                        "on_fail": "sorry",
                    },
                    "sorry": {"kind": "play", "guidance": [g("sorry")], "next": "bye"},
                    "bye": {"kind": "hangup"},
                },
            }
        )
        return ivr.tenant_id
    finally:
        await pool.close()


def _talk(rng: random.Random) -> tuple[FarEnd, float | None]:
    """The answering phone, and when the caller hangs up after the bridge (None: the phone hangs up)."""
    talk = rng.uniform(1, 30)
    by_phone = rng.random() < 0.5
    return FarEnd("answer", answer_after=rng.uniform(0.2, 1.5), hangup_after=talk if by_phone else None), (
        None if by_phone else talk
    )


def _key(rng: random.Random, digit: str) -> list[str | Keys]:
    """The menu choice, keyed a moment after the prompt."""
    return [Keys(digit, delay=rng.uniform(0.05, 0.5), interval=0.05)]


def script(n: int, rng: random.Random) -> CallerScript:
    caller = f"070{n % 10**8:08d}"
    roll = rng.random()
    if roll < 0.08:
        return CallerScript(caller=caller, destination=NUMBER, hangup_after=rng.uniform(0.05, MENU_SECONDS - 0.05))
    if roll < 0.35:
        return CallerScript(caller=caller, destination=NUMBER, digits=_key(rng, "1"))
    if roll < 0.60:
        message = Keys("#", delay=rng.uniform(0.3, 2.0))  # '#' after speaking a while
        if rng.random() < 0.3:  # hangs up to end the message
            return CallerScript(
                caller=caller, destination=NUMBER, digits=_key(rng, "2"), hangup_after=rng.uniform(2, 4)
            )
        return CallerScript(caller=caller, destination=NUMBER, digits=[*_key(rng, "2"), message])
    if roll < 0.95:
        phones = rng.random()
        hangup_after: float | None = None
        after_bridge: float | None = None
        if phones < 0.6:
            a, after_bridge = _talk(rng)
            far = {SHOP_A: a}
        elif phones < 0.8:
            b, after_bridge = _talk(rng)
            far = {SHOP_A: FarEnd("busy"), SHOP_B: b}
        elif phones < 0.9:
            far = {SHOP_A: FarEnd("noanswer"), SHOP_B: FarEnd("busy")}
        else:
            far = {SHOP_A: FarEnd("noanswer")}
            hangup_after = rng.uniform(1.5, 4.0)  # gives up while the shop's phone rings
        return CallerScript(
            caller=caller,
            destination=NUMBER,
            digits=_key(rng, "3"),
            far_ends=far,
            hangup_after=hangup_after,
            hangup_after_bridge=after_bridge,
        )
    return CallerScript(caller=caller, destination=NUMBER, digits=_key(rng, "9"))


def outcome(result: CallResult) -> str:
    """What the caller experienced, from what the emulator saw."""
    names = heard(result)
    if "busy" in names:
        return "ivr_refused_no_line"
    if any(b.outcome == "SUCCESS" for b in result.bridged_to):
        return "ivr_forwarded"
    if any(app == "record" for app, _ in result.apps):
        return "ivr_voicemail"
    if "sorry" in names:
        return "ivr_forward_unanswered"
    if "sales" in names:
        return "ivr_menu"
    if result.hangup_by == "caller":
        return "ivr_hung_up_early"  # during the menu prompt, or while the shop's phone rang
    if result.hangup_by == "app" and "menu" in names:
        return "ivr_menu_no_choice"  # a key not on the menu: goodbye
    return f"ivr_other_{result.hangup_by}"


async def audit(conn: asyncpg.Connection, tenant: int) -> dict[str, int]:
    """Every figure but the counts must be 0."""
    answered = await conn.fetch(
        "SELECT answer_us, end_us, billsec, unit_seconds, yen_per_unit, charge_yen FROM forward_legs"
        " WHERE tenant_id = $1 AND state = 'ended' AND outcome = 'answered'",
        tenant,
    )
    paths = [r["path"] for r in await conn.fetch("SELECT path FROM voicemails WHERE tenant_id = $1", tenant)]
    on_disk = await asyncio.to_thread(lambda: sum(Path(p).exists() for p in paths))
    return {
        "forward_legs": await conn.fetchval("SELECT count(*) FROM forward_legs WHERE tenant_id = $1", tenant),
        "forward_legs_answered": len(answered),
        "forward_charges_yen": sum(r["charge_yen"] or 0 for r in answered),
        "voicemails": len(paths),
        "forward_legs_open": await conn.fetchval(
            "SELECT count(*) FROM forward_legs WHERE tenant_id = $1 AND state <> 'ended'", tenant
        ),
        "forward_legs_misbilled": sum(1 for r in answered if not billed_right(r)),
        "voicemails_without_recording": len(paths) - on_disk,
        "ivr_lines_taken": await conn.fetchval("SELECT count(*) FROM active_calls WHERE tenant_id = $1", tenant),
    }


def billed_right(leg: asyncpg.Record) -> bool:
    if leg["answer_us"] is None or leg["end_us"] is None:
        return False
    billsec = talk_seconds(leg["answer_us"], leg["end_us"])
    tariff = ForwardTariff(leg["unit_seconds"], leg["yen_per_unit"])
    return bool(leg["billsec"] == billsec and leg["charge_yen"] == tariff.charge(billsec))
