"""Channel state as FreeSWITCH reports it in events: states, profile times, variables.

Variables behave like a ``switch_event`` header list: setting one deletes it and
appends it at the end (``switch_channel_set_variable``), setting ``None`` deletes
it.  That is why ``variable_audio_media_flow`` moves behind
``variable_remote_text_media_flow`` once media is up (play_fs_hangup t=0.0437).
Each variable is stored as its already-encoded ``variable_name: value`` line, so
an event joins about 150 byte strings instead of encoding 150 values; the lines
of constant values are shared by all channels.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from daemon.esl.encoding import url_decode, url_encode
from emulator.templates import RTP_STATS, q850

#: Template fields unique to every call; lines using only other fields are cached.
PER_CALL_FIELDS = frozenset(
    {
        "uuid",
        "session_id",
        "call_id",
        "created_us",
        "from_tag",
        "to_tag",
        "branch",
        "full_from",
        "rfc2822_date",
        "media_port",
        "ssrc",
        "skip",
        "out_bytes",
        "out_packets",
    }
)
_FIELD = re.compile(r"\{(\w+)\}")
_LINE_CACHE_MAX = 4096


@dataclass(frozen=True, slots=True)
class Templated:
    """A variable whose value has ``{field}`` parts."""

    fmt: str
    keys: tuple[str, ...]
    cacheable: bool


CompiledVars = tuple[tuple[str, bytes | Templated], ...]


def compile_vars(template: Iterable[tuple[str, str]]) -> CompiledVars:
    """Pre-encode the constant lines of a variable template; keep ``{field}`` values for later."""
    out: list[tuple[str, bytes | Templated]] = []
    for name, value in template:
        keys = tuple(_FIELD.findall(value)) if "%(" not in value else ()
        if keys:
            out.append((name, Templated(value, keys, PER_CALL_FIELDS.isdisjoint(keys))))
        else:
            out.append((name, f"variable_{name}: {url_encode(value)}\n".encode()))
    return tuple(out)


def _render(name: str, value: Templated, fields: Mapping[str, str]) -> bytes:
    return f"variable_{name}: {url_encode(value.fmt.format_map(fields))}\n".encode()


_SKELETONS: dict[tuple[int, tuple[str, ...]], list[tuple[str, bytes | Templated]]] = {}


def instantiate(compiled: CompiledVars, fields: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """The template's lines with ``{field}`` values filled in and encoded.

    Lines that depend only on per-script values (caller, destination, …) are
    rendered once per distinct script and kept, so a benchmark placing thousands of
    similar calls only formats the per-call values (UUID, tags, times).
    """
    keys = _script_keys(compiled)
    cache_key = (id(compiled), tuple([fields[k] for k in keys]))
    skeleton = _SKELETONS.get(cache_key)
    if skeleton is None:
        if len(_SKELETONS) >= _LINE_CACHE_MAX:
            _SKELETONS.clear()
        skeleton = _SKELETONS[cache_key] = [
            (name, _render(name, value, fields) if isinstance(value, Templated) and value.cacheable else value)
            for name, value in compiled
        ]
    return [(name, value if isinstance(value, bytes) else _render(name, value, fields)) for name, value in skeleton]


_KEYS: dict[int, tuple[str, ...]] = {}


def _script_keys(compiled: CompiledVars) -> tuple[str, ...]:
    keys = _KEYS.get(id(compiled))
    if keys is None:
        found: dict[str, None] = {}
        for _, value in compiled:
            if isinstance(value, Templated) and value.cacheable:
                found.update(dict.fromkeys(value.keys))
        keys = _KEYS[id(compiled)] = tuple(found)
    return keys


@dataclass(slots=True)
class Profile:
    """A caller profile (``switch_caller_profile_event_set_data``); times in epoch µs."""

    direction: str
    username: str
    cid_name: str
    cid_number: str
    destination: str
    uuid: str
    channel_name: str
    created: int
    logical_direction: str = "inbound"
    answered: int = 0
    progress: int = 0
    progress_media: int = 0
    hangup: int = 0
    bridged: int = 0
    callee: tuple[str, str] | None = None
    #: After a transfer the channel gets a new caller profile (hold_transfer): its dialplan,
    #: ``Transfer-Source``, ``RDNIS`` (the old destination), index 2 and its own created time.
    dialplan: str = "XML"
    transfer_source: str | None = None
    rdnis: str | None = None
    index: int = 1
    profile_created: int = 0

    def render(self, prefix: str, *, index: bool = True) -> bytes:
        """The profile's headers; ``Other-Leg-*`` has no ``Profile-Index`` (bridge_counselor_hangup)."""
        p = prefix
        enc = url_encode
        callee = ""
        if self.callee is not None:
            callee = f"{p}-Callee-ID-Name: {enc(self.callee[0])}\n{p}-Callee-ID-Number: {enc(self.callee[1])}\n"
        idx = f"{p}-Profile-Index: {self.index}\n" if index else ""
        source = f"{p}-Source: mod_sofia\n"
        if self.transfer_source is not None:
            source += f"{p}-Transfer-Source: {enc(self.transfer_source)}\n"
        context = f"{p}-Context: public\n"
        if self.rdnis is not None:
            context += f"{p}-RDNIS: {enc(self.rdnis)}\n"
        return (
            f"{p}-Direction: {self.direction}\n{p}-Logical-Direction: {self.logical_direction}\n"
            f"{p}-Username: {enc(self.username)}\n{p}-Dialplan: {self.dialplan}\n"
            f"{p}-Caller-ID-Name: {enc(self.cid_name)}\n{p}-Caller-ID-Number: {enc(self.cid_number)}\n"
            f"{p}-Orig-Caller-ID-Name: {enc(self.cid_name)}\n{p}-Orig-Caller-ID-Number: {enc(self.cid_number)}\n"
            f"{callee}{p}-Network-Addr: 127.0.0.1\n{p}-ANI: {enc(self.cid_number)}\n"
            f"{p}-Destination-Number: {enc(self.destination)}\n{p}-Unique-ID: {self.uuid}\n"
            f"{source}{context}{p}-Channel-Name: {enc(self.channel_name)}\n"
            f"{idx}{p}-Profile-Created-Time: {self.profile_created or self.created}\n"
            f"{p}-Channel-Created-Time: {self.created}\n"
            f"{p}-Channel-Answered-Time: {self.answered}\n{p}-Channel-Progress-Time: {self.progress}\n"
            f"{p}-Channel-Progress-Media-Time: {self.progress_media}\n{p}-Channel-Hangup-Time: {self.hangup}\n"
            f"{p}-Channel-Transfer-Time: 0\n{p}-Channel-Resurrect-Time: 0\n"
            f"{p}-Channel-Bridged-Time: {self.bridged}\n{p}-Channel-Last-Hold: 0\n{p}-Channel-Hold-Accum: 0\n"
            f"{p}-Screen-Bit: true\n{p}-Privacy-Hide-Name: false\n{p}-Privacy-Hide-Number: false\n"
        ).encode()


#: The codec headers of the channel block once media is up (PCMU, the only codec modelled).
CODEC_BLOCK: Final = (
    b"Channel-Read-Codec-Name: PCMU\nChannel-Read-Codec-Rate: 8000\nChannel-Read-Codec-Bit-Rate: 64000\n"
    b"Channel-Write-Codec-Name: PCMU\nChannel-Write-Codec-Rate: 8000\nChannel-Write-Codec-Bit-Rate: 64000\n"
)

#: ``Channel-State-Number`` of the states an inbound call goes through.
STATE_NUMBERS = {"CS_EXECUTE": 4, "CS_HANGUP": 10, "CS_REPORTING": 11}


class Channel:
    """One leg: identity, state, profile(s) and variables."""

    __slots__ = (
        "_name_enc",
        "_profile_cache",
        "answer_state",
        "call_state",
        "call_uuid",
        "direction",
        "hangup_cause",
        "hit_dialplan",
        "media",
        "name",
        "other",
        "profile",
        "state",
        "state_number",
        "uuid",
        "vars",
    )

    def __init__(self, profile: Profile, direction: str = "inbound") -> None:
        self.uuid = profile.uuid
        self.name = profile.channel_name
        self._name_enc = url_encode(profile.channel_name)
        self.direction = direction
        self.hit_dialplan = "true" if direction == "inbound" else "false"
        self.call_uuid = profile.uuid
        self.profile = profile
        self.other: Profile | None = None
        self.state = "CS_EXECUTE"
        self.state_number = 4
        self.call_state = "RINGING"
        self.answer_state = "ringing"
        self.hangup_cause: str | None = None
        self.media = False
        self.vars: dict[str, bytes] = {}
        self._profile_cache: bytes | None = None

    # -- variables ------------------------------------------------------------------

    def expand(self, text: str) -> str:
        """``switch_channel_expand_variables`` for plain ``${name}`` references."""
        if "${" not in text:
            return text
        return re.sub(r"\$\{([^}]+)\}", lambda m: self.get_var(m.group(1)) or "", text)

    def set_var(self, name: str, value: str | None) -> None:
        """``switch_channel_set_variable``: delete, then append (``None`` only deletes)."""
        self.vars.pop(name, None)
        if value is not None and value != "":
            self.vars[name] = f"variable_{name}: {url_encode(value)}\n".encode()

    def set_vars(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        for name, value in pairs:
            self.set_var(name, value)

    def set_lines(self, lines: Iterable[tuple[str, bytes]]) -> None:
        """Append already-encoded lines (from :func:`instantiate`)."""
        if not self.vars:
            self.vars.update(lines)
            return
        pop = self.vars.pop
        for name, line in lines:
            pop(name, None)
            self.vars[name] = line

    def get_var(self, name: str) -> str | None:
        line = self.vars.get(name)
        if line is None:
            return None
        return url_decode(line[len(name) + 11 : -1].decode("utf-8", "surrogateescape"))

    def variables(self) -> dict[str, str]:
        """All variables, decoded (for results and tests; events never need this)."""
        return {name: self.get_var(name) or "" for name in self.vars}

    def var_block(self) -> bytes:
        return b"".join(self.vars.values())

    # -- headers --------------------------------------------------------------------

    def touch(self) -> None:
        """Forget the cached profile headers after a time or callee change."""
        self._profile_cache = None

    def state_block(self) -> bytes:
        """``Channel-State`` … ``Answer-State`` [``Hangup-Cause``] [codec headers]."""
        cause = f"Hangup-Cause: {self.hangup_cause}\n" if self.hangup_cause else ""
        block = (
            f"Channel-State: {self.state}\nChannel-Call-State: {self.call_state}\n"
            f"Channel-State-Number: {self.state_number}\nChannel-Name: {self._name_enc}\n"
            f"Unique-ID: {self.uuid}\nCall-Direction: {self.direction}\n"
            f"Presence-Call-Direction: {self.direction}\nChannel-HIT-Dialplan: {self.hit_dialplan}\n"
            f"Channel-Call-UUID: {self.call_uuid}\nAnswer-State: {self.answer_state}\n{cause}"
        ).encode()
        return block + CODEC_BLOCK if self.media else block

    def profile_block(self) -> bytes:
        """``Caller-*`` and, once bridged, ``Other-Type`` + ``Other-Leg-*``."""
        cached = self._profile_cache
        if cached is None:
            cached = self.profile.render("Caller")
            if self.other is not None:
                other_type = "originatee" if self.direction == "inbound" else "originator"
                cached += f"Other-Type: {other_type}\n".encode() + self.other.render("Other-Leg", index=False)
            self._profile_cache = cached
        return cached


def _stamp(us: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(us // 1_000_000))


def billing_variables(
    ch: Channel, digits_dialed: str, last_app: tuple[str, str] | None
) -> list[tuple[str, str | None]]:
    """``switch_channel_set_timestamps`` at CS_REPORTING, in the captured order.

    hangup_complete_vars.md: ``billusec`` = end - answer (the caller leg's own answer),
    ``uduration`` = ``flow_billusec`` = end - start, ``waitusec`` = bridge - start,
    ``answerusec`` = answer - start.  Only the µs values are exact: the seconds are whole
    epoch seconds subtracted (``billsec = end_epoch - answer_epoch``) and the
    milliseconds whole epoch milliseconds subtracted, so 8.56 s answered at .78 and
    ended at .34 bills 9 s and the same talk answered at .26 bills 8 (billsec_rounding*).  A
    ``*_stamp`` exists only for a time that is set.  The far-end leg has no
    ``last_app``/``last_arg`` (inbound_show_channels).
    """
    p = ch.profile
    cause = ch.hangup_cause or "NORMAL_CLEARING"
    start, end = p.created, p.hangup or int(time.time() * 1_000_000)
    answered, bridged, progress, media = p.answered, p.bridged, p.progress, p.progress_media

    values: list[tuple[str, str | None]] = [
        ("hangup_cause", cause),
        ("hangup_cause_q850", str(q850(cause))),
        ("digits_dialed", digits_dialed or "none"),
        ("start_stamp", _stamp(start)),
        ("profile_start_stamp", _stamp(start)),
    ]
    for name, us in (("answer", answered), ("bridge", bridged), ("progress", progress), ("progress_media", media)):
        if us:
            values.append((f"{name}_stamp", _stamp(us)))
    values.append(("end_stamp", _stamp(end)))
    for name, us in (
        ("start", start),
        ("profile_start", start),
        ("answer", answered),
        ("bridge", bridged),
        ("last_hold", 0),
    ):
        values += [(f"{name}_epoch", str(us // 1_000_000)), (f"{name}_uepoch", str(us))]
    values += [("hold_accum_seconds", "0"), ("hold_accum_usec", "0"), ("hold_accum_ms", "0")]
    for name, us in (("resurrect", 0), ("progress", progress), ("progress_media", media), ("end", end)):
        values += [(f"{name}_epoch", str(us // 1_000_000)), (f"{name}_uepoch", str(us))]
    if last_app is not None:
        values += [("last_app", last_app[0]), ("last_arg", last_app[1] or None)]
    values.append(("caller_id", f'"{p.cid_name}" <{p.cid_number}>'))
    for suffix, divisor in (("sec", 1_000_000), ("msec", 1000), ("usec", 1)):

        def since(later: int, earlier: int, d: int = divisor) -> int:
            """Whole units subtracted (billsec_rounding: 8.56 s from .78 to .34 bills 9)."""
            return later // d - earlier // d if later and earlier else 0

        first = {"sec": "duration", "msec": "mduration", "usec": "uduration"}[suffix]
        values += [
            (first, str(since(end, start))),
            (f"bill{suffix}", str(since(end, answered))),
            (f"progress{suffix}", str(since(progress, start))),
            (f"answer{suffix}", str(since(answered, start))),
            (f"wait{suffix}", str(since(bridged, start))),
            (f"progress_media{suffix}", str(since(media, start))),
            (f"flow_bill{suffix}", str(since(end, start))),
        ]
    return values


_RTP = compile_vars(RTP_STATS)


def rtp_statistics(duration_us: int, played_ms: int) -> list[tuple[str, bytes]]:
    """The ``rtp_audio_*`` block: what we played went out in 20 ms packets of 172 bytes; nothing came in."""
    packets = played_ms // 20
    return instantiate(
        _RTP,
        {
            "skip": str(max(0, duration_us // 20_000 - packets)),
            "out_bytes": str(packets * 172),
            "out_packets": str(packets),
        },
    )
