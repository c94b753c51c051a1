"""Dial strings and the far-end model behind the ``bridge`` application.

A dial string is ``{var=val,...}leg,leg|leg,...``: ``{}`` variables apply to every
leg, ``[var=val]`` to one leg, ``,`` rings legs at once (first answer wins, the rest
are cancelled), ``|`` tries the groups one after the other.  Each leg's outcome comes
from the :class:`~emulator.script.FarEnd` scripted for its user part.

Timing, from the captures: a busy (486) or unreachable (503) leg fails within one
media tick (bridge_busy, bridge_unreachable: EXECUTE_COMPLETE 20 ms after EXECUTE);
a ringing leg that never answers is cancelled when the originate timeout expires,
and that timeout is counted in whole epoch seconds from ``switch_epoch_time_now()``,
so ``originate_timeout=3`` gave up after only 2.39 s (bridge_noanswer).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from emulator.script import FarEnd

DEFAULT_ORIGINATE_TIMEOUT = 60

#: How each failing far end shows up on the caller leg (bridge_busy, bridge_unreachable, bridge_noanswer).
FAILURES: dict[str, tuple[str, str | None, str | None]] = {
    # kind: (cause, SIP status, SIP phrase)
    "busy": ("USER_BUSY", "486", "Busy Here"),
    "unreachable": ("NORMAL_TEMPORARY_FAILURE", "503", "Service Unavailable"),
    "noanswer": ("NO_ANSWER", None, None),
}

#: ``DIALSTATUS`` per originate cause (mod_dptools), SUCCESS when bridged.
DIALSTATUS: dict[str, str] = {
    "SUCCESS": "SUCCESS",
    "USER_BUSY": "BUSY",
    "NO_ANSWER": "NOANSWER",
    "NO_USER_RESPONSE": "NOANSWER",
    "ORIGINATOR_CANCEL": "CANCEL",
    "DESTINATION_OUT_OF_ORDER": "INVALIDARGS",  # forward_announcement_bare_file
}


@dataclass(frozen=True, slots=True)
class Leg:
    """One endpoint of a dial string."""

    endpoint: str  # sofia/external/08011112222@127.0.0.1:5090
    variables: Mapping[str, str] = field(default_factory=dict)
    text: str = ""  # as written, with its [] variables

    @property
    def user(self) -> str:
        """User part: ``08011112222`` of ``sofia/external/08011112222@127.0.0.1:5090``."""
        tail = self.endpoint.rsplit("/", 1)[-1]
        return tail.split("@", 1)[0]

    @property
    def channel_name(self) -> str:
        """``sofia/external/08011112222@127.0.0.1:5090`` (the B-leg Channel-Name in the captures)."""
        return self.endpoint


@dataclass(frozen=True, slots=True)
class DialString:
    raw: str
    variables: Mapping[str, str]
    groups: tuple[tuple[Leg, ...], ...]

    @property
    def timeout(self) -> int:
        value = self.variables.get("originate_timeout") or self.variables.get("call_timeout")
        if value and value.strip().lstrip("-").isdigit():
            return int(value)
        return DEFAULT_ORIGINATE_TIMEOUT


def _split_vars(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip():
            out[name.strip()] = value.strip().strip("'")
    return out


def _take_prefix(text: str, opening: str, closing: str) -> tuple[dict[str, str], str]:
    text = text.strip()
    if text.startswith(opening):
        end = text.find(closing)
        if end > 0:
            return _split_vars(text[1:end]), text[end + 1 :].strip()
    return {}, text


def parse_dial_string(raw: str) -> DialString:
    """Parse ``{a=b}x,y|z`` into global variables and groups of legs."""
    global_vars, rest = _take_prefix(raw, "{", "}")
    groups: list[tuple[Leg, ...]] = []
    for group_text in rest.split("|"):
        legs: list[Leg] = []
        for leg_text in group_text.split(","):
            leg_vars, endpoint = _take_prefix(leg_text, "[", "]")
            if endpoint:
                legs.append(Leg(endpoint, {**global_vars, **leg_vars}, leg_text.strip()))
        if legs:
            groups.append(tuple(legs))
    return DialString(raw, global_vars, tuple(groups))


@dataclass(slots=True)
class LegPlan:
    """When one leg rings, answers or fails (loop times), decided up front."""

    leg: Leg
    far_end: FarEnd | None
    ring_at: float | None
    answer_at: float | None
    fail_at: float | None
    cause: str  # SUCCESS or the failure cause
    sip_status: str | None = None
    sip_phrase: str | None = None


def originate_deadline(start_epoch: float, timeout: int) -> float:
    """Epoch time the originate gives up: whole seconds, ``int(start) + timeout``."""
    return math.floor(start_epoch) + timeout


def plan_leg(leg: Leg, far_ends: Mapping[str, FarEnd], start: float, deadline: float, tick: float) -> LegPlan:
    """Decide a leg's fate; ``start``/``deadline``/``tick`` share one clock."""
    far_end = far_ends.get(leg.user)
    kind = far_end.kind if far_end is not None else "unreachable"
    if kind == "answer" and far_end is not None:
        answer_at = start + far_end.answer_after
        if answer_at < deadline:
            return LegPlan(leg, far_end, start, answer_at, None, "SUCCESS")
        return LegPlan(leg, far_end, start, None, deadline, "NO_ANSWER")
    cause, status, phrase = FAILURES[kind]
    if kind == "noanswer":
        return LegPlan(leg, far_end, start, None, deadline, cause)
    return LegPlan(leg, far_end, None, None, start + tick, cause, status, phrase)


def group_result(plans: list[LegPlan]) -> tuple[LegPlan | None, float, str]:
    """The winner (first to answer) or, if none, when the group failed and with which cause.

    All legs of a ring-all group must fail before the originate fails; a timeout
    anywhere makes it NO_ANSWER, otherwise the last failure's cause is reported.
    """
    answered = [p for p in plans if p.answer_at is not None]
    if answered:
        winner = min(answered, key=lambda p: p.answer_at or 0.0)
        return winner, winner.answer_at or 0.0, "SUCCESS"
    last = max(plans, key=lambda p: p.fail_at or 0.0)
    cause = "NO_ANSWER" if any(p.cause == "NO_ANSWER" for p in plans) else last.cause
    return None, last.fail_at or 0.0, cause
