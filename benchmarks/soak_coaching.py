"""The Coaching Dial share of the soak: what each caller does, what came of it, and the money.

A caller (one of ``benchmarks.coaching.populate``'s, each with a one-member
group) keys their group code; then, per call (seeded):

* the counsellor is busy (10 %) or does not answer (8 %);
* the caller hangs up while it rings (5 %) or while keying the code (4 %);
* otherwise they talk: the counsellor hangs up after 1-30 s, or the caller does,
  or nobody does and the talk goes on until the money runs out (the caller gives
  up after two minutes at the latest).

The money (:class:`Money`): every caller starts with a minute's worth; a
customer who runs low (under 20 s of talk) pays in 30-90 s more some seconds later
(15 s on average; a call placed before that hears "insufficient balance"),
and small transfers (10-60 yen) land at random meanwhile; either kind often
lands during a call (extending the talk's deadline).  Every deposit is a ledger row.  So most calls
talk, the ones nobody ends are cut off at the balance, and "insufficient
balance" stays the exception it is in real life (most customers pay in before
calling again).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable

import asyncpg

from benchmarks.coaching import NUMBER, RATE
from daemon.repositories import ledger
from emulator import CallerScript, CallResult, FarEnd, Keys
from tests.ivr.world import heard

TALK_CAP = 120.0  # the caller gives up after two minutes of talk at the latest
LOW = RATE * 20 // 60  # under 20 s of talk left: the customer pays in
PAYS_IN_AFTER = 15.0  # seconds, on average (exponential), after running low
TICK = 0.2


def script(i: int, rng: random.Random) -> CallerScript:
    roll = rng.random()
    far: FarEnd
    hangup_after: float | None = None  # seconds after our answer (welcome, keypad, ringing, talk)
    hangup_after_bridge: float | None = TALK_CAP
    if roll < 0.10:
        far = FarEnd("busy")
    elif roll < 0.18:
        far = FarEnd("noanswer")
    elif roll < 0.23:
        far = FarEnd("answer", answer_after=3.0)
        hangup_after = rng.uniform(0.8, 2.5)  # gives up while it rings
    elif roll < 0.27:
        far = FarEnd("answer", answer_after=0.5)
        hangup_after = rng.uniform(0.0, 0.2)  # hangs up while keying the code
    else:
        talk = rng.uniform(1, 30)
        who = rng.random()
        far = FarEnd("answer", answer_after=rng.uniform(0.1, 1.0), hangup_after=talk if who < 0.3 else None)
        hangup_after_bridge = talk if 0.3 <= who < 0.6 else TALK_CAP
    return CallerScript(
        caller=f"090{i:08d}",
        destination=NUMBER,
        digits=[Keys(f"{100 + i}#", delay=0.05, interval=0.05)],
        far_ends={f"080{i:08d}": far},
        hangup_after=hangup_after,
        hangup_after_bridge=hangup_after_bridge,
    )


def outcome(result: CallResult) -> str:
    """What the caller experienced, from what the emulator saw."""
    names = heard(result)
    if "busy" in names:
        return "refused_no_line"
    if "insufficient_balance" in names:
        return "refused_no_money"
    if "balance_exhausted" in names or result.hangup_by == "sched_hangup":
        return "cut_off_at_balance"
    if any(b.outcome == "SUCCESS" for b in result.bridged_to):
        return "talked"
    if "all_counsellors_busy" in names:
        return "refused_busy"  # the counsellor was busy or did not answer
    if result.hangup_by == "caller":
        return "hung_up_early"
    return f"other_{result.hangup_by}"


class Money:
    """The customers' deposits while the calls run; ``talking(caller)`` tells whether one is in a call."""

    def __init__(self, dsn: str, tenant: int, callers: list[int], rng: random.Random, concurrent: int) -> None:
        self.dsn, self.tenant, self.callers, self.rng = dsn, tenant, callers, rng
        self.per_tick = max(1, concurrent // 40)  # top-ups at most: far more than the callers run low
        self.due: dict[int, float] = {}  # caller id → when (time.monotonic()) that low customer pays in
        self.transfer_chance = min(1.0, concurrent / 200)  # a few yen a second per call in flight, at most
        self.top_ups = 0
        self.transfers = 0
        self.during_calls = 0

    async def seed(self) -> None:
        """A minute's worth each to start with."""
        pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4)
        assert pool is not None
        try:
            for caller in self.callers:
                await self._deposit(pool, caller, RATE)
        finally:
            await pool.close()

    async def _deposit(self, pool: asyncpg.Pool, caller: int, yen: int) -> None:
        await ledger.post(pool, self.tenant, caller, "deposit", yen, idempotency_key=uuid.uuid4().hex)

    async def run(self, stop: asyncio.Event, talking: Callable[[int], bool]) -> None:
        pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
        assert pool is not None
        try:
            while not stop.is_set():
                now = time.monotonic()
                for r in await pool.fetch(
                    "SELECT id FROM callers WHERE tenant_id = $1 AND balance_yen < $2", self.tenant, LOW
                ):
                    self.due.setdefault(r["id"], now + self.rng.expovariate(1 / PAYS_IN_AFTER))
                paying = [caller for caller, at in self.due.items() if at <= now][: self.per_tick]
                for caller in paying:
                    del self.due[caller]
                payers = [(caller, RATE * self.rng.randint(30, 90) // 60) for caller in paying]
                self.top_ups += len(payers)
                if self.rng.random() < self.transfer_chance:  # a small transfer out of the blue
                    payers.append((self.rng.choice(self.callers), self.rng.randint(10, 60)))
                    self.transfers += 1
                for caller, yen in payers:
                    self.during_calls += talking(caller)
                    await self._deposit(pool, caller, yen)
                await asyncio.sleep(TICK)
        finally:
            await pool.close()
