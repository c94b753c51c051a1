"""What a caller meets when the chosen group is busy and the group has a waiting line.

every member busy (or others already waiting)
→ a limited caller whose money covers no member of the group (on duty or not)
  for its minimum talk, their other live calls counted: "insufficient balance"
  (never queued; the rule of daemon.calls.purse)
→ "all busy: 1 to wait, 2 to leave" (keys typed ahead count)
→ line full: "too many waiting", goodbye
→ "you will be connected in turn; # to leave" and the position
→ hold music; the position again every ``queue_announce_s``
→ a member is claimed for this call: the hold is broken, the hunt rings them
  (billing starts at their answer, as for any call; nothing while waiting)
→ that member does not answer (busy, no answer, refused), or the money does not
  cover them for the minimum talk (never rung, no miss): the caller is back at
  their place, the head of the line mostly (:func:`back_in_line`), hears the
  hold again and is handed the next free member; the one who did not answer
  only once :data:`MISSED_AGAIN_S` have passed (for a named counsellor, a
  one-member group, there is nobody else to wait for), the one the money does
  not cover never again
→ ``#``, or ``queue_max_wait_s`` gone (counted from the first join): a
  guidance, the call ends

Built on the primitives emulator/README.md lists as replayed captures: the
hold is an unlocked ``playback`` of a looping ``tone_stream`` (broadcasts play
inside it and it resumes), ``playback_terminators`` ends it on the leave key,
``uuid_break`` (never ``all``) ends it before the bridge, and a caller hanging
up ends it with ``PLAYBACK ERROR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from daemon.calls import guidance, purse
from daemon.calls.context import CallContext
from daemon.calls.keypad import read_choice
from daemon.calls.waiting.line import WaitingLine
from daemon.esl import Event
from daemon.logs import get_logger
from daemon.outbound.session import CallEnded
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.prompts.catalog import queue_position_prompt
from daemon.repositories import hunting, waiting
from daemon.repositories.callers import Caller
from daemon.repositories.groups import Group
from daemon.repositories.hunting import Counsellor

_log = get_logger(__name__)

#: Hold music: a soft three-note chime and a pause, for ever (until broken or the leave key).
HOLD = "tone_stream://%(400,0,523);%(400,0,659);%(400,0,784);%(2000,0,0);loops=-1"
WAIT_KEY, LEAVE_CHOICE = "1", "2"
LEAVE_KEY = "#"
#: uuid_break ends the innermost playback: a position announcement playing inside the hold
#: ends first, so the hold may need a second break.
BREAK_TRIES = 5
BREAK_WAIT_S = 0.3
#: A member handed from the line who did not answer is handed to that caller again after this long (s),
#: when still free (mod_callcenter's no-answer-delay-time; ``max_missed`` misses in a row take them off duty).
MISSED_AGAIN_S = 30.0

Ended = Literal["left", "timeout"]


@dataclass(frozen=True, slots=True)
class Place:
    """A caller's place in the line, kept while the member handed to them rings: a miss gives it back."""

    joined_at: datetime  # the database's time of the first join: the place in the whole line
    started: float  # time.monotonic() of the first join: the maximum wait counts from it
    passed_over: tuple[Bar, ...] = ()  # members handed to this call who did not answer (or cost too much)


@dataclass(frozen=True, slots=True)
class Bar:
    """A member not handed to this call again before ``until`` (time.monotonic()); None: never again."""

    counsellor_id: int
    until: float | None

    def passed(self, now: float) -> waiting.Passed | None:
        """The bar as the line keeps it (seconds still to run), None once lifted."""
        if self.until is None:
            return waiting.Passed(self.counsellor_id, None)
        return waiting.Passed(self.counsellor_id, self.until - now) if self.until > now else None


@dataclass(frozen=True, slots=True)
class Turn:
    """Whom the hunt rings: the free members found, or the one handed from the line (then ``place`` is kept)."""

    members: list[Counsellor]
    place: Place | None = None


async def serve(
    call: CallContext, caller: Caller, group: Group, members: list[Counsellor], wallet: purse.Wallet
) -> Turn | None:
    """The members to hunt: ``members`` as found, or the one claimed while the caller waited.

    None: the call is over (the caller heard why).  Without a waiting line, or
    with members free and nobody waiting, nothing changes.
    """
    line = call.services.waiting
    if line is None or not group.queue_enabled:
        return Turn(members)
    live = line.live_seconds
    if members and not await waiting.waiting_count(call.pool, group.id, live):
        return Turn(members)
    if caller.limited and not await _affordable(call, group, wallet):
        await _goodbye(call, "insufficient_balance")
        return None
    choice = await read_choice(call.session, call.prompts, "queue_offer", WAIT_KEY + LEAVE_CHOICE)
    if choice != WAIT_KEY:
        await _goodbye(call, "goodbye")
        return None
    started = time.monotonic()
    joined = await waiting.join(
        call.pool, _waiter(call, line, group, caller), max_length=group.queue_max_length, live_seconds=live
    )
    if joined is None:
        call.metrics.hunts.labels("queue_full").inc()
        await _goodbye(call, "queue_full")
        return None
    _log.info("queue_joined", group_id=group.id, position=joined.position)
    return await _queue(call, line, group, Place(joined.joined_at, started), joined.position)


async def back_in_line(
    call: CallContext, caller: Caller, group: Group, wallet: purse.Wallet, turn: Turn, rung: Sequence[Counsellor]
) -> Turn | None:
    """The member handed from the line (``turn``) did not answer (``rung``), or is out of the money's
    reach (not rung): the caller waits again at their place.

    Their place is the one they first took (the head of the line, unless
    someone waited longer), the maximum wait still counts from then, and the
    member is not handed to them again: for :data:`MISSED_AGAIN_S` after
    their miss, or never if the money does not cover them.  None: the call is
    over (the caller heard why).
    """
    line = call.services.waiting
    assert line is not None and turn.place is not None, "only a turn from the line goes back to it"
    # a member handed but never rung (the money does not cover them) is still claimed: free them for the
    # waiters behind, without counting a miss (a member who rang was released by the hunt)
    await asyncio.shield(hunting.release_all_of_call(call.pool, call.call_uuid))
    now = time.monotonic()
    missed = {m.id for m in rung}
    bars = (Bar(m.id, now + MISSED_AGAIN_S if m.id in missed else None) for m in turn.members)
    place = replace(turn.place, passed_over=(*turn.place.passed_over, *bars))
    if now >= place.started + group.queue_max_wait_s:
        call.metrics.hunts.labels("queue_timeout").inc()
        await _goodbye(call, "queue_timeout")
        return None
    if caller.limited and not await _affordable(call, group, wallet):
        await _goodbye(call, "insufficient_balance")
        return None
    position = await waiting.rejoin(
        call.pool,
        _waiter(call, line, group, caller),
        joined_at=place.joined_at,
        passed_over=[p for b in place.passed_over if (p := b.passed(time.monotonic())) is not None],
        live_seconds=line.live_seconds,
    )
    _log.info(
        "queue_rejoined", group_id=group.id, position=position, passed_over=[b.counsellor_id for b in place.passed_over]
    )
    return await _queue(call, line, group, place, position)


async def _queue(call: CallContext, line: WaitingLine, group: Group, place: Place, position: int) -> Turn | None:
    """Wait in the line at ``position`` until a member is handed over (their turn), or the call ends."""
    outcome: int | Ended | None = None
    try:
        outcome = await _wait(call, line, group, place, position)
    finally:
        line.forget(group.id, call.call_uuid)
        offered = await asyncio.shield(waiting.leave(call.pool, call.call_uuid))
        if offered is not None and (outcome is None or outcome == "left"):  # gone, or leaving: free for the next
            await asyncio.shield(hunting.release_all_of_call(call.pool, call.call_uuid))
            offered = None
    if offered is not None:  # also when the time ran out the instant a member was claimed
        member = await waiting.claimed_counsellor(
            call.pool, offered, call.call_uuid, dial_template=call.services.settings.counsellor_dial_template
        )
        if member is not None:
            _log.info("queue_served", group_id=group.id, counsellor_id=member.id)
            return Turn([member], place)
    call.metrics.hunts.labels("queue_left" if outcome == "left" else "queue_timeout").inc()
    await _goodbye(call, "goodbye" if outcome == "left" else "queue_timeout")
    return None


def _waiter(call: CallContext, line: WaitingLine, group: Group, caller: Caller) -> waiting.Waiter:
    return waiting.Waiter(call.tenant_id, group.id, call.call_uuid, line.node_id, caller.id)


async def _affordable(call: CallContext, group: Group, wallet: purse.Wallet) -> bool:
    """Does the caller's money cover a member of the group, for the line (:func:`purse.may_wait`)?"""
    rates = await hunting.group_rates(call.pool, call.tenant_id, group.id)
    return bool(rates) and purse.may_wait(await wallet.purse(), rates[0])


async def _wait(call: CallContext, line: WaitingLine, group: Group, place: Place, position: int) -> int | Ended:
    """Hold the caller until a member is claimed for them (the member's id), the leave key, or the time limit.

    A caller hanging up raises :class:`CallEnded`.
    """
    session = call.session
    claimed = line.expect(group.id, call.call_uuid)
    await session.execute("set", f"playback_terminators={LEAVE_KEY}")
    joined = await session.execute(
        "playback", guidance.sequence(call.prompts, ["queue_joined", queue_position_prompt(position)])
    )
    if joined.get("variable_playback_terminator_used") == LEAVE_KEY:
        return "left"
    if claimed.done():  # a member was free the moment the caller joined: no music to break
        return claimed.result()
    hold = call.calls.create_task(_hold(call))
    try:
        next_announcement = time.monotonic() + group.queue_announce_s
        deadline = place.started + group.queue_max_wait_s
        while True:
            timeout = max(0.0, min(deadline, next_announcement) - time.monotonic())
            either: list[asyncio.Future[Any]] = [hold, claimed]
            await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if claimed.done():
                await _break(call, hold)
                return claimed.result()
            if hold.done():
                done = hold.result()
                if done is None or session.hung_up:
                    raise CallEnded("caller hung up while waiting")
                if done.get("variable_playback_terminator_used") == LEAVE_KEY:
                    return "left"
                hold = call.calls.create_task(_hold(call))  # ended by nothing of ours: the music goes on
                continue
            now = time.monotonic()
            if now >= deadline:
                await _break(call, hold)
                return "timeout"
            if now >= next_announcement:
                next_announcement = now + group.queue_announce_s
                await _announce(call, line)
    finally:
        if not hold.done():
            hold.cancel()


async def _hold(call: CallContext) -> Event | None:
    """The hold music, without event-lock so the position announcements play inside it."""
    try:
        return await call.session.execute("playback", HOLD, lock=False)
    except CallEnded:
        return None


async def _announce(call: CallContext, line: WaitingLine) -> None:
    """Where the caller stands now, played over the music (``uuid_broadcast … aleg``).

    With the database away the announcement is skipped: the caller keeps their place.
    """
    try:
        asking = waiting.position(call.pool, call.call_uuid, line.live_seconds)
        place = await within(call.services.settings.db_timeout_seconds, asking)
    except DB_ERRORS as exc:
        _log.warning("queue_position_unknown", error=repr(exc))
        return
    if place is None:
        return
    path = guidance.source(call.prompts, queue_position_prompt(place))
    await call.session.api(f"uuid_broadcast {call.session.uuid} {path} aleg")


async def _break(call: CallContext, hold: asyncio.Task[Event | None]) -> None:
    """End the hold (its EXECUTE_COMPLETE is awaited) so what follows does not run inside it."""
    for _ in range(BREAK_TRIES):
        if hold.done():
            break
        await call.session.api(f"uuid_break {call.session.uuid}")
        await asyncio.wait({hold}, timeout=BREAK_WAIT_S)
    if not hold.done() or hold.result() is None or call.session.hung_up:
        raise CallEnded("the hold did not end")


async def _goodbye(call: CallContext, prompt: str) -> None:
    with contextlib.suppress(CallEnded):
        await guidance.play(call.session, call.prompts, prompt)
    await call.session.hangup("NORMAL_CLEARING")
