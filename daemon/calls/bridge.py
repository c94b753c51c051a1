"""Ringing counsellors and bridging the caller to the one who answers.

The bridge runs *without* event-lock, so a ``uuid_broadcast`` to the caller
(the balance warning) plays inside it.  ``continue_on_fail`` and
``hangup_after_bridge=false`` keep the caller's leg, and our control of it,
when a counsellor is busy, does not answer, or hangs up.  Each counsellor leg
gets an ``origination_uuid`` chosen here, so we know which counsellor answered
and can end exactly that leg at the cutoff.  The counsellor sees the service's
number, never the caller's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from daemon.db.hunting import Counsellor
from daemon.esl import Event
from daemon.outbound.session import Session

AnswerHandler = Callable[[Counsellor, uuid.UUID, int], Awaitable[None]]


@dataclass
class BridgeResult:
    disposition: str  # originate_disposition: SUCCESS, NO_ANSWER, USER_BUSY, …
    counsellor: Counsellor | None = None
    leg: uuid.UUID | None = None
    answer_us: int | None = None
    end_us: int | None = None
    caller_hung_up: bool = False

    @property
    def talked(self) -> bool:
        return self.answer_us is not None


def event_time_us(event: Event) -> int:
    value = event.get("Event-Date-Timestamp") or "0"
    return int(value) if value.isdigit() else 0


def dial_string(legs: Sequence[tuple[uuid.UUID, Counsellor]], *, ring_timeout_s: int, shown_number: str) -> str:
    """``{globals}[leg vars]dial,[leg vars]dial`` — comma: ring them all at once."""
    globals_ = (
        f"{{originate_timeout={ring_timeout_s},origination_caller_id_number={shown_number},"
        f"origination_caller_id_name={shown_number},ignore_early_media=true}}"
    )
    return globals_ + ",".join(f"[origination_uuid={leg}]{c.dial_string}" for leg, c in legs)


async def prepare(session: Session) -> None:
    """Channel variables every bridge of this call relies on."""
    await session.execute("set", "continue_on_fail=true")
    await session.execute("set", "hangup_after_bridge=false")


async def bridge(
    session: Session,
    calls: asyncio.TaskGroup,
    counsellors: Sequence[Counsellor],
    *,
    ring_timeout_s: int,
    shown_number: str,
    on_answer: AnswerHandler,
    leg_uuids: Sequence[uuid.UUID] | None = None,
) -> BridgeResult:
    """Ring ``counsellors`` (one, or several at once) and run the talk until it ends.

    ``leg_uuids``: the legs' ``origination_uuid`` s, when the caller recorded them before ringing.
    """
    ids = leg_uuids if leg_uuids is not None else [uuid.uuid4() for _ in counsellors]
    legs = list(zip(ids, counsellors, strict=True))
    by_leg = {str(leg): (leg, c) for leg, c in legs}
    result = BridgeResult(disposition="")
    answered = asyncio.get_running_loop().create_future()

    def watch(event: Event) -> None:
        name = event.name
        if name == "CHANNEL_BRIDGE" and result.answer_us is None:
            other = event.get("Other-Leg-Unique-ID") or event.get("Bridge-B-Unique-ID") or ""
            if other in by_leg:
                result.leg, result.counsellor = by_leg[other]
                answered_at = event.get("Other-Leg-Channel-Answered-Time") or ""
                result.answer_us = int(answered_at) if answered_at.isdigit() and int(answered_at) > 0 else None
                result.answer_us = result.answer_us or event_time_us(event)
                if not answered.done():
                    answered.set_result(None)
        elif name == "CHANNEL_UNBRIDGE" and result.end_us is None:
            result.end_us = event_time_us(event)
        elif name == "CHANNEL_HANGUP":
            result.caller_hung_up = True
            if result.answer_us is not None and result.end_us is None:
                result.end_us = event_time_us(event)

    session.add_hook(watch)
    try:
        running = calls.create_task(
            session.execute(
                "bridge",
                dial_string(legs, ring_timeout_s=ring_timeout_s, shown_number=shown_number),
                lock=False,
            )
        )
        await asyncio.wait({running, answered}, return_when=asyncio.FIRST_COMPLETED)
        if answered.done() and result.counsellor is not None and result.leg is not None:
            assert result.answer_us is not None
            await on_answer(result.counsellor, result.leg, result.answer_us)
        done = await running
    finally:
        session.remove_hook(watch)
        if not answered.done():
            answered.cancel()
    result.disposition = done.get("variable_originate_disposition") or ""
    if result.talked and result.end_us is None:
        result.end_us = event_time_us(done)
    return result
