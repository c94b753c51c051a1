"""Coaching Dial: the whole call, as one script.

answer
→ identify the caller by caller ID (unknown or withheld: PIN, else "not registered")
→ group selection by keypad (wrong code: once more, then goodbye)
→ limited caller (prepaid, or postpaid with a credit limit) who cannot pay the
  group's first chargeable second: "insufficient balance"
→ free members of the group (none: "all counsellors are busy")
→ call record written; limited caller: "about N minutes", backstop armed
→ hunt: claim a member atomically, ring, next member on busy / no answer / failure
→ talk: billing from the counsellor's answer; warning; cutoff at the deadline
→ the call record and its charge, in one transaction
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from daemon.billing.charges import Tariff
from daemon.billing.deadline import TalkingCall
from daemon.calls import bridge, guidance
from daemon.calls.balance_watch import BalanceWatcher
from daemon.calls.cutoff import Cutoff, wall_us
from daemon.calls.keypad import read_digits
from daemon.calls.numbers import national
from daemon.calls.services import Services
from daemon.db import call_records, directory, hunting, money
from daemon.db.admission import Admission
from daemon.db.directory import Caller, Group
from daemon.db.hunting import Counsellor
from daemon.logs import get_logger
from daemon.outbound.session import CallEnded, Session
from daemon.prompts.catalog import minutes_prompt

_log = get_logger(__name__)

CODE_TRIES = 2
T = TypeVar("T")
PIN_TRIES = 2


@dataclass
class Consultation:
    """State of one Coaching Dial call, shared by the steps below."""

    session: Session
    calls: asyncio.TaskGroup
    svc: Services
    watcher: BalanceWatcher
    tenant_id: int
    call_uuid: uuid.UUID
    caller: Caller | None = None
    group: Group | None = None
    cutoff: Cutoff | None = None
    cutoff_task: asyncio.Task[None] | None = None
    talk: bridge.BridgeResult | None = None


class CoachingDial:
    """The product flow given to :class:`~daemon.calls.entry.CallEntry` for ``coaching`` numbers."""

    def __init__(self, watcher: BalanceWatcher) -> None:
        self.watcher = watcher

    async def __call__(self, session: Session, calls: asyncio.TaskGroup, svc: Services, adm: Admission) -> None:
        assert adm.tenant_id is not None and svc.pool is not None and session.channel is not None
        c = Consultation(session, calls, svc, self.watcher, adm.tenant_id, uuid.UUID(session.uuid))
        prompts = svc.prompts

        await session.execute("answer")
        await guidance.play(session, prompts, "welcome")
        c.caller = await identify(c)
        if c.caller is None:
            return await goodbye(c, "not_registered")
        c.group = await choose_group(c)
        if c.group is None:
            return await goodbye(c, "goodbye")
        if c.caller.limited and c.caller.available_yen < c.group.tariff.charge(c.group.tariff.free_seconds + 1):
            return await goodbye(c, "insufficient_balance")

        members = await hunting.free_members(svc.pool, c.group.id, c.group.strategy)
        if not members:
            svc.metrics.hunts.labels("all_busy").inc()
            return await goodbye(c, "all_counsellors_busy")
        if c.caller.limited and not await announce_minutes(c):
            return await goodbye(c, "insufficient_balance")

        await call_records.open_record(
            svc.pool,
            c.call_uuid,
            tenant_id=c.tenant_id,
            node_id=svc.node_id,
            caller=c.caller,
            caller_number=national(session.channel.caller_id_number) or "",
            group_id=c.group.id,
            tariff=c.group.tariff,
            created_us=session.channel.created_us,
        )
        try:
            await bridge.prepare(session)
            await hunt(c, members)
        finally:
            await asyncio.shield(finish(c))
        if c.talk is None or not c.talk.talked:
            svc.metrics.hunts.labels("no_answer").inc()
            return await goodbye(c, "all_counsellors_busy")
        if c.cutoff is not None and c.cutoff.cut:
            await guidance.play(session, prompts, "balance_exhausted")
        await session.hangup("NORMAL_CLEARING")


async def goodbye(c: Consultation, prompt: str) -> None:
    await guidance.play(c.session, c.svc.prompts, prompt)
    await c.session.hangup("NORMAL_CLEARING")


async def identify(c: Consultation) -> Caller | None:
    """By caller ID first; a withheld or unknown number may key a PIN."""
    pool, channel = c.svc.pool, c.session.channel
    assert pool is not None and channel is not None
    number = national(channel.caller_id_number)
    if number is not None:
        found = await directory.caller_by_number(pool, c.tenant_id, number)
        if found is not None:
            return found
    return await ask(
        c,
        ("enter_pin", "invalid_pin"),
        "caller_pin",
        lambda pin: directory.caller_by_pin(pool, c.tenant_id, pin),
        tries=PIN_TRIES,
        min_digits=4,
        max_digits=8,
    )


async def choose_group(c: Consultation) -> Group | None:
    pool = c.svc.pool
    assert pool is not None
    return await ask(
        c,
        ("choose_group", "invalid_code"),
        "group_code",
        lambda code: directory.group_by_code(pool, c.tenant_id, code),
        tries=CODE_TRIES,
        min_digits=1,
        max_digits=6,
    )


async def ask(
    c: Consultation,
    prompts: tuple[str, str],
    var: str,
    lookup: Callable[[str], Awaitable[T | None]],
    *,
    tries: int,
    min_digits: int,
    max_digits: int,
) -> T | None:
    """Ask for digits until they name something: the first prompt, then the retry prompt."""
    for attempt in range(tries):
        prompt = prompts[0] if attempt == 0 else prompts[1]
        digits = await read_digits(
            c.session, c.svc.prompts, prompt, var=var, min_digits=min_digits, max_digits=max_digits
        )
        if digits is None:
            continue
        found = await lookup(digits)
        if found is not None:
            return found
    return None


async def announce_minutes(c: Consultation) -> bool:
    """Roughly how many minutes the money buys at the group's rate, other live calls included.

    False when the caller's other live calls already use up the money (less
    than a second would be left): there is nothing to announce, nor to sell.
    """
    assert c.caller is not None and c.group is not None and c.svc.pool is not None
    now = wall_us()
    deadline = await money.joint_deadline_of(c.svc.pool, c.caller.id, TalkingCall(now, c.group.tariff))
    if deadline is None:
        return True
    if deadline - now < 1_000_000:
        return False
    await guidance.play(c.session, c.svc.prompts, minutes_prompt((deadline - now) // 60_000_000))
    return True


async def arm_before_ringing(c: Consultation, batch: list[Counsellor]) -> None:
    """Arm FreeSWITCH's backstop before any money can flow, as if a member answered now.

    The highest rate among the members ringing makes it err early; the exact
    deadline replaces it when someone answers (:func:`on_answer`).
    """
    assert c.caller is not None and c.group is not None and c.svc.pool is not None
    if not c.caller.limited:
        return
    tariff = c.group.tariff
    highest = max([m.rate_yen_per_min or 0 for m in batch] + [tariff.rate_yen_per_min])
    worst = Tariff(highest, tariff.free_seconds, tariff.minimum_charge_yen)
    deadline = await money.joint_deadline_of(c.svc.pool, c.caller.id, TalkingCall(wall_us(), worst))
    if c.cutoff is None:
        c.cutoff = Cutoff(
            c.session,
            "",
            warning_seconds=c.group.warning_seconds,
            prompts=c.svc.prompts,
            metrics=c.svc.metrics,
        )
    c.cutoff.update(deadline)
    await c.cutoff.arm_backstop()


async def hunt(c: Consultation, members: list[Counsellor]) -> None:
    """Try members in strategy order until one talks; each is claimed before ringing."""
    assert c.group is not None and c.svc.pool is not None
    pool, group = c.svc.pool, c.group
    rounds = [members] if group.strategy == "ring_all" else [[m] for m in members]
    for batch in rounds:
        claimed = [m for m in batch if await hunting.claim(pool, m.id, c.call_uuid)]
        if not claimed:
            continue
        result: bridge.BridgeResult | None = None
        try:
            await arm_before_ringing(c, claimed)
            result = await bridge.bridge(
                c.session,
                c.calls,
                claimed,
                ring_timeout_s=group.ring_timeout_s,
                shown_number=national(c.session.channel.destination_number if c.session.channel else "") or "",
                on_answer=lambda who, leg, at: on_answer(c, who, leg, at),
            )
        finally:
            talked_id = result.counsellor.id if result and result.talked and result.counsellor else None
            for m in claimed:
                await asyncio.shield(
                    hunting.release(
                        pool,
                        m.id,
                        c.call_uuid,
                        talked=m.id == talked_id,
                        wrapup_seconds=group.wrapup_seconds,
                        max_missed=group.max_missed,
                    )
                )
        c.talk = result
        _log.info("bridge_result", disposition=result.disposition, talked=result.talked)
        if result.talked:
            c.svc.metrics.hunts.labels("answered").inc()
            return
        c.svc.metrics.hunts.labels(result.disposition.lower() or "failed").inc()
        if c.session.hung_up:
            raise CallEnded("caller hung up while ringing")


async def on_answer(c: Consultation, who: Counsellor, leg: uuid.UUID, answer_us: int) -> None:
    """The counsellor answered: billing starts; the cutoff takes the exact deadline."""
    assert c.caller is not None and c.group is not None and c.svc.pool is not None
    rate = who.rate_yen_per_min if who.rate_yen_per_min is not None else c.group.tariff.rate_yen_per_min
    await call_records.mark_talking(
        c.svc.pool,
        c.call_uuid,
        counsellor_id=who.id,
        counsellor_leg=leg,
        answer_us=answer_us,
        rate_yen_per_min=rate,
        caller_id=c.caller.id,
    )
    if not c.caller.limited:
        return
    assert c.cutoff is not None, "armed before ringing"
    c.cutoff.counsellor_leg = str(leg)
    c.watcher.register(c.caller.id, c.call_uuid, c.cutoff)
    await c.watcher.recompute(c.caller.id)
    c.cutoff_task = c.calls.create_task(c.cutoff.run())


async def finish(c: Consultation) -> None:
    """Stop the cutoff, book the charge and close the record (one transaction)."""
    pool = c.svc.pool
    assert pool is not None
    if c.cutoff_task is not None:
        c.cutoff_task.cancel()
    if c.cutoff is not None:
        # before any guidance: the backstop must not end the goodbye
        with contextlib.suppress(CallEnded):
            await c.session.api(f"sched_del {c.session.uuid}")
    if c.caller is not None:
        c.watcher.unregister(c.caller.id, c.call_uuid)
    talk = c.talk
    end_us = talk.end_us if talk is not None and talk.talked else None
    if talk is not None and talk.talked and end_us is None:
        end_us = wall_us()
    cut = c.cutoff is not None and c.cutoff.cut
    ended_by = "cutoff" if cut else ("caller" if talk is not None and talk.caller_hung_up else "counsellor")
    done = await call_records.finish(
        pool,
        c.call_uuid,
        end_us=end_us,
        hangup_cause="ALLOTTED_TIMEOUT" if cut else "NORMAL_CLEARING",
        ended_by=ended_by if talk is not None and talk.talked else "no_answer",
    )
    tenant = str(c.tenant_id)
    if done.billed_seconds:
        c.svc.metrics.billed_seconds.labels(tenant).inc(done.billed_seconds)
        c.svc.metrics.revenue_yen.labels(tenant).inc(done.charge_yen)
    if done.uncollected_yen:
        c.svc.metrics.uncollected_yen.labels(tenant).inc(done.uncollected_yen)
    _log.info("call_charged", billed_seconds=done.billed_seconds, charge_yen=done.charge_yen)
