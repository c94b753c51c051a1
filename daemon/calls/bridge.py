"""Ringing one or several numbers and bridging the caller to the one who answers.

Used by Coaching Dial (counsellors) and reusable for the IVR's call forwarding::

    await bridge.prepare(session)
    ring = await bridge.ring(session, calls, targets, ring_timeout_s=20, shown_number="0312345678")
    answer = await ring.answered()          # None: nobody answered (busy, no answer, failure, caller gone)
    if answer is not None:
        ...                                 # billing starts at answer.answer_us, on leg answer.leg
    result = await ring.ended()             # the talk is over (or never started)

The bridge runs *without* event-lock, so a ``uuid_broadcast`` to the caller
(the balance warning) plays inside it.  ``continue_on_fail`` and
``hangup_after_bridge=false`` keep the caller's leg, and our control of it,
when a target is busy, does not answer, or hangs up.  Each leg gets an
``origination_uuid`` chosen here, so we know who answered and can end exactly that
leg.  The far end sees ``shown_number`` (for Coaching Dial the service's number,
never the caller's).  Several targets ring at once (``simultaneous``, ``,`` in the
dial string) or one after the other (``|``), each for ``ring_timeout_s``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from daemon.esl import Event
from daemon.esl.encoding import check_safe
from daemon.outbound.session import CallEnded, Session

#: Japan's ringback (呼出音): 400 Hz, 1 s on, 2 s off (the 16 Hz modulation left out).
RINGBACK = "%(1000,2000,400)"


class Dialable(Protocol):
    @property
    def dial_string(self) -> str: ...


T = TypeVar("T", bound=Dialable)


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """Who answered: the target, its leg (``origination_uuid``) and FreeSWITCH's answer time (µs)."""

    target: T
    leg: uuid.UUID
    answer_us: int


@dataclass(frozen=True, slots=True)
class BridgeResult(Generic[T]):
    disposition: str  # originate_disposition: SUCCESS, NO_ANSWER, USER_BUSY, …
    answer: Answer[T] | None
    end_us: int | None  # end of the talk (FreeSWITCH's clock); None when nobody answered
    caller_hung_up: bool

    @property
    def talked(self) -> bool:
        return self.answer is not None


def event_time_us(event: Event) -> int:
    value = event.get("Event-Date-Timestamp") or "0"
    return int(value) if value.isdigit() else 0


def dial_string(
    legs: Sequence[tuple[uuid.UUID, Dialable]], *, ring_timeout_s: int, shown_number: str, simultaneous: bool = True
) -> str:
    """``{globals}[leg vars]dial,[leg vars]dial`` — comma: ring them all at once; ``|``: one after the other."""
    check_safe(shown_number, "shown number")
    if not shown_number.isdigit() and shown_number:
        raise ValueError(f"shown number {shown_number!r} is not digits")
    globals_ = (
        f"{{originate_timeout={ring_timeout_s},origination_caller_id_number={shown_number},"
        f"origination_caller_id_name={shown_number},ignore_early_media=true}}"
    )
    joiner = "," if simultaneous else "|"
    return globals_ + joiner.join(f"[origination_uuid={leg}]{check_safe(t.dial_string)}" for leg, t in legs)


async def prepare(session: Session) -> None:
    """Channel variables every bridge of this call relies on.

    The caller is answered, and ``ignore_early_media`` keeps the far end's own
    ringing from them: without ``ringback`` they would hear silence while the
    phone rings, and hang up thinking the line is dead.  The originate plays
    ``ringback`` to the caller's channel until CHANNEL_BRIDGE
    (forward_announcement_ringback); ``transfer_ringback``, which an answered
    channel prefers when it is set (switch_ivr_originate.c), gets the same tone.
    """
    await session.execute("set", "continue_on_fail=true")
    await session.execute("set", "hangup_after_bridge=false")
    await session.execute("set", f"ringback={RINGBACK}")
    await session.execute("set", f"transfer_ringback={RINGBACK}")


class Ring(Generic[T]):
    """One running ``bridge``: ringing, then (maybe) the talk."""

    def __init__(
        self, session: Session, calls: asyncio.TaskGroup, legs: Sequence[tuple[uuid.UUID, T]], dial: str
    ) -> None:
        self.session = session
        self._by_leg = {str(leg): (leg, target) for leg, target in legs}
        self._answer: Answer[T] | None = None
        self._answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._end_us: int | None = None
        self._caller_hung_up = False
        self._result: BridgeResult[T] | None = None
        session.add_hook(self._watch)
        self._running = calls.create_task(self._bridge(dial))
        self._running.add_done_callback(lambda _: self._settle())

    async def _bridge(self, dial: str) -> Event | None:
        """The bridge application; None if the channel went before it completed (no task-group failure)."""
        try:
            return await self.session.execute("bridge", dial, lock=False)
        except CallEnded:
            return None

    def _settle(self) -> None:
        if not self._answered.done():
            self._answered.set_result(None)

    def _watch(self, event: Event) -> None:
        name = event.name
        if name == "CHANNEL_BRIDGE" and self._answer is None:
            other = event.get("Other-Leg-Unique-ID") or event.get("Bridge-B-Unique-ID") or ""
            if other in self._by_leg:
                leg, target = self._by_leg[other]
                answered_at = event.get("Other-Leg-Channel-Answered-Time") or ""
                at = int(answered_at) if answered_at.isdigit() and int(answered_at) > 0 else event_time_us(event)
                self._answer = Answer(target, leg, at)
                self._settle()
        elif name == "CHANNEL_UNBRIDGE" and self._end_us is None:
            self._end_us = event_time_us(event)
        elif name == "CHANNEL_HANGUP":
            self._caller_hung_up = True
            if self._answer is not None and self._end_us is None:
                self._end_us = event_time_us(event)

    async def answered(self) -> Answer[T] | None:
        """The answer, as soon as the caller is bridged to someone; None if the bridge ended without."""
        await asyncio.shield(self._answered)
        return self._answer

    async def ended(self) -> BridgeResult[T]:
        """Wait for the bridge application to return.

        If the channel is gone before its EXECUTE_COMPLETE could arrive, what the
        events told (answer, CHANNEL_UNBRIDGE / CHANNEL_HANGUP) is the result.
        """
        if self._result is not None:
            return self._result
        try:
            done = await self._running
        finally:
            self.session.remove_hook(self._watch)
        if done is None:
            self._caller_hung_up = True
        disposition = (done.get("variable_originate_disposition") or "") if done is not None else ""
        end_us = self._end_us
        if self._answer is not None and end_us is None:
            end_us = event_time_us(done) if done is not None else None
        self._result = BridgeResult(disposition, self._answer, end_us, self._caller_hung_up)
        return self._result


async def ring(
    session: Session,
    calls: asyncio.TaskGroup,
    targets: Sequence[T],
    *,
    ring_timeout_s: int,
    shown_number: str,
    simultaneous: bool = True,
    leg_uuids: Sequence[uuid.UUID] | None = None,
) -> Ring[T]:
    """Start ringing ``targets`` (one, or several at once or in turn); see :class:`Ring`.

    ``leg_uuids``: the legs' ``origination_uuid`` s, one per target, when the caller
    has to record them before anything rings (the IVR's ``forward_legs`` rows);
    by default each leg gets a fresh one.
    """
    if not targets:
        raise ValueError("nothing to ring")
    ids = list(leg_uuids) if leg_uuids is not None else [uuid.uuid4() for _ in targets]
    if len(ids) != len(targets) or len(set(ids)) != len(ids):
        raise ValueError("one distinct leg uuid per target")
    legs = list(zip(ids, targets, strict=True))
    dial = dial_string(legs, ring_timeout_s=ring_timeout_s, shown_number=shown_number, simultaneous=simultaneous)
    return Ring(session, calls, legs, dial)
