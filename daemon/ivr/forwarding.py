"""The ``forward`` node: ring the customer's phones, talk, bill the forwarded time.

→ the tenant's forwarding add-on must be on (checked at publish, and again here)
→ every number must pass the destination policy for the tenant's contract
  (:mod:`daemon.rules.destinations`; checked at save and publish, and again here, so a
  flow published before a rule existed refuses to dial): else ``on_fail``
→ per attempt (each number in turn, or all at once): a ``forward_legs`` row per
  leg, written before it rings, within the tenant's fraud guard (legs at once,
  minutes a day, counted in the database across nodes): else ``on_fail``
→ ring; the first to answer talks to the caller (an announcement first, if set);
  billing starts at the answer (FreeSWITCH's timestamp)
→ each row finished with its outcome, billed seconds and charge, through the
  settler (daemon.settlement): while the database is away the end, answer
  included, is journalled on this node and booked once when it is back
The forwarded legs take no line: the caller's call holds the only one.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from daemon.calls import bridge
from daemon.calls.cutoff import wall_us
from daemon.ivr import media
from daemon.ivr.call import IvrCall
from daemon.logs import get_logger
from daemon.outbound.session import CallEnded
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.repositories import forwarding as legs_db
from daemon.rules import destinations
from daemon.rules.ivr.models import ForwardNode

_log = get_logger(__name__)

OUTCOMES = {"USER_BUSY": "busy", "NO_ANSWER": "no_answer", "NO_USER_RESPONSE": "no_answer"}


async def forward(c: IvrCall, node: ForwardNode) -> str | None:
    contract = await legs_db.contract(c.pool, c.tenant_id)
    if not contract.forwarding:
        _log.warning("ivr_forwarding_off", node=c.node)
        return node.on_fail
    refused = [r for n in node.numbers if (r := destinations.refusal(n, international=contract.international))]
    if refused:
        for r in refused:
            _log.error("ivr_forward_number_refused", node=c.node, number=r.number, reason=r.code)
        await refuse(c, refused[0].code, refused[0].number)
        return node.on_fail
    rounds = [list(node.numbers)] if node.strategy == "simultaneous" else [[n] for n in node.numbers]
    announcement = c.prompts.path(media.name(node.announcement)) if node.announcement is not None else None
    template = c.call.services.settings.forward_dial_template
    for numbers in rounds:
        phones = media.phones(numbers, template, international=contract.international)
        result = await attempt(c, node, phones, contract, announcement)
        if result is None:
            return node.on_fail
        _log.info("ivr_forward_result", node=c.node, disposition=result.disposition, talked=result.talked)
        if result.talked:
            return None
        if c.session.hung_up:
            raise CallEnded("caller hung up while forwarded numbers rang")
    return node.on_fail


async def refuse(c: IvrCall, reason: str, number: str = "") -> None:
    """A forward not dialled: counted, and remembered for the console (best effort: the call goes on)."""
    c.call.metrics.forwards_refused.labels(str(c.tenant_id), reason).inc()
    try:
        await within(
            c.call.services.settings.db_timeout_seconds,
            legs_db.refuse(c.pool, c.tenant_id, c.call_uuid, c.node, reason, number),
        )
    except DB_ERRORS as exc:
        _log.error("ivr_forward_refusal_unrecorded", reason=reason, error=repr(exc))


async def attempt(
    c: IvrCall, node: ForwardNode, phones: list[media.Phone], contract: legs_db.Contract, announcement: str | None
) -> bridge.BridgeResult[media.Phone] | None:
    """Ring ``phones`` at once: rows first (None: the fraud guard refused), then the bridge, then every row closed."""
    legs = [(uuid.uuid4(), p) for p in phones]
    now = wall_us()
    opened: list[bool] = []

    async def open_rows() -> str | None:
        broken = await legs_db.open_legs(
            c.pool,
            [(leg, p.number) for leg, p in legs],
            call_uuid=c.call_uuid,
            tenant_id=c.tenant_id,
            node_id=c.call.services.node_id,
            flow_node=c.node,
            tariff=contract.tariff,
            created_us=now,
            day_start_us=legs_db.day_start_us(now),
        )
        opened.append(broken is None)
        return broken

    def late() -> None:
        # Given up on, then ended after all: nothing rang, so whatever it wrote is closed.  Not only
        # when it said so: a cancellation in the connection's release (after the commit) or in the
        # commit itself ends it before it can tell (a row left ringing in a 4-minute soak).
        if opened != [False]:  # the fraud guard's refusal writes no leg
            _closing(c, [leg for leg, _ in legs])

    try:
        broken = await within(c.call.services.settings.db_timeout_seconds, open_rows(), abandoned=late)
    except DB_ERRORS as exc:  # no row, no ring: a forward is never dialled unbilled (the flow's on_fail)
        c.call.metrics.db_errors.inc()
        _log.error("ivr_forward_not_opened", node=c.node, error=repr(exc))
        return None
    if broken is not None:
        _log.warning("ivr_forward_guard", node=c.node, limit=broken, guard=str(contract.guard))
        c.call.metrics.forwards_refused.labels(str(c.tenant_id), broken).inc()
        return None
    answered: dict[uuid.UUID, int] = {}
    result: bridge.BridgeResult[media.Phone] | None = None
    try:
        ring = await media.ring(
            c.session,
            c.calls,
            legs,
            ring_timeout_s=node.ring_timeout_s,
            shown_number=shown(c, node),
            announcement=announcement,
        )
        answer = await ring.answered()
        if answer is not None:  # billing starts here: the row knows before the talk ends
            answered[answer.leg] = answer.answer_us
            await mark_answered(c, answer.leg, answer.answer_us)
        result = await ring.ended()
    finally:
        await asyncio.shield(finish(c, [leg for leg, _ in legs], result, answered))
    return result


_closing_tasks: set[asyncio.Task[None]] = set()


def _closing(c: IvrCall, legs: list[uuid.UUID]) -> None:
    """Close rows written after the attempt was given up on (never rung): in the background."""
    settler = c.call.services.settler
    assert settler is not None, "made at start"

    async def close() -> None:
        try:
            for leg in legs:
                with contextlib.suppress(LookupError):  # rolled back: never written, nothing to close
                    await settler.finish_leg(leg, outcome="failed", answer_us=None, end_us=None)
        except Exception as exc:  # recovery's sweep of open legs is the last line
            _log.error("ivr_forward_late_rows_unclosed", error=repr(exc))

    task = asyncio.get_running_loop().create_task(close())
    _closing_tasks.add(task)
    task.add_done_callback(_closing_tasks.discard)


async def mark_answered(c: IvrCall, leg: uuid.UUID, answer_us: int) -> None:
    """The row shows the talk (for the board, and recovery after a crash); its end carries the answer anyway."""
    try:
        await within(c.call.services.settings.db_timeout_seconds, legs_db.mark_answered(c.pool, leg, answer_us))
    except DB_ERRORS as exc:
        _log.error("ivr_forward_answer_unmarked", leg=str(leg), error=repr(exc))


def shown(c: IvrCall, node: ForwardNode) -> str:
    """The number the forwarded party sees: ours (the dialled one) unless the flow says otherwise."""
    if node.shown_number == "caller":
        return c.caller_number or c.dialled
    if node.shown_number == "dialled":
        return c.dialled
    return node.shown_number


def outcome(disposition: str, caller_gone: bool) -> str:
    if caller_gone or disposition == "ORIGINATOR_CANCEL":
        return "caller_hangup"
    return OUTCOMES.get(disposition, "failed")


async def finish(
    c: IvrCall,
    legs: list[uuid.UUID],
    result: bridge.BridgeResult[media.Phone] | None,
    answered: dict[uuid.UUID, int],
) -> None:
    """Close every row of this attempt; the answered leg with its talk and charge."""
    settler = c.call.services.settler
    assert settler is not None, "made at start"
    hangup = c.session.hangup_event
    gone_at = bridge.event_time_us(hangup) if hangup is not None else None
    for leg in legs:
        if leg in answered:
            end = result.end_us if result is not None and result.end_us else (gone_at or wall_us())
            done = await settler.finish_leg(leg, outcome="answered", answer_us=answered[leg], end_us=end)
            if done is None:
                continue  # the database is away: journalled, booked when it is back
            c.call.metrics.billed_seconds.labels(str(c.tenant_id)).inc(done.billsec)
            _log.info("ivr_forward_charged", leg=str(leg), billsec=done.billsec, charge_yen=done.charge_yen)
            continue
        disposition = result.disposition if result is not None else ""
        how = "no_answer" if answered else outcome(disposition, c.session.hung_up)
        await settler.finish_leg(leg, outcome=how, answer_us=None, end_us=None)
