"""Event serialization from pre-encoded pieces.

A FreeSWITCH channel event (``switch_event_serialize``) is, in order: the common
header (``Event-Name`` … ``Event-Sequence``), optional event-specific leading
headers (``Bridge-A-Unique-ID``, the first ``Hangup-Cause`` of
CHANNEL_HANGUP_COMPLETE), the channel block (``Channel-State`` … ``Answer-State``,
``Hangup-Cause`` once the channel is down, the codec headers once media is up), the
caller profile (``Caller-*``), the other leg's profile once bridged (``Other-Type``,
``Other-Leg-*``), the channel variables (``variable_*``, absent from CHANNEL_STATE and
DTMF), then the event's own headers (``Application``, ``DTMF-Digit`` …).  See the
event shapes of play_fs_hangup and bridge_counselor_hangup.

Everything constant (host block, ``Event-Calling-*`` lines, codec block) is encoded
once; dates are cached per second; the channel caches its own blocks.  Only the
values that change per event are formatted.  Values are URL-encoded exactly like
``switch_url_encode`` (:func:`daemon.esl.encoding.url_encode`).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable

from daemon.esl.encoding import url_decode, url_encode
from daemon.esl.frame import Header
from daemon.esl.replies import event_frame
from emulator.channel import Channel
from emulator.templates import CALLING, NO_VARIABLES


def encode_headers(headers: Iterable[Header]) -> bytes:
    """``Name: value`` lines with URL-encoded values (no blank line)."""
    return "".join([f"{k}: {url_encode(v)}\n" for k, v in headers]).encode()


def encode_line(name: str, value: str) -> bytes:
    return f"{name}: {url_encode(value)}\n".encode()


def now_us() -> int:
    return int(time.time() * 1_000_000)


class EventFactory:
    """Builds event payloads for one emulated FreeSWITCH (one Core-UUID, one hostname)."""

    __slots__ = ("_calling", "_date_cache", "_host_block", "_rfc_cache", "_seq", "core_uuid", "hostname")

    def __init__(
        self,
        hostname: str,
        core_uuid: str,
        ipv4: str = "192.0.2.2",
        ipv6: str = "fd00::2",
        first_sequence: int = 400,
    ) -> None:
        self.hostname = hostname
        self.core_uuid = core_uuid
        self._host_block = encode_headers(
            [
                ("Core-UUID", core_uuid),
                ("FreeSWITCH-Hostname", hostname),
                ("FreeSWITCH-Switchname", hostname),
                ("FreeSWITCH-IPv4", ipv4),
                ("FreeSWITCH-IPv6", ipv6),
            ]
        )
        self._calling = {
            name: encode_headers(
                [("Event-Calling-File", f), ("Event-Calling-Function", fn), ("Event-Calling-Line-Number", n)]
            )
            for name, (f, fn, n) in CALLING.items()
        }
        self._seq = itertools.count(first_sequence)
        self._date_cache: tuple[int, bytes] = (-1, b"")
        self._rfc_cache: tuple[int, str] = (-1, "")

    def _dates(self, ts_us: int) -> bytes:
        second = ts_us // 1_000_000
        cached_second, block = self._date_cache
        if cached_second != second:
            local = time.localtime(second)
            block = encode_headers(
                [
                    ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", local)),
                    ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(second))),
                ]
            )
            self._date_cache = (second, block)
        return block

    def rfc2822(self, ts_us: int) -> str:
        """``RFC2822_DATE`` as the vanilla public dialplan exports it."""
        second = ts_us // 1_000_000
        if self._rfc_cache[0] != second:
            self._rfc_cache = (second, time.strftime("%a, %d %b %Y %H:%M:%S %z", time.localtime(second)))
        return self._rfc_cache[1]

    def header(self, name: str, ts_us: int) -> bytes:
        """``Event-Name`` … ``Event-Sequence`` (the part every event shares)."""
        return b"".join(
            (
                b"Event-Name: ",
                name.encode(),
                b"\n",
                self._host_block,
                self._dates(ts_us),
                b"Event-Date-Timestamp: %d\n" % ts_us,
                self._calling.get(name, b""),
                b"Event-Sequence: %d\n" % next(self._seq),
            )
        )

    def plain_event(self, name: str, headers: Iterable[Header], body: bytes = b"") -> bytes:
        """A non-channel event payload (BACKGROUND_JOB): common header, own headers, nested body."""
        ts = now_us()
        head = self.header(name, ts) + encode_headers(headers)
        if body:
            return head + b"Content-Length: %d\n\n" % len(body) + body
        return head + b"\n"


def channel_event(factory: EventFactory, ch: Channel, name: str, *, pre: bytes = b"", tail: bytes = b"") -> OutEvent:
    """A channel event as ``switch_channel_event_set_data`` lays it out (see the module doc)."""
    parts = [factory.header(name, now_us()), pre, ch.state_block(), ch.profile_block()]
    if name not in NO_VARIABLES:
        parts.append(ch.var_block())
    parts.append(tail)
    parts.append(b"\n")
    return OutEvent(name, ch.uuid, b"".join(parts))


def channel_data(factory: EventFactory, ch: Channel, socket_mode: str = "async", control: str = "full") -> bytes:
    """The ``connect`` reply: CHANNEL_DATA as a headers-only ``command/reply`` (no Content-Length).

    mod_event_socket.c parse_command: ``Channel-*`` profile, channel data, then
    ``Content-Type``, ``Reply-Text: +OK\\n`` (URL-encoded, ``%2BOK%0A``), ``Socket-Mode`` and
    ``Control``, all through ``switch_event_serialize``.
    """
    return b"".join(
        (
            factory.header("CHANNEL_DATA", now_us()),
            ch.profile.render("Channel"),
            ch.state_block(),
            ch.profile_block(),
            ch.var_block(),
            b"Content-Type: command/reply\nReply-Text: %2BOK%0A\n",
            f"Socket-Mode: {socket_mode}\nControl: {control}\n\n".encode(),
        )
    )


def plain_to_json(payload: bytes) -> bytes:
    """Re-serialize an event-plain payload as FreeSWITCH's event-json body.

    events_json: same header order as the plain form, values decoded and not
    URL-encoded, compact separators, no trailing newline, and repeated names kept
    (``Hangup-Cause`` twice in CHANNEL_HANGUP_COMPLETE) — so it is written by hand
    rather than through a dict.
    """
    head, _, body = payload.partition(b"\n\n")
    parts = []
    for line in head.split(b"\n"):
        name, _, value = line.partition(b": ")
        text = url_decode(value.decode("utf-8", "surrogateescape"))
        parts.append(json.dumps(name.decode()) + ":" + json.dumps(text, ensure_ascii=False))
    if body:
        parts.append('"_body":' + json.dumps(body.decode("utf-8", "replace"), ensure_ascii=False))
    return ("{" + ",".join(parts) + "}").encode("utf-8", "surrogateescape")


class OutEvent:
    """One fired event, serialized at most once per format."""

    __slots__ = ("_json", "name", "payload", "uuid")

    def __init__(self, name: str, uuid: str | None, payload: bytes) -> None:
        self.name = name
        self.uuid = uuid
        self.payload = payload
        self._json: bytes | None = None

    def frame(self, fmt: str) -> bytes:
        if fmt == "json":
            if self._json is None:
                self._json = event_frame(plain_to_json(self.payload), "text/event-json")
            return self._json
        return event_frame(self.payload)
