"""Dialplan applications the daemon may execute with ``sendmsg``.

Each application is a coroutine run by :meth:`emulator.session.Session.execute`
between its CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE; what it sets on the
channel is what the captures show between those two events.  Media durations are in
:mod:`emulator.media`, the keypad reader in :mod:`emulator.keypad`.
"""

from __future__ import annotations

import dataclasses
import time
import uuid as uuidlib
from dataclasses import dataclass, field

from emulator.events import now_us
from emulator.farend import (
    DIALSTATUS,
    Leg,
    LegPlan,
    group_result,
    originate_deadline,
    parse_dial_string,
    plan_leg,
)
from emulator.farleg import FarLeg
from emulator.keypad import play_and_get_digits
from emulator.media import media_duration, play, playback_terminators
from emulator.script import BridgeAttempt, Heard, LegOutcome
from emulator.session import AppSpec, Session
from emulator.templates import CAUSES, FAR_END_SDP, cause_or_default

# -- simple applications ------------------------------------------------------------------


async def answer(s: Session, arg: str) -> None:
    """200 OK: PROGRESS_MEDIA, ANSWER and EXECUTE_COMPLETE one media tick after EXECUTE (play_fs_hangup)."""
    if s.answered_at is not None:
        return
    if await s.wait(s.tick) == "down":
        return
    s.mark_answered()
    s.ch.set_var("endpoint_disposition", "ANSWER")


async def pre_answer(s: Session, arg: str) -> None:
    await s.pre_answer()


async def ring_ready(s: Session, arg: str) -> None:
    """180 Ringing: CHANNEL_PROGRESS."""
    p = s.ch.profile
    if not p.progress:
        p.progress = now_us()
        s.ch.touch()
        s.fire("CHANNEL_PROGRESS")


async def set_app(s: Session, arg: str) -> None:
    name, _, value = arg.partition("=")
    if name:
        s.ch.set_var(name.strip(), value or None)


async def export_app(s: Session, arg: str) -> None:
    """``export``: set it here and list it in ``export_vars`` for the legs this one originates."""
    name, _, value = arg.partition("=")
    name = name.strip()
    if not name:
        return
    s.ch.set_var(name, value or None)
    current = s.ch.get_var("export_vars")
    names = current.split(",") if current else []
    if name not in names:
        s.ch.set_var("export_vars", ",".join([*names, name]))


async def unset_app(s: Session, arg: str) -> None:
    if arg.strip():
        s.ch.set_var(arg.strip(), None)


async def sleep_app(s: Session, arg: str) -> None:
    ms = int(arg) if arg.strip().isdigit() else 0
    await s.app_wait(s.wait(ms / 1000))


async def hangup_app(s: Session, arg: str) -> None:
    """mod_dptools ``hangup``: an unknown cause name becomes NORMAL_CLEARING (no_daemon_fallback)."""
    s.hangup(cause_or_default(arg), s.phase)


async def sched_hangup_app(s: Session, arg: str) -> None:
    """``sched_hangup [+]<sec> [cause]`` on this channel (the application form)."""
    when, _, cause = arg.strip().partition(" ")
    s.fs.schedule_hangup(s, when, cause_or_default(cause.strip() or None, "ALLOTTED_TIMEOUT"))


async def noop(s: Session, arg: str) -> None:
    """``log``, ``info`` … : nothing visible on the socket."""


async def playback(s: Session, arg: str) -> None:
    """mod_dptools ``playback``: FILE PLAYED (also when a terminator stopped it), PLAYBACK ERROR when the
    caller hung up during it (play_caller_hangup).

    Its DTMF callback (``on_dtmf``) dequeues every digit keyed meanwhile: one of
    ``playback_terminators`` (default ``*``; ``any``, ``none``) stops the file and is
    left in ``playback_terminator_used``; any other digit is dropped
    (typeahead_lost, typeahead_playback_terminators).
    """
    duration = media_duration(arg)
    if duration is None:
        s.error(f"playback: file not found: {arg!r}")
        s.ch.set_var("current_application_response", "FILE NOT FOUND")
        return
    s.ch.set_var("playback_terminator_used", None)
    stops = playback_terminators(s.ch.get_var("playback_terminators"))

    def on_dtmf(digit: str) -> bool:
        if digit in stops:
            s.ch.set_var("playback_terminator_used", digit)
            return True
        return False

    started = time.time()
    outcome = await play(s, duration, on_dtmf)
    s.result.heard.append(Heard(started, time.time(), arg))
    failed = outcome in ("down", "transfer")
    s.ch.set_var("current_application_response", "PLAYBACK ERROR" if failed else "FILE PLAYED")


async def endless_playback(s: Session, arg: str) -> None:
    """mod_dptools ``endless_playback``: the file again and again, each pass setting the playback_*
    variables.  uuid_break does not stop it (the file goes on without a gap), nor does a sendmsg
    hangup queued behind its event-lock: only the channel going down ends it, with ``FILE PLAYED``
    (hold_endless_break)."""
    duration = media_duration(arg)
    if duration is None or duration <= 0:
        s.error(f"endless_playback: file not found: {arg!r}")
        s.ch.set_var("current_application_response", "FILE NOT FOUND")
        return
    while await play(s, duration) != "down":
        s.broken = False
    s.ch.set_var("current_application_response", "FILE PLAYED")


# -- bridge ------------------------------------------------------------------------------


@dataclass(slots=True)
class BridgeState:
    """The running bridge app's legs (whether the caller is bridged is ``Session.bridged``)."""

    plans: list[tuple[LegPlan, str]] = field(default_factory=list)
    far: FarLeg | None = None  # the leg that answers, from its originate on


def _array(values: list[str]) -> str:
    """``switch_channel_add_variable_var_check(..., SWITCH_STACK_PUSH)`` shape for several legs."""
    return values[0] if len(values) == 1 else "ARRAY::" + "|:".join(values)


async def bridge(s: Session, arg: str) -> None:
    """Originate to the dial string, bridge on answer, return when either leg hangs up.

    Variables set on the caller leg are the ones the captures show for each outcome
    (bridge_answered_caller_hangup, bridge_counselor_hangup, bridge_busy,
    bridge_noanswer, bridge_unreachable).  A failed bridge hangs the caller up unless
    ``continue_on_fail`` allows the cause.
    """
    dial = parse_dial_string(arg)
    state = BridgeState()
    s.bridged = False
    ringback = s.ch.get_var("ringback")
    heard_from = time.time()
    try:
        winner = await _originate(s, dial.groups, dial.timeout, state)
        if winner is not None:
            winner = await _confirmed(s, winner, state)
        if ringback and s.answered_at is not None:
            # the caller hears ``ringback`` from the originate to CHANNEL_BRIDGE (forward_announcement_ringback)
            s.result.heard.append(Heard(heard_from, time.time(), f"ringback {ringback}"))
        if winner is None:
            return
        await _bridged(s, winner, state)
    finally:
        s.bridged = False


async def _originate(
    s: Session, groups: tuple[tuple[Leg, ...], ...], originate_timeout: int, state: BridgeState
) -> tuple[LegPlan, str] | None:
    ch = s.ch
    loop = s.loop
    cause = "NORMAL_TEMPORARY_FAILURE"
    last_failure: LegPlan | None = None
    for group in groups:
        start_epoch, start_loop = time.time(), loop.time()
        deadline = start_loop + originate_deadline(start_epoch, originate_timeout) - start_epoch
        plans = [(plan_leg(leg, s.script.far_ends, start_loop, deadline, s.tick), leg_uuid(leg)) for leg in group]
        state.plans += plans
        ringing = [p for p, _ in plans if p.ring_at is not None]
        if ringing:
            ch.profile.callee = ("Outbound Call", ringing[0].leg.user)
            ch.profile.progress = ch.profile.progress or now_us()
            ch.touch()
        winner, ends_at, cause = group_result([p for p, _ in plans])
        if winner is not None:
            state.far = FarLeg(s, winner, next(u for p, u in plans if p is winner))
        outcome = await s.app_wait(s.wait(max(0.0, ends_at - loop.time())))
        if outcome == "down":
            cause = "ORIGINATOR_CANCEL"
            _record(s, plans, start_epoch, None, cause)
            break
        _record(s, plans, start_epoch, winner, cause)
        if winner is not None:
            return next((p, u) for p, u in plans if p is winner)
        last_failure = max((p for p, _ in plans), key=lambda p: p.fail_at or 0.0)
    _failed(s, state, cause, last_failure)
    return None


async def _confirmed(s: Session, winner: tuple[LegPlan, str], state: BridgeState) -> tuple[LegPlan, str] | None:
    """The phone answered: run the announcement on its leg (group_confirm) before it may win."""
    far = state.far
    assert far is not None
    far.answer()
    confirm = far.confirmation()
    if confirm is None or await far.announce(*confirm):
        return winner if not s.is_down else None
    if not s.is_down:
        cause = far.channel.hangup_cause or "ORIGINATOR_CANCEL"
        attempt = s.result.bridged_to.pop()  # recorded as won at the answer; the announcement failed
        legs = tuple(leg._replace(outcome=cause) if leg.outcome == "SUCCESS" else leg for leg in attempt.legs)
        s.result.bridged_to.append(attempt._replace(outcome=cause, legs=legs))
        _failed(s, state, cause, None, answered=True)
    return None


def leg_uuid(leg: Leg) -> str:
    """``[origination_uuid=…]`` names the far-end leg; FreeSWITCH makes one up otherwise."""
    return leg.variables.get("origination_uuid") or str(uuidlib.uuid4())


def _record(s: Session, plans: list[tuple[LegPlan, str]], at: float, winner: LegPlan | None, cause: str) -> None:
    """One BridgeAttempt per group; each leg: SUCCESS, LOSE_RACE, its failure, or ORIGINATOR_CANCEL."""
    legs = []
    for plan, b_uuid in plans:
        if s.is_down:
            outcome = "ORIGINATOR_CANCEL"
        elif winner is not None:
            outcome = "SUCCESS" if plan is winner else "LOSE_RACE"
        else:
            outcome = plan.cause
        legs.append(LegOutcome(plan.leg.endpoint, outcome, b_uuid))
    group = ",".join(plan.leg.text for plan, _ in plans)
    s.result.bridged_to.append(BridgeAttempt(group, "ORIGINATOR_CANCEL" if s.is_down else cause, at, tuple(legs)))


_ANSWERED_MEDIA: list[tuple[str, str | None]] = [
    ("switch_m_sdp", FAR_END_SDP),
    ("video_media_flow", "inactive"),
    ("text_media_flow", "inactive"),
    ("audio_media_flow", "sendrecv"),
]


def _failed(s: Session, state: BridgeState, cause: str, last: LegPlan | None, *, answered: bool = False) -> None:
    """Originate failed: the variables of bridge_busy / bridge_noanswer / bridge_unreachable, and of a
    leg that answered and was then refused (forward_announcement_bare_file: its media variables too)."""
    ch = s.ch
    uuids = [u for _, u in state.plans]
    legs = [f"{u};Outbound Call;{p.leg.user}" for p, u in state.plans]
    values: list[tuple[str, str | None]] = [
        ("originate_signal_bond", uuids[-1] if uuids else None),
        ("originated_legs", _array(legs) if legs else None),
    ]
    if answered:
        values += _ANSWERED_MEDIA
    if last is not None and last.sip_status:
        values += [
            ("sip_invite_failure_status", last.sip_status),
            ("sip_invite_failure_phrase", last.sip_phrase),
            ("sip_hangup_phrase", last.sip_phrase),
        ]
    values.append(("last_bridge_hangup_cause", cause))
    if last is not None and last.sip_status:
        values.append(("last_bridge_proto_specific_hangup_cause", f"sip:{last.sip_status}"))
    values += [
        ("originate_disposition", cause),
        ("DIALSTATUS", DIALSTATUS.get(cause, cause)),
        ("originate_causes", _array([f"{u};{p.cause}" for p, u in state.plans]) if state.plans else None),
        ("originate_failed_cause", cause),
    ]
    ch.set_vars(values)
    if not s.is_down and not _continue_on_fail(ch.get_var("continue_on_fail"), cause):
        s.hangup(cause, "bridge_failed")


def _continue_on_fail(value: str | None, cause: str) -> bool:
    """``continue_on_fail``: true, or a list of cause names / Q.850 numbers that may continue."""
    if not value:
        return False
    if value.strip().lower() in ("true", "yes", "on", "1"):
        return True
    allowed = {item.strip().upper() for item in value.split(",")}
    return cause in allowed or str(CAUSES.get(cause, -1)) in allowed


async def _bridged(s: Session, winner: tuple[LegPlan, str], state: BridgeState) -> None:
    plan, b_uuid = winner
    ch = s.ch
    user = plan.leg.user
    assert state.far is not None
    far = state.far
    answered_us = far.profile.answered
    if s.answered_at is None:
        s.mark_answered()
    # CHANNEL_BRIDGE ~20 ms after the far end's 200 OK (bridge_answered_caller_hangup), or after its announcement
    if far.confirmation() is None and await s.wait(s.tick) == "down":
        return
    p = ch.profile
    ch.set_vars(
        [
            ("originated_legs", f"{b_uuid};Outbound Call;{user}"),
            *_ANSWERED_MEDIA,
            # the ringback generator had the read codec set; restoring it sets both again
            *([(n, ch.get_var(n)) for n in ("read_codec", "read_rate")] if ch.get_var("ringback") else []),
            ("originate_disposition", "SUCCESS"),
            ("DIALSTATUS", "SUCCESS"),
            ("originate_causes", f"{b_uuid};NONE"),
            ("signal_bond", b_uuid),
        ]
    )
    bridged_at = now_us()
    other = far.profile
    other.answered, other.progress, other.bridged = answered_us, other.created, bridged_at
    ch.other = dataclasses.replace(other, bridged=0)  # A's copy: Other-Leg-Channel-Bridged-Time: 0
    p.callee = ("Outbound Call", user)
    p.bridged = bridged_at
    ch.touch()
    b_leg = s.fs.b_leg_started(s, far.channel, plan.leg.endpoint)
    pre = f"Bridge-A-Unique-ID: {ch.uuid}\nBridge-B-Unique-ID: {b_uuid}\n".encode()
    s.fire("CHANNEL_BRIDGE", pre=pre)
    s.bridged_once()
    ch.set_vars(
        [
            ("bridge_to", b_uuid),
            ("last_bridge_to", b_uuid),
            ("bridge_channel", plan.leg.channel_name),
            ("bridge_uuid", b_uuid),
            ("signal_bond", b_uuid),
            ("last_sent_callee_id_name", "Outbound Call"),
            ("last_sent_callee_id_number", user),
        ]
    )
    s.bridged = True
    far_end = plan.far_end
    b_hangup = far_end.hangup_after if far_end is not None else None
    outcome = await s.app_wait(s.wait(b_hangup, b_leg.gone))
    s.result.heard.append(Heard(bridged_at / 1e6, time.time(), f"far end {user}"))
    s.bridged = False
    ch.set_var("bridge_to", None)
    if outcome == "down":
        if s.disposition in ("recv_bye", "recv_cancel"):
            ch.set_var("sip_hangup_disposition", s.disposition)
        ch.set_var("bridge_hangup_cause", "NORMAL_CLEARING")
        s.fire("CHANNEL_UNBRIDGE", pre=pre)
        s.fs.b_leg_ended(b_leg, "NORMAL_CLEARING", caller_cause=ch.hangup_cause, caller_bye=s.disposition == "recv_bye")
        return
    b_cause = b_leg.channel.hangup_cause or "NORMAL_CLEARING"  # uuid_kill on the far end sets it
    ch.set_vars(
        [
            ("sip_hangup_phrase", "OK"),
            ("last_bridge_hangup_cause", b_cause),
            ("last_bridge_proto_specific_hangup_cause", "sip:200"),
            ("bridge_hangup_cause", b_cause),
        ]
    )
    s.fire("CHANNEL_UNBRIDGE", pre=pre)
    s.fs.b_leg_ended(b_leg, b_cause, caller_cause=None)
    # switch_ivr_multi_threaded_bridge: park_after_bridge is looked at before hangup_after_bridge
    if _true(ch.get_var("park_after_bridge")):
        s.park_after_bridge()
    elif _true(ch.get_var("hangup_after_bridge")):
        s.hangup(b_cause, "far_end")  # switch_channel_hangup(caller_channel, <the peer's cause>)


def _true(value: str | None) -> bool:
    """``switch_true``."""
    return (value or "").lower() in ("true", "yes", "on", "1")


APPS: dict[str, AppSpec] = {
    "answer": AppSpec(answer),
    "pre_answer": AppSpec(pre_answer),
    "ring_ready": AppSpec(ring_ready),
    "playback": AppSpec(playback, needs_media=True),
    "endless_playback": AppSpec(endless_playback, needs_media=True),
    "play_and_get_digits": AppSpec(play_and_get_digits, needs_media=True),
    "set": AppSpec(set_app),
    "export": AppSpec(export_app),
    "unset": AppSpec(unset_app),
    "sleep": AppSpec(sleep_app),
    "bridge": AppSpec(bridge),
    "hangup": AppSpec(hangup_app),
    "sched_hangup": AppSpec(sched_hangup_app),
    "log": AppSpec(noop),
    "info": AppSpec(noop),
}
