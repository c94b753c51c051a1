"""A lean call generator for set-up benchmarks: FreeSWITCH's outbound socket, one short call after another.

:class:`~emulator.switch.FakeFreeSwitch` models every application, race and listener
of a FreeSWITCH box and pays for it on every call: a task and a dozen futures, the
private event queue served by a coroutine, dispatch through every listener, a
CallResult with the whole timeline.  At 600 set-ups/s that cost a core, more than a
bare asyncio server spent on the same call, so ``bench_peers`` measured the emulator
rather than the servers (BENCHMARKS.md, "One sitting").

:class:`LoadSwitch` plays only the benchmark call, on callbacks (one
:class:`asyncio.Protocol` per call, loop timers for the media tick): the socket app
connects out, answers ``connect`` with CHANNEL_DATA, accepts the set-up commands
(``myevents``, ``linger``, ``event``, ``filter`` …), runs the ``sendmsg`` applications
``answer`` and ``playback`` one media tick after they were queued, and the ``hangup``
call-command.  Every event is rendered by the emulator's own serializers
(:func:`~emulator.events.channel_event`, :func:`~emulator.events.channel_data`,
:func:`~emulator.channel.billing_variables`) from an emulator
:class:`~emulator.channel.Channel`, changed in the same order as
:class:`~emulator.session.Session` changes it, so the bytes are the emulator's and the
emulator's are the captures' (tests/emulator/test_fast.py holds it to play_fs_hangup).
An event is rendered only when the call's socket wants it.

Left out, as a benchmark call needs none of it: other applications, ``api``, DTMF,
bridges, inbound listeners and the events of other channels, the CallResult, and the
dialplan after ``socket`` (see :meth:`_Call._end_park`).
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from daemon.esl.encoding import url_decode, url_encode
from daemon.esl.replies import api_response, command_reply, disconnect_final, disconnect_linger
from emulator.channel import Channel, Profile, billing_variables, rtp_statistics
from emulator.events import EventFactory, channel_data, channel_event, encode_headers, now_us
from emulator.listener import KNOWN_EVENTS, MYEVENTS, linger_delay, nix
from emulator.media import media_duration
from emulator.templates import ACK_VARIABLES, INITIAL_VARIABLES, LOCAL_SDP, MEDIA_VARIABLES, cause_or_default

_FIELD = re.compile(r"\{(\w+)\}")
_TAG = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
#: Commands that set the connection up rather than decide anything (as Session measures latency).
SETUP_COMMANDS = ("connect", "myevents", "linger", "nolinger", "event", "filter", "noevents", "nixevent")


class _Template:
    """A variable template (emulator/templates.py) made ready for one run.

    :func:`~emulator.channel.instantiate` formats and URL-encodes each per-call line
    whole; here the constant parts are encoded once and only the field values per call.
    URL-encoding works byte by byte, so the pieces encoded apart join to the same line
    (tests/emulator/test_fast.py compares the two).  Lines without per-call fields are
    finished bytes.
    """

    def __init__(self, template: Iterable[tuple[str, str]], fixed: dict[str, str]) -> None:
        self.lines: list[tuple[str, bytes]] = []
        self.per_call: list[tuple[int, str, bytes, tuple[str, ...]]] = []  # index, name, bytes %-format, fields
        for name, value in template:
            keys = _FIELD.findall(value) if "%(" not in value else []
            if all(key in fixed for key in keys):
                text = _FIELD.sub(lambda m: fixed[m.group(1)], value) if keys else value
                self.lines.append((name, f"variable_{name}: {url_encode(text)}\n".encode()))
                continue
            parts = _FIELD.split(value)
            pieces = [f"variable_{name}: ".encode().replace(b"%", b"%%")]
            for index, part in enumerate(parts):
                if index % 2 == 0 or part in fixed:
                    text = part if index % 2 == 0 else fixed[part]
                    pieces.append(url_encode(text).encode().replace(b"%", b"%%"))
                else:
                    pieces.append(b"%s")
            pieces.append(b"\n")
            variable = tuple(p for i, p in enumerate(parts) if i % 2 and p not in fixed)
            self.per_call.append((len(self.lines), name, b"".join(pieces), variable))
            self.lines.append((name, b""))
        self.keys = tuple(dict.fromkeys(key for *_, keys in self.per_call for key in keys))

    def render(self, fields: dict[str, str]) -> list[tuple[str, bytes]]:
        encoded = {key: url_encode(fields[key]).encode() for key in self.keys}
        lines = self.lines.copy()
        for index, name, fmt, keys in self.per_call:
            lines[index] = (name, fmt % tuple([encoded[key] for key in keys]))
        return lines


@dataclass(slots=True)
class Tally:
    """What a run of calls did.

    ``ok``: the call's playback completed and nothing went wrong; ``errors``: what went
    wrong, one line per failed call; ``latencies``: seconds from writing CHANNEL_DATA to
    the first command that is not set-up (the server's decision time, Session's
    ``first_command_latency``).
    """

    placed: int = 0
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0


@dataclass(slots=True)
class _Message:
    """A queued ``sendmsg``: an application (``app``) or, with ``app`` empty, a hang-up with ``arg`` as cause."""

    app: str
    arg: str
    event_uuid: str = ""


class LoadSwitch:
    """Places benchmark calls into an outbound-socket server at ``host:port``.

    ``media_tick``: the 20 ms frame clock (0: none); ``linger_scale`` shortens the
    linger (0: the final notice at once); ``call_limit``: seconds after which a call
    that has not ended is an error and its socket is dropped (a watchdog for a hung
    server: greenswitch with 500 calls in flight keeps some waiting over 30 s).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8084,
        *,
        destination: str = "0312345678",
        caller: str = "09012345678",
        caller_name: str = "Taro",
        media_tick: float = 0.02,
        linger_scale: float = 0.0,
        hostname: str = "vm",
        seed: int = 0,
        call_limit: float = 120.0,
    ) -> None:
        self.host = host
        self.port = port
        self.tick = media_tick
        self.linger_scale = linger_scale
        self.call_limit = call_limit
        self.destination = destination
        self.caller = caller
        self.caller_name = caller_name
        self.channel_name = f"sofia/external/{caller}@127.0.0.1:5070"
        self.factory = EventFactory(hostname, str(uuidlib.uuid4()))
        self.rng = random.Random(seed)
        self.sessions = 0
        self.fields = {
            "caller": caller,
            "caller_name": caller_name or caller,
            "destination": destination,
            "channel_name": self.channel_name,
            "diversion": "",
            "socket_data": f"{host}:{port} async full",
            "socket_host": host,
        }
        self.initial = _Template((v for v in INITIAL_VARIABLES if v[0] != "sip_h_Diversion"), self.fields)
        self.media = _Template(MEDIA_VARIABLES, self.fields)
        self.ack = _Template(ACK_VARIABLES, self.fields)
        self.sdp = _Template([("rtp_local_sdp_str", LOCAL_SDP.replace("{port}", "{media_port}"))], self.fields)
        self._lines: dict[tuple[str, str], bytes] = {}

    def set_vars(self, ch: Channel, pairs: Iterable[tuple[str, str | None]]) -> None:
        """:meth:`Channel.set_vars`, with the encoded line of a value seen before taken from a cache.

        Most values repeat from call to call (application names, stamps and epoch seconds
        of the same second, small durations).
        """
        lines, known = ch.vars, self._lines
        for name, value in pairs:
            lines.pop(name, None)
            if value:
                line = known.get((name, value))
                if line is None:
                    if len(known) > 100_000:
                        known.clear()
                    line = known[name, value] = f"variable_{name}: {url_encode(value)}\n".encode()
                lines[name] = line

    async def place(self, calls: int, inflight: int, rate: float | None = None) -> Tally:
        """Place ``calls`` calls, at most ``inflight`` at once (and at most ``rate`` per second)."""
        run = _Run(self, calls, inflight, rate)
        return await run.wait()

    def channel(self) -> tuple[Channel, dict[str, str]]:
        """A new inbound caller leg with the CHANNEL_DATA variables, and its template fields.

        The fields are Session's, with cheaper random values (one generator for the run).
        """
        self.sessions += 1
        index = self.sessions
        rng = self.rng
        uuid = str(uuidlib.uuid4())
        created = now_us()
        ch = Channel(
            Profile(
                "inbound", self.caller, self.caller_name or self.caller, self.caller, self.destination, uuid,
                self.channel_name, created,
            )
        )  # fmt: skip
        from_tag = f"{rng.randrange(10000, 99999)}SIPpTag00{index % 10}"
        per_call = {
            "uuid": uuid,
            "session_id": str(index),
            "call_id": f"{index}-{rng.randrange(1000, 99999)}@127.0.0.1",
            "created_us": str(created),
            "from_tag": from_tag,
            "to_tag": "".join(rng.choices(_TAG, k=13)),
            "branch": str(rng.randrange(1000, 99999)),
            "full_from": f'"{self.fields["caller_name"]}" <sip:{self.caller}@127.0.0.1:5070>;tag={from_tag}',
            "rfc2822_date": self.factory.rfc2822(created),
            "media_port": str(rng.randrange(16384, 32768, 2)),
            "ssrc": str(rng.randrange(1, 2**32)),
        }
        ch.set_lines(self.initial.render(per_call))
        if not self.caller_name:
            ch.set_var("sip_from_display", None)
        return ch, per_call


class _Run:
    """One :meth:`LoadSwitch.place`: the in-flight cap, the rate, the tally."""

    def __init__(self, switch: LoadSwitch, calls: int, inflight: int, rate: float | None) -> None:
        self.switch = switch
        self.loop = asyncio.get_running_loop()
        self.calls = calls
        self.inflight = inflight
        self.tally = Tally()
        self.active = 0
        self.ended = 0
        self.due = calls if rate is None else 0
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.started = time.perf_counter()
        # one watchdog for the run, not a timer per call (thousands of long timers in the loop's
        # heap made every other timer cost more)
        self.born: deque[tuple[float, _Call]] = deque()
        self.sweeper = self.loop.call_later(1.0, self._sweep)
        if rate is not None:
            start = self.loop.time()
            for i in range(calls):
                self.loop.call_at(start + i / rate, self._one_due)

    async def wait(self) -> Tally:
        self._fill()
        if self.calls:
            try:
                await self.done
            finally:
                self.sweeper.cancel()
        self.tally.elapsed = time.perf_counter() - self.started
        return self.tally

    def _one_due(self) -> None:
        self.due += 1
        self._fill()

    def _fill(self) -> None:
        while self.active < self.inflight and self.tally.placed < self.due:
            self.tally.placed += 1
            self.active += 1
            self.born.append((self.loop.time(), _Call(self)))

    def _sweep(self) -> None:
        """Calls older than the switch's ``call_limit`` that have not ended are overdue."""
        limit = self.loop.time() - self.switch.call_limit
        born = self.born
        while born and (born[0][1].ended or born[0][0] <= limit):
            _, call = born.popleft()
            if not call.ended:
                call.overdue()
        self.sweeper = self.loop.call_later(1.0, self._sweep)

    def call_ended(self, call: _Call) -> None:
        self.active -= 1
        self.ended += 1
        tally = self.tally
        if call.problem is None and call.played:
            tally.ok += 1
        else:
            tally.errors.append(call.problem or "the call ended before its playback completed")
        if call.latency is not None:
            tally.latencies.append(call.latency)
        if self.ended == self.calls:
            if not self.done.done():
                self.done.set_result(None)
        else:
            self._fill()


@functools.lru_cache(maxsize=256)
def _reply(text: str) -> bytes:
    """A ``command/reply`` (the same few texts on every call)."""
    return command_reply(text)


class _Call(asyncio.Protocol):
    """One call: the caller leg and the socket app's connection."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.sw = sw = run.switch
        self.loop = run.loop
        self.ch, self.fields = sw.channel()
        self.socket_app_uuid = str(uuidlib.uuid4())
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.out: list[bytes] = []
        self.names: set[str] = set()
        self.all_events = False
        self.filters: list[bytes] = []
        self.fmt = "plain"
        self.myevents = False
        self.myevents_seen = False
        self.park_pending = False
        self.connected = False
        self.linger: int | None = None
        self.queue: deque[_Message] = deque()
        self.running = False  # a queued message is due or its application runs
        self.app_open = True
        self.gone = False
        self.closing = False
        self.down = False
        self.destroyed = False
        self.ended = False
        self.played = False
        self.played_ms = 0
        self.last_app = ("socket", sw.fields["socket_data"])
        self.problem: str | None = None
        self.data_sent_at: float | None = None
        self.latency: float | None = None
        self.connecting = self.loop.create_task(self.loop.create_connection(lambda: self, sw.host, sw.port))
        self.connecting.add_done_callback(self._connect_done)

    # -- plumbing ---------------------------------------------------------------------

    def fail(self, message: str) -> None:
        if self.problem is None:
            self.problem = message

    def later(self, delay: float, step: Callable[[], None]) -> None:
        """Run ``step`` after ``delay`` s (the next loop iteration for 0), then send what it wrote."""
        if delay > 0:
            self.loop.call_later(delay, self._step, step)
        else:
            self.loop.call_soon(self._step, step)

    def _step(self, step: Callable[[], None]) -> None:
        if not self.ended:
            step()
            self.flush()

    def flush(self) -> None:
        """One ``send()`` for what one step wrote (FreeSWITCH's listener drains its queue in bursts too)."""
        if self.out:
            if self.transport is not None and not self.gone:
                self.transport.write(b"".join(self.out))
            self.out.clear()

    def writable(self) -> bool:
        return self.transport is not None and not self.gone and not self.closing

    def write(self, data: bytes) -> None:
        if self.writable():
            self.out.append(data)

    def fire(self, name: str, tail: Iterable[tuple[str, str]] = (), pre: bytes = b"") -> None:
        """A channel event, rendered only when this socket wants it (``myevents``/``event``, ``filter``)."""
        if not self.writable() or not (self.all_events or name in self.names):
            return
        event = channel_event(self.sw.factory, self.ch, name, pre=pre, tail=encode_headers(tail))
        if self.filters and not any(line in b"\n" + event.payload for line in self.filters):
            return
        self.out.append(event.frame(self.fmt))

    # -- the socket -------------------------------------------------------------------

    def _connect_done(self, task: asyncio.Task[tuple[asyncio.BaseTransport, asyncio.BaseProtocol]]) -> None:
        if task.cancelled():
            self.fail("connect cancelled")
        elif (exc := task.exception()) is not None:
            self.fail(f"socket app could not connect to {self.sw.host}:{self.sw.port}: {exc!r}")
        else:
            return
        self.gone = True
        self._end_park()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no asyncio.Transport subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.app_open = False
        if self.destroyed:
            self._finish()
        elif not self.down and not self.running:
            self._end_park()  # the app left while the park loop idled; a running app ends first

    def data_received(self, data: bytes) -> None:
        if b"\r" in data:
            self.fail(f"CR in a command: {data[:120]!r}")
        buffer = self.buffer + data
        while (end := buffer.find(b"\n\n")) >= 0:
            head = buffer[:end]
            at = head.lower().find(b"content-length:")
            length = int(head[at + 15 :].split(b"\n", 1)[0]) if at >= 0 else 0
            if len(buffer) < end + 2 + length:
                break
            body = buffer[end + 2 : end + 2 + length]
            buffer = buffer[end + 2 + length :]
            self.command(head.decode("utf-8", "surrogateescape"), body)
        self.buffer = buffer
        self.flush()

    # -- commands (mod_event_socket parse_command, as emulator/listener.py and session.py answer them) ----

    def command(self, head: str, body: bytes) -> None:
        line, _, rest = head.partition("\n")
        line = line.strip()
        low = line.lower()
        if not self.connected and not low.startswith("connect"):
            self.fail(f"command before connect: {line!r}")
        if self.latency is None and self.data_sent_at is not None and not low.startswith(SETUP_COMMANDS):
            self.latency = time.monotonic() - self.data_sent_at
        reply = self.reply(line, low, rest, body)
        if reply is not None:
            self.write(_reply(reply))
        if self.park_pending and self.myevents:
            # CHANNEL_PARK after the reply to the command following myevents, in half the calls (the
            # captured race, as OutboundListener.on_frame plays it)
            if self.myevents_seen:
                self.park_pending = False
                self.fire("CHANNEL_PARK")
            self.myevents_seen = True

    def reply(self, line: str, low: str, rest: str, body: bytes) -> str | None:
        word = low.split(" ", 1)[0]
        if word == "connect":
            self.write(channel_data(self.sw.factory, self.ch))
            self.data_sent_at = time.monotonic()
            self.connected = True
            self.park_pending = self.sw.rng.random() < 0.5
            return None
        if word == "sendmsg":
            return self.sendmsg(line[7:].strip(), rest, body)
        if word == "myevents":
            if self.myevents:
                return "-ERR aready enabled."
            self.myevents = True
            self.names |= MYEVENTS
            self.fmt = "json" if "json" in low else "plain"
            return "+OK Events Enabled"
        if word == "linger":
            arg = line[6:].strip()
            self.linger = int(arg) if arg.lstrip("-").isdigit() else -1
            return "+OK will linger" if self.linger == -1 else f"+OK will linger {self.linger} seconds"
        if word == "nolinger":
            self.linger = None
            return "+OK will not linger"
        if word == "event":
            return self.event(low.split()[1:])
        if word == "nixevent":
            self.all_events, key_count = nix(low.split()[1:], self.names, all_events=self.all_events)
            return "+OK events nixed" if key_count else "-ERR no keywords supplied"
        if word == "filter":
            header, _, value = line[7:].strip().partition(" ")
            self.filters.append(f"\n{header}: {url_encode(value.strip())}\n".encode())
            return f"+OK filter added. [{header}]=[{value.strip()}]"
        if word in ("exit", "..."):
            self.write(command_reply("+OK bye"))
            self.final_notice()
            return None
        if word in ("api", "bgapi"):
            self.fail(f"the load generator does not model api commands: {line!r}")
            self.write(api_response("-ERR not modelled by the load generator\n"))
            return None
        self.fail(f"unknown command: {line!r}")
        return "-ERR command not found"

    def event(self, words: list[str]) -> str:
        if words and words[0] in ("plain", "json", "xml"):
            self.fmt, words = words[0], words[1:]
        keys = [w.upper() for w in words if w.upper() in KNOWN_EVENTS]
        if not keys:
            return "-ERR no keywords supplied"
        self.all_events = self.all_events or "ALL" in keys
        self.names.update(keys)
        return f"+OK event listener enabled {self.fmt}"

    def sendmsg(self, target: str, rest: str, body: bytes) -> str:
        if target and target != self.ch.uuid:
            return f"-ERR invalid session id [{target}]"
        headers = {}
        for header in rest.split("\n"):
            name, _, value = header.partition(":")
            headers[name.strip().lower()] = url_decode(value.strip())
        command = headers.get("call-command", "")
        if command == "execute":
            arg = headers.get("execute-app-arg", "")
            if body and headers.get("content-type", "").startswith("text/plain"):
                arg = body.decode("utf-8", "replace")
            self.enqueue(_Message(headers.get("execute-app-name", ""), arg, headers.get("event-uuid", "")))
        elif command == "hangup":
            if not self.down:
                self.enqueue(_Message("", cause_or_default(headers.get("hangup-cause"))))
        else:
            self.fail(f"sendmsg with unsupported call-command {command!r}")
        return "+OK"

    # -- the park loop and its applications (Session.serve, process, execute) ----------------

    def enqueue(self, message: _Message) -> None:
        self.queue.append(message)
        if not self.running:
            self.running = True
            self.later(self.sw.tick, self.next_message)

    def next_message(self) -> None:
        if self.down or not self.app_open or not self.queue:
            self.running = False
            if not self.down and not self.app_open:
                self._end_park()
            return
        message = self.queue.popleft()
        if not message.app:
            self.hangup(message.arg)
            return
        self.execute(message)

    def execute(self, message: _Message) -> None:
        """CHANNEL_EXECUTE now; ``answer`` completes a tick later, ``playback`` after its file."""
        ch = self.ch
        name, arg = message.app, message.arg
        if name not in ("answer", "playback", "hangup") or (name == "playback" and not ch.media):
            self.fail(f"the load generator runs answer, playback after it, and hangup; not {name!r} here")
            self.hangup("DESTINATION_OUT_OF_ORDER")
            return
        self.last_app = (name, arg)
        app_uuid = message.event_uuid or str(uuidlib.uuid4())
        data = [("Application-Data", arg)] if arg else []
        self.sw.set_vars(
            ch,
            [
                ("current_loop", "1"),
                ("total_loops", "1"),
                ("current_application", name),
                ("current_application_data", arg),
                ("current_application_response", None),
            ],
        )
        self.fire("CHANNEL_EXECUTE", [("Application", name), *data, ("Application-UUID", app_uuid)])
        self.sw.set_vars(ch, [("current_application", name)])
        if name == "hangup":  # mod_dptools hangup: CHANNEL_HANGUP inside the application
            self.channel_hangs_up(cause_or_default(arg))
            self.completed(name, data, app_uuid)
            self.channel_gone()
            return
        if name == "answer":
            if ch.profile.answered:
                self.complete(name, data, app_uuid)
            else:
                self.later(self.sw.tick, lambda: self.answered(data, app_uuid))
            return
        duration = media_duration(arg)
        if duration is None:
            self.fail(f"playback: file not found: {arg!r}")
            ch.set_var("current_application_response", "FILE NOT FOUND")
            self.complete(name, data, app_uuid)
            return
        ch.set_var("playback_terminator_used", None)
        self.later(duration, lambda: self.played_out(duration, data, app_uuid))

    def answered(self, data: list[tuple[str, str]], app_uuid: str) -> None:
        """200 OK (Session.mark_answered): PROGRESS_MEDIA, ANSWER, EXECUTE_COMPLETE, then the ACK's variables."""
        ch = self.ch
        ch.set_lines(self.sw.media.render(self.fields))
        ch.media = True
        ch.profile.progress_media = now_us()
        ch.answer_state = "early"
        self.fire("CHANNEL_PROGRESS_MEDIA")
        ch.call_state = "EARLY"
        ch.set_lines(self.sw.sdp.render(self.fields))
        ch.profile.answered = now_us()
        ch.answer_state = "answered"
        ch.touch()
        self.fire("CHANNEL_ANSWER")
        ch.call_state = "ACTIVE"
        ch.set_var("endpoint_disposition", "ANSWER")
        self.complete("answer", data, app_uuid)
        if not self.down:
            ch.set_lines(self.sw.ack.render(self.fields))

    def played_out(self, duration: float, data: list[tuple[str, str]], app_uuid: str) -> None:
        """The file ended (emulator.media.play): the playback_* variables, FILE PLAYED."""
        ms = int(duration * 1000)
        self.played_ms += ms
        samples = str(ms * 8)
        self.sw.set_vars(
            self.ch,
            [
                ("playback_last_offset_pos", samples),
                ("playback_seconds", str(ms // 1000)),
                ("playback_ms", str(ms)),
                ("playback_samples", samples),
                ("current_application_response", "FILE PLAYED"),
            ],
        )
        self.played = True
        self.complete("playback", data, app_uuid)

    def completed(self, name: str, data: list[tuple[str, str]], app_uuid: str) -> None:
        ch = self.ch
        response = ch.get_var("current_application_response") or "_none_"
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            [("Application", name), *data, ("Application-Response", response), ("Application-UUID", app_uuid)],
        )
        ch.set_var("current_loop", None)
        ch.set_var("total_loops", None)

    def complete(self, name: str, data: list[tuple[str, str]], app_uuid: str) -> None:
        """The application returned: the next queued message a tick later, or the park loop idles."""
        self.completed(name, data, app_uuid)
        if self.queue and self.app_open:
            self.later(self.sw.tick, self.next_message)
        else:
            self.running = False
            if not self.app_open:
                self._end_park()

    # -- the end of the call (Session.hangup, _socket_app, _report) ----------------------------

    def hangup(self, cause: str) -> None:
        """A ``sendmsg`` hang-up: CHANNEL_HANGUP, the park and the socket app end, the report."""
        self.channel_hangs_up(cause)
        self.channel_gone()

    def channel_hangs_up(self, cause: str) -> None:
        """The session thread's own hang-up (Session.hangup, origin ``session``): CHANNEL_HANGUP."""
        ch = self.ch
        self.down = True
        self.running = False
        ch.hangup_cause = cause
        ch.answer_state = "hangup"
        ch.state_number = 10
        ch.profile.hangup = now_us()
        ch.touch()
        self.fire("CHANNEL_HANGUP")

    def channel_gone(self) -> None:
        self._socket_app_ends()
        self.report()

    def _socket_app_ends(self) -> None:
        ch = self.ch
        ch.set_var("current_loop", None)
        ch.set_var("total_loops", None)
        self.fire("CHANNEL_UNPARK")
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            [
                ("Application", "socket"),
                ("Application-Data", self.sw.fields["socket_data"]),
                ("Application-Response", ch.get_var("current_application_response") or "_none_"),
                ("Application-UUID", self.socket_app_uuid),
            ],
        )

    def _end_park(self) -> None:
        """The app is gone with the channel up: the socket app returns, and the call is over for the server.

        The channel goes on with the dialplan after ``socket`` (FakeFreeSwitch's fallback:
        a 300 ms tone, then hang-up) with no socket to see it, so it is not played: the
        call leaves the in-flight count now.  (A server that closes right after its
        ``sendmsg`` hang-up is answered, as bare.py does, would otherwise hold each slot
        300 ms longer than the others and be capped at ``inflight`` / 0.4 s.)
        """
        if self.down:
            return
        self.down = True
        self._socket_app_ends()
        self.destroyed = True
        self._finish()

    def report(self) -> None:
        """CS_HANGUP, CS_REPORTING, CHANNEL_HANGUP_COMPLETE with the billing variables; then the notice."""
        ch = self.ch
        ch.state = "CS_HANGUP"
        self.fire("CHANNEL_STATE")
        ch.state, ch.state_number, ch.call_state = "CS_REPORTING", 11, "HANGUP"
        self.fire("CHANNEL_STATE")
        values = billing_variables(ch, "", self.last_app)
        if ch.get_var("sip_hangup_disposition") is None:
            values.append(("sip_hangup_disposition", "send_bye" if ch.profile.answered else "send_refuse"))
        self.sw.set_vars(ch, values)
        p = ch.profile
        if ch.media:
            ch.set_lines(rtp_statistics(p.hangup - p.created, self.played_ms))
        self.fire("CHANNEL_HANGUP_COMPLETE", pre=f"Hangup-Cause: {ch.hangup_cause}\n".encode())
        self.destroyed = True
        self.channel_down()

    def channel_down(self) -> None:
        """The linger notice and, after the linger, the final one (OutboundListener.channel_down)."""
        if not self.writable():
            self._finish()
            return
        if self.linger is None:
            self.final_notice()
            return
        self.write(disconnect_linger(self.ch.uuid, self.ch.name, self.linger))
        if self.linger >= 0:
            self.later(linger_delay(self.linger, self.sw.linger_scale), self.final_notice)

    def final_notice(self) -> None:
        if self.writable():
            assert self.transport is not None
            self.write(disconnect_final(self.ch.uuid))
            self.flush()
            self.closing = True
            self.transport.close()
        if not self.down:
            self._end_park()

    def overdue(self) -> None:
        self.fail(f"the call had not ended after {self.sw.call_limit} s")
        if self.transport is not None and not self.gone:
            self.transport.abort()
        self.gone = self.destroyed = True
        self._finish()

    def _finish(self) -> None:
        if self.ended or not (self.gone and self.destroyed):
            return
        self.ended = True
        self.run.call_ended(self)
