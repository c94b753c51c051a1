"""The answering far-end leg's own events, which only an inbound listener sees.

The outbound socket never gets the counsellor leg's events (``myevents`` is per
channel); an inbound connection subscribed to them (``filter Unique-ID <B>``, as
billsec_rounding*.inbound and forward_announcement*.inbound do) gets, for the leg
that answers: CHANNEL_ORIGINATE (CS_INIT, DOWN) and CHANNEL_PROGRESS
(CS_CONSUME_MEDIA) when the originate starts, CHANNEL_ANSWER (call state still
RINGING in it) at the phone's 200 OK, the announcement's CHANNEL_EXECUTE /
CHANNEL_EXECUTE_COMPLETE on that leg, then at the end CHANNEL_HANGUP and
CHANNEL_HANGUP_COMPLETE (:meth:`emulator.switch.FakeFreeSwitch.b_leg_ended`).

The announcement is FreeSWITCH's ``group_confirm_key=exec`` with
``group_confirm_file=<app> <arg>``, copied from the caller's channel into the
originate: the application runs on the answered leg before it may win
(switch_ivr_originate.c, collect_thread_run), so the caller's CHANNEL_BRIDGE comes
when it ends.  A value that does not start with an application name (a bare file
path) is "Invalid Application": the leg is hung up at once with
DESTINATION_OUT_OF_ORDER (forward_announcement_bare_file).

Legs that lose the race or fail are not given events here (see emulator/README.md).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from emulator.channel import Channel, Profile, billing_variables
from emulator.events import channel_event, encode_headers, now_us
from emulator.media import media_duration

if TYPE_CHECKING:
    from emulator.farend import LegPlan
    from emulator.session import Session

INVALID_APPLICATION = "DESTINATION_OUT_OF_ORDER"


class FarLeg:
    """The leg of the far end that answers, from its originate on."""

    def __init__(self, s: Session, plan: LegPlan, b_uuid: str) -> None:
        self.session = s
        self.plan = plan
        p = s.ch.profile
        variables = plan.leg.variables
        created = now_us()
        self.profile = Profile(
            "outbound",
            p.cid_number,
            variables.get("origination_caller_id_name", p.cid_name),
            variables.get("origination_caller_id_number", p.cid_number),
            plan.leg.user,
            b_uuid,
            plan.leg.channel_name,
            created,
            callee=("Outbound Call", plan.leg.user),
        )
        self.channel = Channel(self.profile, direction="outbound")
        ch = self.channel
        ch.state, ch.state_number, ch.call_state = "CS_INIT", 1, "DOWN"
        self.fire("CHANNEL_ORIGINATE")
        if plan.ring_at is not None:
            self.profile.progress = created
            ch.state, ch.state_number = "CS_CONSUME_MEDIA", 7
            ch.touch()
            self.fire("CHANNEL_PROGRESS")

    def fire(self, name: str, tail: Iterable[tuple[str, str]] = (), pre: bytes = b"") -> None:
        fs = self.session.fs
        if not fs.listened(name):
            return  # only inbound listeners ever get this leg's events
        fs.dispatch(channel_event(fs.factory, self.channel, name, pre=pre, tail=encode_headers(tail)), None)

    def answer(self) -> int:
        """The phone's 200 OK: CHANNEL_ANSWER; returns the answer time (µs), B's billing start."""
        ch = self.channel
        at = now_us()
        self.profile.answered = at
        ch.media = True
        ch.answer_state, ch.call_state = "answered", "RINGING"
        ch.touch()
        self.fire("CHANNEL_ANSWER")
        ch.call_state = "ACTIVE"
        return at

    def confirmation(self) -> tuple[str, str] | None:
        """``group_confirm_key=exec`` + ``group_confirm_file``: the application and its argument, or None."""
        a = self.session.ch
        if (a.get_var("group_confirm_key") or "") != "exec":
            return None
        app, _, arg = (a.get_var("group_confirm_file") or "").strip().partition(" ")
        return (app, arg.strip()) if app else None

    async def announce(self, app: str, arg: str) -> bool:
        """Run the confirmation application on this leg; False: it could not (Invalid Application, caller gone)."""
        s = self.session
        if app not in s.fs.apps:
            self.refuse(INVALID_APPLICATION)
            return False
        app_uuid = str(uuidlib.uuid4())
        head = [("Application", app), ("Application-Data", arg)]
        self.fire("CHANNEL_EXECUTE", [*head, ("Application-UUID", app_uuid)])
        seconds = (media_duration(arg) or 0.0) if app == "playback" else 0.0
        if await s.app_wait(s.wait(seconds)) == "down":
            return False
        done = [*head, ("Application-Response", "FILE PLAYED"), ("Application-UUID", app_uuid)]
        self.fire("CHANNEL_EXECUTE_COMPLETE", done)
        return True

    def refuse(self, cause: str) -> None:
        """Hung up at answer (Invalid Application): CHANNEL_HANGUP and CHANNEL_HANGUP_COMPLETE at once."""
        ch = self.channel
        ch.hangup_cause = cause
        ch.answer_state, ch.call_state = "hangup", "HANGUP"
        ch.state, ch.state_number = "CS_HANGUP", 10
        self.profile.hangup = now_us()
        ch.touch()
        self.fire("CHANNEL_HANGUP")
        ch.state, ch.state_number = "CS_REPORTING", 11
        values = billing_variables(ch, "", None)
        values.append(("sip_hangup_disposition", "send_bye"))
        ch.set_vars(values)
        fs = self.session.fs
        if fs.cdr is not None:
            fs.cdr.channel_ended(ch)
        self.fire("CHANNEL_HANGUP_COMPLETE", pre=f"Hangup-Cause: {cause}\n".encode())
