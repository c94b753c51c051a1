"""Replay the app side of a captured session against the emulator, and normalise frames for comparison.

The captured app (``app>fs`` records) sent each command right after some frame
from FreeSWITCH arrived (its reply, an EXECUTE_COMPLETE, CHANNEL_BRIDGE …), or a
fixed time after it.  :func:`steps` turns the capture into commands that each wait
for the same frame (same signature, same occurrence) and the same extra delay;
:class:`ReplayApp` is a TCP server that plays them to whatever connects to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass, field

from daemon.esl import Event, Frame, Parser
from tests.transcripts import load

Signature = tuple[str, ...]

#: A command sent later than this after its trigger frame was a deliberate wait.
DELIBERATE = 0.05


def signature(frame: Frame) -> Signature | None:
    """What a frame is, ignoring UUIDs, times and values that differ per run.

    CHANNEL_PARK is None: its delivery is a race (9 of 18 captures).
    """
    ctype = frame.content_type or ""
    if ctype == "command/reply":
        if frame.get("Event-Name") is not None:
            return ("CHANNEL_DATA",)
        text = frame.reply_text
        if text.startswith("+OK Job-UUID:"):
            text = "+OK Job-UUID: *"
        return ("reply", text)
    if ctype == "api/response":
        body = frame.body_text
        if body.startswith("UP "):
            body = "UP *"  # status
        elif body.startswith("{"):
            body = "{json}"  # show ... as json
        return ("api", body)
    if ctype in ("text/event-plain", "text/event-json"):
        event = frame.event()
        if event.name == "CHANNEL_PARK":
            return None
        return ("event", event.name, event.get("Application") or "")
    if ctype == "text/disconnect-notice":
        return ("notice", frame.get("Content-Disposition") or "")
    return (ctype,)


@dataclass
class Step:
    data: bytes  # b"" closes the socket (the app crashed)
    trigger: tuple[Signature, int] | None
    delay: float
    at: float = 0.0  # when the captured app sent it (its connection's clock)
    #: An inbound companion's command timed on the call: sent ``delay`` after this frame of the
    #: outbound connection (see :func:`on_the_call`).
    call_trigger: tuple[Signature, int] | None = None


async def _read_some(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read(65536)
    except ConnectionError:
        return b""


def parse_frames(chunks: list[bytes]) -> list[Frame]:
    parser = Parser()
    frames: list[Frame] = []
    for chunk in chunks:
        frames += parser.feed(chunk)
    return frames


def steps(name: str, max_delay: float = 10.0, rewrite: tuple[bytes, bytes] | None = None) -> list[Step]:
    """The app's commands with what each waited for in the capture.

    ``rewrite`` replaces a byte string in every command (the captured prompt directory
    by one that exists here).
    """
    out: list[Step] = []
    parser = Parser()
    counts: dict[Signature, int] = {}
    last: tuple[Signature, int] | None = None
    last_t = 0.0
    for record in load(name):
        if record.direction == "fs>app":
            for frame in parser.feed(record.data):
                sig = signature(frame)
                if sig is None:
                    continue
                counts[sig] = counts.get(sig, 0) + 1
                last = (sig, counts[sig])
                last_t = record.t
            continue
        delay = record.t - last_t
        data = record.data.replace(*rewrite) if rewrite is not None else record.data
        out.append(Step(data, last, min(delay, max_delay) if delay > DELIBERATE else 0.0, record.t))
    return out


def on_the_call(inbound: list[Step], outbound: str, lead: float, max_delay: float = 5.0) -> list[Step]:
    """Time an inbound companion's later commands on the outbound connection's frames.

    ``lead``: the inbound capture's t when the outbound connection was accepted.  A
    command the captured inbound app sent at t goes out after the outbound frame
    FreeSWITCH had sent last before ``t - lead``, plus the same wait, so an api command
    (uuid_break at 3 s into a hold) meets the call at the captured moment even when
    the replayed call runs a little late.
    """
    marks: list[tuple[float, tuple[Signature, int]]] = []
    parser = Parser()
    counts: dict[Signature, int] = {}
    for record in load(outbound):
        if record.direction != "fs>app":
            continue
        for frame in parser.feed(record.data):
            sig = signature(frame)
            if sig is not None:
                counts[sig] = counts.get(sig, 0) + 1
                marks.append((record.t, (sig, counts[sig])))
    out = []
    for step in inbound:
        at = step.at - lead
        before = [m for m in marks if m[0] <= at]
        if step.delay and before:
            t, mark = before[-1]
            out.append(dataclasses.replace(step, call_trigger=mark, delay=min(at - t, max_delay)))
        else:
            out.append(step)
    return out


def fs_frames(name: str) -> list[Frame]:
    return parse_frames([r.data for r in load(name) if r.direction == "fs>app" and r.data])


@dataclass
class ReplayApp:
    """A one-connection app that plays a capture's commands."""

    plan: list[Step]
    received: list[Frame] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _counts: dict[Signature, int] = field(default_factory=dict)
    #: An inbound companion's call: the outbound replay whose frames ``Step.call_trigger`` names.
    follow: ReplayApp | None = None
    arrived_at: dict[tuple[Signature, int], float] = field(default_factory=dict)  # loop time of each frame

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def connect(self, host: str, port: int) -> None:
        """Client mode (the inbound socket): connect and play."""
        reader, writer = await asyncio.open_connection(host, port)
        await self._serve(reader, writer)

    async def wait_for(self, sig: Signature, count: int = 1, limit: float = 15.0) -> None:
        await self._wait_for(sig, count, limit)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reading = asyncio.ensure_future(self._read(reader))
        try:
            for step in self.plan:
                if step.trigger is not None:
                    await self._wait_for(*step.trigger)
                if step.call_trigger is not None and self.follow is not None:
                    await self.follow.wait_for(*step.call_trigger, limit=60.0)
                    since = self.follow.arrived_at[step.call_trigger]
                    await asyncio.sleep(max(0.0, since + step.delay - asyncio.get_running_loop().time()))
                elif step.delay:
                    await asyncio.sleep(step.delay)
                if not step.data:
                    writer.transport.abort()
                    break
                writer.write(step.data)
            await reading
        finally:
            writer.close()
            self.done.set()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        parser = Parser()
        while data := await _read_some(reader):
            for frame in parser.feed(data):
                self.received.append(frame)
                sig = signature(frame)
                if sig is not None:
                    self._counts[sig] = self._counts.get(sig, 0) + 1
                    self.arrived_at[(sig, self._counts[sig])] = asyncio.get_running_loop().time()
                async with self._arrived:
                    self._arrived.notify_all()
        async with self._arrived:
            self._arrived.notify_all()

    async def _wait_for(self, sig: Signature, count: int, limit: float = 15.0) -> None:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: self._counts.get(sig, 0) >= count), limit)


# -- normalisation ------------------------------------------------------------------------------


def event_headers(frame: Frame) -> list[tuple[str, str]]:
    if frame.content_type == "text/event-json":
        pairs: list[tuple[str, str]] = json.loads(frame.body, object_pairs_hook=list)
        return [(k, v) for k, v in pairs if k != "_body"]
    if frame.content_type == "text/event-plain":
        return list(Event(frame.body).items())
    return frame.headers()


#: Header values compared literally (the rest are UUIDs, times, ports, tags).
COMPARED = (
    "Event-Name",
    "Application",
    "Application-Response",
    "Application-Data",
    "Answer-State",
    "Channel-State",
    "Channel-Call-State",
    "DTMF-Digit",
    "Other-Type",
)


@dataclass(frozen=True)
class Norm:
    kind: Signature
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    names: frozenset[str] = frozenset()
    order: tuple[str, ...] = ()  # header names in wire order

    def describe(self) -> str:
        return " ".join(self.kind) + " " + " ".join(f"{k}={v}" for k, v in self.values)


def normalise(frame: Frame, rename: tuple[str, str] | None = None) -> Norm | None:
    """``rename``: (ours, theirs) in Application-Data (a prompt directory)."""
    sig = signature(frame)
    if sig is None:
        return None
    ctype = frame.content_type or ""
    if ctype in ("text/event-plain", "text/event-json"):
        headers = event_headers(frame)
        if sig[2] == "socket":  # Application-Data names the daemon's host:port
            headers = [(k, v) for k, v in headers if k != "Application-Data"]
        elif rename is not None:
            headers = [(k, v.replace(*rename) if k == "Application-Data" else v) for k, v in headers]
        values = tuple(
            (name, tuple(v for k, v in headers if k == name))
            for name in (*COMPARED, "Hangup-Cause")
            if any(k == name for k, _ in headers)
        )
        return Norm((ctype, *sig), values, frozenset(k for k, _ in headers), tuple(k for k, _ in headers))
    if ctype == "text/disconnect-notice":
        names = frozenset(k for k, _ in frame.raw_headers)
        return Norm(sig, (("Linger-Time", (frame.get("Linger-Time") or "",)),), names)
    if sig == ("CHANNEL_DATA",):
        names = frozenset(k for k, _ in frame.raw_headers)
        return Norm(sig, (("Socket-Mode", (frame.get("Socket-Mode") or "",)),), names)
    return Norm((ctype, *sig))


def comparable(frames: list[Frame], rename: tuple[str, str] | None = None) -> tuple[list[Norm], int]:
    """Normalised frames without the linger notice, and where it was (-1: absent).

    The linger ``text/disconnect-notice`` races with the session thread: it came
    after CHANNEL_HANGUP in some captures and after CHANNEL_HANGUP_COMPLETE in others
    (hangup_complete_vars vs bridge_answered_caller_hangup), so its position is
    checked separately.
    """
    out: list[Norm] = []
    linger_at = -1
    for frame in frames:
        norm = normalise(frame, rename)
        if norm is None:
            continue
        if norm.kind == ("notice", "linger"):
            linger_at = len(out)
            continue
        out.append(norm)
    return out, linger_at
