"""An IVR flow as JSON: a small graph of named nodes, and where a call enters it.

    {"entry": {"default": "hours",
               "by_arrival": {"toll_free": "welcome_free", "forwarded": "welcome_old"},
               "by_number": {"0312345678": "hours"},
               "by_diverted_from": {"0355556666": "welcome_old"}},
     "nodes": {"hours":   {"kind": "hours", "week": {"mon": ["09:00-18:00"]}, "open": "menu", "closed": "closed"},
               "menu":    {"kind": "menu", "prompt": 12, "options": {"1": "sales", "2": "vm"}, "fallback": "bye"},
               "sales":   {"kind": "forward", "numbers": ["09011112222"], "on_fail": "vm"},
               "vm":      {"kind": "voicemail", "prompt": 13, "max_seconds": 60},
               "closed":  {"kind": "play", "guidance": [14], "next": "bye"},
               "bye":     {"kind": "hangup"}}}

These models check the shape of one definition (422 when a value breaks a rule);
what depends on the rest of the graph or the tenant (missing nodes, missing
guidance, the forwarding add-on, loops) is checked at publish time
(:mod:`daemon.rules.ivr.validate`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo

from daemon.rules import destinations
from daemon.rules.numbers import typed_number

NodeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
GuidanceId = Annotated[int, Field(gt=0, le=2**63 - 1)]
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^0[0-9]{5,14}$"), BeforeValidator(typed_number)]
Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,6}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Arrival = Literal["direct", "toll_free", "forwarded"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_RANGE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


def _time_range(value: str) -> str:
    match = _RANGE.match(value)
    if match is None:
        raise ValueError("a time range is 'HH:MM-HH:MM' (Asia/Tokyo), e.g. '09:00-18:00'")
    start = int(match.group(1)) * 60 + int(match.group(2))
    end = int(match.group(3)) * 60 + int(match.group(4))
    if end > 24 * 60 or end <= start:
        raise ValueError(f"{value}: the end must come after the start, at most 24:00")
    return value


TimeRange = Annotated[str, AfterValidator(_time_range)]

STORED: dict[str, bool] = {"stored": True}
"""Validation context for a definition read back from the database: see :data:`ForwardNumber`."""
_STORED_NUMBER = re.compile(r"^0[0-9]{5,17}$")


def _forward_number(value: str, info: ValidationInfo) -> str:
    """A number a ``forward`` node rings, in stored form, if the destination policy allows it.

    International numbers pass here (the tenant's contract is checked at publish
    and at call time).  A definition read back with :data:`STORED` only keeps its
    shape: a flow saved before a rule existed still loads, is reported at start,
    and its node refuses to dial (:mod:`daemon.ivr.forwarding`).
    """
    if isinstance(info.context, dict) and info.context.get("stored"):
        if not _STORED_NUMBER.match(value):
            raise ValueError(f"{value!r} is not a stored phone number")
        return value
    return destinations.check(value, international=True)


ForwardNumber = Annotated[str, BeforeValidator(typed_number), AfterValidator(_forward_number)]


def minutes(time_range: str) -> tuple[int, int]:
    """``'09:00-18:00'`` → (540, 1080), minutes since midnight, end excluded."""
    start, end = time_range.split("-")
    return int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:])


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlayNode(_Node):
    """Play guidance items one after the other, then go on."""

    kind: Literal["play"]
    guidance: list[GuidanceId] = Field(min_length=1, max_length=20)
    next: NodeName


class MenuNode(_Node):
    """A prompt and keys → nodes.  Keys pressed during the prompt interrupt it and count."""

    kind: Literal["menu"]
    prompt: GuidanceId
    options: dict[Digits, NodeName] = Field(min_length=1, max_length=20)
    first_digit_timeout_ms: int = Field(5000, ge=1000, le=60000)
    inter_digit_timeout_ms: int = Field(2000, ge=300, le=10000)
    invalid_prompt: GuidanceId | None = None
    timeout_prompt: GuidanceId | None = None
    max_retries: int = Field(2, ge=0, le=5)
    fallback: NodeName


class HoursNode(_Node):
    """Open or closed now (Asia/Tokyo): special opening days, closed days, public holidays, the week."""

    kind: Literal["hours"]
    week: dict[Weekday, list[TimeRange]] = Field(default_factory=dict)
    public_holidays_closed: bool = True
    closed_dates: list[dt.date] = Field(default_factory=list, max_length=1000)
    open_dates: dict[dt.date, list[TimeRange]] = Field(default_factory=dict, max_length=1000)
    open: NodeName
    closed: NodeName


class ForwardNode(_Node):
    """Ring external numbers; talk to the one who answers; busy / no answer / failure → ``on_fail``."""

    kind: Literal["forward"]
    numbers: list[ForwardNumber] = Field(min_length=1, max_length=10)
    strategy: Literal["sequential", "simultaneous"] = "sequential"
    ring_timeout_s: int = Field(20, ge=5, le=120)
    announcement: GuidanceId | None = None  # played to the answering person before connecting
    shown_number: Literal["dialled", "caller"] | PhoneNumber = "dialled"
    on_fail: NodeName


class VoicemailNode(_Node):
    """A prompt, a beep, a recording up to ``max_seconds`` (silence or ``#`` ends it)."""

    kind: Literal["voicemail"]
    prompt: GuidanceId | None = None
    beep: bool = True
    max_seconds: int = Field(60, ge=5, le=600)
    silence_seconds: int = Field(5, ge=0, le=60)  # 0: silence does not end it
    next: NodeName | None = None  # None: hang up


class HangupNode(_Node):
    kind: Literal["hangup"]


Node = Annotated[
    PlayNode | MenuNode | HoursNode | ForwardNode | VoicemailNode | HangupNode, Field(discriminator="kind")
]


class Entry(BaseModel):
    """Where a call starts: by the number it diverted from, by how it arrived, by dialled number, else default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: NodeName
    by_arrival: dict[Arrival, NodeName] = Field(default_factory=dict)
    by_number: dict[PhoneNumber, NodeName] = Field(default_factory=dict, max_length=100)
    by_diverted_from: dict[PhoneNumber, NodeName] = Field(default_factory=dict, max_length=100)

    def start(self, arrival: Arrival, dialled: str, diverted_from: str | None) -> str:
        if diverted_from is not None and diverted_from in self.by_diverted_from:
            return self.by_diverted_from[diverted_from]
        if arrival in self.by_arrival:
            return self.by_arrival[arrival]
        return self.by_number.get(dialled, self.default)

    def targets(self) -> list[tuple[str, str]]:
        """(where, node) of every entry point, for the publish check."""
        return [
            ("entry.default", self.default),
            *((f"entry.by_arrival.{k}", v) for k, v in self.by_arrival.items()),
            *((f"entry.by_number.{k}", v) for k, v in self.by_number.items()),
            *((f"entry.by_diverted_from.{k}", v) for k, v in self.by_diverted_from.items()),
        ]


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    entry: Entry
    nodes: dict[NodeName, Node] = Field(min_length=1, max_length=200)


def successors(node: Node) -> list[str]:
    """The nodes a node may go to next."""
    match node:
        case PlayNode():
            return [node.next]
        case MenuNode():
            return [*node.options.values(), node.fallback]
        case HoursNode():
            return [node.open, node.closed]
        case ForwardNode():
            return [node.on_fail]
        case VoicemailNode():
            return [node.next] if node.next is not None else []
        case HangupNode():
            return []


def guidance_ids(node: Node) -> list[int]:
    """The guidance items a node plays."""
    match node:
        case PlayNode():
            return list(node.guidance)
        case MenuNode():
            return [g for g in (node.prompt, node.invalid_prompt, node.timeout_prompt) if g is not None]
        case ForwardNode():
            return [node.announcement] if node.announcement is not None else []
        case VoicemailNode():
            return [node.prompt] if node.prompt is not None else []
        case _:
            return []


def waits_for_caller(node: Node) -> bool:
    """A node that needs the caller (keys, a recording): a loop through one is not endless by itself."""
    return isinstance(node, MenuNode | VoicemailNode)


def refused_numbers(flow: Flow, *, international: bool) -> list[tuple[str, destinations.Refusal]]:
    """(node, why) for every number a ``forward`` node holds that the destination policy refuses."""
    found = []
    for name, node in flow.nodes.items():
        if isinstance(node, ForwardNode):
            for number in node.numbers:
                refused = destinations.refusal(number, international=international)
                if refused is not None:
                    found.append((name, refused))
    return found
