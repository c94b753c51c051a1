"""Coaching Dial: the whole call, as one script.

answer
→ identify the caller by caller ID (unknown or withheld: PIN, else "not registered")
  (every refusal before the hunt is put on record with its reason: daemon.calls.attempts)
→ group selection by keypad (wrong code: once more, then goodbye); ``welcome`` is
  the lead-in of the first question, so a regular caller may key the code during it;
  ``*`` (+ a code) reads the balance and the minutes it buys, then asks again
→ limited caller (prepaid, or postpaid with a credit limit) whose money covers no
  member of the group for its minimum talk: the groups it does cover are named and
  the question asked once more; none: "insufficient balance" (daemon.calls.purse)
→ free members of the group the caller can afford (none: "all counsellors are busy")
→ call record written, ringback set
→ hunt: limited caller: "about N minutes" at the rate of the member(s) about to ring;
  claim a member atomically, backstop armed, ring; next member on busy / no answer / failure
  (a member handed from the waiting line who does not answer, or whom the money does not
  cover, sends the caller back to their place in the line: daemon.calls.waiting.flow)
→ talk: billing from the counsellor's answer; warning; cutoff at the deadline
→ the call record and its charge, in one transaction
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from daemon.calls import attempts, bridge, guidance, purse
from daemon.calls.balance_watcher import BalanceWatcher
from daemon.calls.context import CallContext
from daemon.calls.cutoff import Backstop, Cutoff, wall_us
from daemon.calls.keypad import read_digits
from daemon.calls.waiting import flow as waiting_flow
from daemon.logs import get_logger
from daemon.outbound.session import CallEnded
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.repositories import call_records, callers, groups, hunting, money
from daemon.repositories.callers import Caller
from daemon.repositories.groups import Group
from daemon.repositories.hunting import Counsellor
from daemon.rules.billing.charges import Tariff
from daemon.rules.billing.deadline import TalkingCall

_log = get_logger(__name__)

CODE_TRIES = 2
PIN_TRIES = 2
BALANCE_READOUTS = 3  # ``*`` in the group menu, at most this often per call
#: the group menu's keys: a code, or ``*`` and maybe a code (the balance)
_MENU_KEYS = r"^\*?[0-9]*$"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sale:
    """An identified caller who chose a group: what the paid part of the call needs."""

    call: CallContext
    caller: Caller
    group: Group
    wallet: purse.Wallet  # the caller's money, read once for the questions asked together


@dataclass
class Talk:
    """How the hunt went: the backstop armed before ringing, who answered, the cutoff, the bridge's end."""

    backstop: Backstop
    picture: money.MoneyPicture | None = None  # the caller's money when the backstop was armed
    announced: str | None = None  # the last minutes announcement played (not repeated for the next member)
    answer: bridge.Answer[Counsellor] | None = None
    cutoff: Cutoff | None = None
    cutoff_task: asyncio.Task[None] | None = None
    result: bridge.BridgeResult[Counsellor] | None = None

    async def over(self) -> None:
        """The talk has ended: no cutoff, no backstop any more (only our own goodbye remains).

        Done as soon as the bridge returns, before any database work: with the
        database hanging, the counsellor's release and the settlement take up to
        their timeouts, and the backstop would otherwise end the caller's leg
        before the guidance that says why.
        """
        if self.cutoff is not None:
            self.cutoff.stop()  # no re-arm may follow the sched_del below
        if self.cutoff_task is not None:
            self.cutoff_task.cancel()
        with contextlib.suppress(CallEnded):
            await self.backstop.disarm()


class CoachingDial:
    """The product flow given to :class:`~daemon.calls.entry.CallEntry` for ``coaching`` numbers."""

    def __init__(self, watcher: BalanceWatcher) -> None:
        self.watcher = watcher

    async def __call__(self, call: CallContext) -> None:
        session = call.session
        await session.execute("answer")
        lead_in = ["welcome"]
        caller = await by_caller_id(call)
        if caller is None:
            keyed: list[str] = []
            caller = await by_pin(call, lead_in, keyed)
            lead_in = []
            if caller is None:
                attempts.note(call, "wrong_pin" if keyed else "unknown_caller")
                return await goodbye(call, "not_registered")
        chosen = await choose_group(call, caller, lead_in)
        wallet = purse.Wallet(call.pool, caller.id)
        group: Group | str | None = chosen
        if chosen is not None and caller.limited:
            group = await affordable_group(call, caller, wallet, chosen)
        if not isinstance(group, Group):
            reason = "no_money" if group == "insufficient_balance" else "no_group"
            attempts.note(call, reason, caller_id=caller.id, group_id=chosen.id if chosen is not None else None)
            return await goodbye(call, group or "goodbye")

        found = await hunting.free_members(
            call.pool, group.id, group.strategy, dial_template=call.services.settings.counsellor_dial_template
        )
        if caller.limited:  # only members whose rate the caller's money covers (issue 20, item 2)
            found = purse.affordable(await wallet.purse(), group, found)
        # a busy group's waiting line
        turn: waiting_flow.Turn | None = await waiting_flow.serve(call, caller, group, found, wallet)
        if turn is None:  # the waiting line ended the call: declined, full, or left while waiting
            attempts.note(call, "all_busy", caller_id=caller.id, group_id=group.id)
            return None
        if not turn.members:
            call.metrics.hunts.labels("all_busy").inc()
            attempts.note(call, "all_busy", caller_id=caller.id, group_id=group.id)
            return await goodbye(call, "all_counsellors_busy")
        sale = Sale(call, caller, group, wallet)

        await call_records.open_record(
            call.pool,
            call.call_uuid,
            tenant_id=call.tenant_id,
            node_id=call.services.node_id,
            caller=caller,
            caller_number=call.caller_number or "",
            group_id=group.id,
            tariff=group.tariff,
            created_us=call.channel.created_us,
        )
        talk = Talk(Backstop(session))
        try:
            await bridge.prepare(session)
            turn = await self.hunt_turns(sale, turn, talk)
        finally:
            await asyncio.shield(self.finish(sale, talk))
        if turn is None:  # the waiting line ended the call (the caller heard why)
            return None
        if talk.answer is None:
            call.metrics.hunts.labels("no_answer").inc()
            return await goodbye(call, "all_counsellors_busy")
        if talk.cutoff is not None and talk.cutoff.cut:
            await guidance.play(session, call.prompts, "balance_exhausted")
        await session.hangup("NORMAL_CLEARING")

    async def hunt_turns(self, sale: Sale, turn: waiting_flow.Turn, talk: Talk) -> waiting_flow.Turn | None:
        """Hunt the turn's members; one handed from the waiting line who does not answer, or whom the
        money does not cover, sends the caller back to the line for the next.  None: the line ended the call.
        """
        while True:
            members = await affordable(sale, turn.members)
            if members:
                await self.hunt(sale, members, talk)
            if talk.answer is not None or turn.place is None:
                return turn
            await talk.backstop.disarm()  # armed as if the member had answered: not for the wait
            again = await waiting_flow.back_in_line(sale.call, sale.caller, sale.group, sale.wallet, turn, members)
            if again is None:
                return None
            turn = again

    async def hunt(self, sale: Sale, members: list[Counsellor], talk: Talk) -> None:
        """Try members in strategy order until one talks; each is claimed before it rings."""
        call, group = sale.call, sale.group
        rounds = [members] if group.strategy == "ring_all" else [[m] for m in members]
        for batch in rounds:
            if not await announce_minutes(sale, talk, batch):
                continue
            claimed = [m for m in batch if await hunting.claim(call.pool, m.id, call.call_uuid)]
            if not claimed:
                continue
            try:
                await arm_before_ringing(sale, talk, claimed)
                ring = await bridge.ring(
                    call.session,
                    call.calls,
                    claimed,
                    ring_timeout_s=group.ring_timeout_s,
                    shown_number=call.dialled,  # the service's number, never the caller's
                )
                talk.answer = await ring.answered()
                booking = self.talk_starts(sale, talk, talk.answer) if talk.answer is not None else None
                try:
                    result = await ring.ended()
                    if talk.answer is not None:
                        await talk.over()
                finally:
                    if booking is not None:
                        await booking
            finally:
                talked_id = talk.answer.target.id if talk.answer is not None else None
                for m in claimed:
                    try:
                        await within(
                            call.services.settings.db_timeout_seconds,
                            asyncio.shield(
                                hunting.release(
                                    call.pool,
                                    m.id,
                                    call.call_uuid,
                                    talked=m.id == talked_id,
                                    wrapup_seconds=group.wrapup_seconds,
                                    max_missed=group.max_missed,
                                )
                            ),
                        )
                    except DB_ERRORS as exc:  # finishing the call frees the claim (call_records.finish)
                        _log.error("counsellor_release_failed", counsellor_id=m.id, error=repr(exc))
            talk.result = result
            _log.info("bridge_result", disposition=result.disposition, talked=result.talked)
            if result.talked:
                call.metrics.hunts.labels("answered").inc()
                return
            call.metrics.hunts.labels(result.disposition.lower() or "failed").inc()
            if call.session.hung_up:
                raise CallEnded("caller hung up while ringing")

    def talk_starts(self, sale: Sale, talk: Talk, answer: bridge.Answer[Counsellor]) -> asyncio.Task[None]:
        """The counsellor answered: a limited caller's cutoff starts now; billing starts (the returned task).

        The cutoff's first deadline is computed here, from the money read when the
        backstop was armed and the real answer time and rate: the timer runs before
        any database work, which under load (or with the database hanging) may take
        longer than the money lasts.  The exact deadline from the database replaces
        it a round trip later (a deposit or another call of the caller since then).
        The booking runs while the bridge goes on, and is awaited before the call is
        finished.
        """
        call, caller, group = sale.call, sale.caller, sale.group
        who = answer.target
        rate = who.rate_yen_per_min if who.rate_yen_per_min is not None else group.tariff.rate_yen_per_min
        if caller.limited:
            cutoff = Cutoff(
                call.session,
                str(answer.leg),
                talk.backstop,
                warning_seconds=group.warning_seconds,
                prompts=call.prompts,
                metrics=call.metrics,
                just_announced=True,  # the minutes announcement before ringing
            )
            if talk.picture is not None:
                tariff = Tariff(rate, group.tariff.free_seconds, group.tariff.minimum_charge_yen)
                cutoff.update(talk.picture.deadline(TalkingCall(answer.answer_us, tariff)))
            talk.cutoff = cutoff
            talk.cutoff_task = call.calls.create_task(cutoff.run())
        return asyncio.get_running_loop().create_task(self._book_talk(sale, talk, answer, rate))

    async def _book_talk(self, sale: Sale, talk: Talk, answer: bridge.Answer[Counsellor], rate: int) -> None:
        """The talking state and the exact deadline, in the database."""
        call, caller = sale.call, sale.caller
        who = answer.target
        await call_records.mark_talking(
            call.pool,
            call.call_uuid,
            counsellor_id=who.id,
            counsellor_leg=answer.leg,
            answer_us=answer.answer_us,
            rate_yen_per_min=rate,
            caller_id=caller.id,
        )
        if talk.cutoff is None:
            return
        if talk.cutoff.deadline_us is not None:  # the charge never bills past the armed deadline
            await call_records.set_deadline(call.pool, call.call_uuid, talk.cutoff.deadline_us)
        # Registered only now, so the listener cannot interleave its own deadline with the one above.
        self.watcher.register(caller.id, call.call_uuid, talk.cutoff)
        await self.watcher.recompute(caller.id)

    async def finish(self, sale: Sale, talk: Talk) -> None:
        """Stop the cutoff, book the charge and close the record (one transaction)."""
        call = sale.call
        await talk.over()  # before any guidance: the backstop must not end the goodbye
        self.watcher.unregister(sale.caller.id, call.call_uuid)
        result = talk.result
        end_us = result.end_us if result is not None and result.talked else None
        if talk.answer is not None and end_us is None:
            end_us = wall_us()
        cut = talk.cutoff is not None and talk.cutoff.cut
        if talk.answer is None:
            ended_by = "no_answer"
        elif cut:
            ended_by = "cutoff"
        else:
            ended_by = "caller" if result is not None and result.caller_hung_up else "counsellor"
        settler = call.services.settler
        assert settler is not None, "made at start"
        done = await settler.finish(
            call.call_uuid,
            end_us=end_us,
            hangup_cause="ALLOTTED_TIMEOUT" if cut else "NORMAL_CLEARING",
            ended_by=ended_by,
        )
        if done is None:
            return  # the database is away: journalled, booked when it is back (daemon.settlement)
        tenant = str(call.tenant_id)
        if done.billed_seconds:
            call.metrics.billed_seconds.labels(tenant).inc(done.billed_seconds)
            call.metrics.revenue_yen.labels(tenant).inc(done.charge_yen)
        if done.uncollected_yen:
            call.metrics.uncollected_yen.labels(tenant).inc(done.uncollected_yen)
        _log.info("call_charged", billed_seconds=done.billed_seconds, charge_yen=done.charge_yen)


async def goodbye(call: CallContext, prompt: str) -> None:
    await guidance.play(call.session, call.prompts, prompt)
    await call.session.hangup("NORMAL_CLEARING")


async def by_caller_id(call: CallContext) -> Caller | None:
    number = call.caller_number
    return await callers.caller_by_number(call.pool, call.tenant_id, number) if number is not None else None


async def by_pin(call: CallContext, lead_in: Sequence[str], keyed: list[str] | None = None) -> Caller | None:
    """A withheld or unknown number may key a PIN (each PIN keyed is added to ``keyed``)."""

    def lookup(pin: str) -> Awaitable[Caller | None]:
        if keyed is not None:
            keyed.append(pin)
        return callers.caller_by_pin(call.pool, call.tenant_id, pin)

    return await ask(
        call,
        ("enter_pin", "invalid_pin"),
        "caller_pin",
        lookup,
        lead_in=lead_in,
        tries=PIN_TRIES,
        min_digits=4,
        max_digits=8,
    )


async def choose_group(call: CallContext, caller: Caller, lead_in: Sequence[str]) -> Group | None:
    """The group menu: a code (wrong: once more); ``*`` (+ a code) reads the money, then asks again.

    Whatever is read out is the lead-in of the next question, so keys typed
    during it count.  A read-out is not a wrong try.
    """
    lead, tries, readouts = list(lead_in), 0, 0
    while tries < CODE_TRIES:
        keys = await read_digits(
            call.session,
            call.prompts,
            "choose_group",
            var="group_code",
            min_digits=1,
            max_digits=7,  # ``*`` and a code of six
            lead_in=lead,
            valid=_MENU_KEYS,
        )
        if keys is not None and keys.startswith("*") and readouts < BALANCE_READOUTS:
            readouts += 1
            lead = await purse.balance_readout(call, caller, keys[1:])
            continue
        found = await groups.group_by_code(call.pool, call.tenant_id, keys) if keys and keys.isdigit() else None
        if found is not None:
            return found
        lead, tries = ["invalid_code"], tries + 1
    return None


async def affordable_group(call: CallContext, caller: Caller, wallet: purse.Wallet, group: Group) -> Group | str:
    """The chosen group if the caller's money covers one of its members, else what to end with.

    Out of reach, the caller hears the codes of the groups within reach and
    chooses once more; with none, or if they choose one out of reach again,
    the balance guidance ends the call (its prompt name is returned).
    """
    instead = await purse.out_of_reach(call, wallet, group)
    if instead is None:
        return group
    if not instead:
        return "insufficient_balance"
    again = await choose_group(call, caller, instead)
    if again is None:
        return "goodbye"
    return again if await purse.out_of_reach(call, wallet, again) is None else "insufficient_balance"


async def ask(
    call: CallContext,
    prompts: tuple[str, str],
    var: str,
    lookup: Callable[[str], Awaitable[T | None]],
    *,
    lead_in: Sequence[str],
    tries: int,
    min_digits: int,
    max_digits: int,
) -> T | None:
    """Ask (``prompts[0]``) until the digits name something; a retry is led in by ``prompts[1]``.

    Whatever plays before the question is its lead-in, so keys typed ahead count.
    """
    question, wrong = prompts
    for attempt in range(tries):
        digits = await read_digits(
            call.session,
            call.prompts,
            question,
            var=var,
            min_digits=min_digits,
            max_digits=max_digits,
            lead_in=lead_in if attempt == 0 else [wrong],
        )
        if digits is None:
            continue
        found = await lookup(digits)
        if found is not None:
            return found
    return None


async def affordable(sale: Sale, members: list[Counsellor]) -> list[Counsellor]:
    """The members about to be hunted whom the caller's money covers for the group's minimum talk.

    The free members found were chosen so; a member handed from the waiting
    line was not (the line pairs by order, not by money).
    """
    if not sale.caller.limited:
        return members
    return purse.affordable(await sale.wallet.purse(), sale.group, members)


async def announce_minutes(sale: Sale, talk: Talk, batch: list[Counsellor]) -> bool:
    """Roughly how many minutes the money buys with the member(s) about to ring, other live calls included.

    Not repeated when the next member's rate gives the same announcement.
    False when the caller's other live calls already use up the money (less
    than a second would be left): there is nothing to announce, nor to sell.
    """
    if not sale.caller.limited:
        return True
    prompt = purse.minutes_for(await sale.wallet.purse(), sale.group, batch)
    if prompt == "":
        return False
    if prompt is not None and prompt != talk.announced:
        await guidance.play(sale.call.session, sale.call.prompts, prompt)
        talk.announced = prompt
    return True


async def arm_before_ringing(sale: Sale, talk: Talk, batch: list[Counsellor]) -> None:
    """Arm FreeSWITCH's backstop before any money can flow, as if a member answered now.

    The highest rate among the members ringing makes it err early; the exact
    deadline replaces it when someone answers (the cutoff re-arms it).  The money
    read here is kept: the cutoff's first deadline is computed from it at the answer.
    """
    if not sale.caller.limited:
        return
    tariff = sale.group.tariff
    highest = max([m.rate_yen_per_min or 0 for m in batch] + [tariff.rate_yen_per_min])
    worst = Tariff(highest, tariff.free_seconds, tariff.minimum_charge_yen)
    talk.picture = await sale.wallet.picture()
    await talk.backstop.arm(talk.picture.deadline(TalkingCall(wall_us(), worst)))
