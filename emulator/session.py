"""One inbound call: its channel, its session thread, and its outbound event socket.

The dialplan is ``socket <daemon> async full`` followed by the fallback (see
:mod:`emulator.switch`).  What happens, in FreeSWITCH terms:

* The ``socket`` app connects out and waits for ``connect`` (mod_event_socket reads
  the first command with a 25 s limit; slow_connect: nothing is sent before it).
* It then parks the channel (``switch_ivr_park``).  ``sendmsg`` commands are queued
  as private events and answered ``+OK`` at once; the park loop runs them on the
  next media tick (every capture: CHANNEL_EXECUTE ~20 ms after the ``+OK``).
* ``event-lock: true`` holds every later queued message while the app runs;
  without it, a running app that parses events (playback, bridge, sleep …) runs the
  next message nested (cutoff_in_bridge vs cutoff_in_bridge_nolock).
* When the channel hangs up, the running app returns, the park ends
  (CHANNEL_UNPARK), the socket app completes, and the state machine reports
  CHANNEL_STATE CS_HANGUP, CHANNEL_STATE CS_REPORTING, CHANNEL_HANGUP_COMPLETE.
* When the app closes its socket, the park ends as soon as no app runs; a bridge
  keeps going (backstop_crash_in_bridge) and the dialplan resumes after it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import random
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from daemon.esl import Frame
from daemon.esl.encoding import url_decode
from daemon.esl.replies import disconnect_final, disconnect_linger
from emulator import arrival
from emulator.arrival import StampedSocket
from emulator.cdr import CdrWriter
from emulator.channel import Channel, Profile, billing_variables, compile_vars, instantiate, rtp_statistics
from emulator.events import OutEvent, channel_data, channel_event, encode_headers, now_us
from emulator.listener import MYEVENTS, Listener, Switchboard, linger_delay
from emulator.script import Broadcast, CallerScript, CallResult, Keys, Speech
from emulator.sip import OK, REQUEST_TERMINATED, SESSION_PROGRESS, final_response, reason_header
from emulator.templates import (
    ACK_VARIABLES,
    INITIAL_VARIABLES,
    LOCAL_SDP,
    MEDIA_VARIABLES,
    cause_or_default,
    q850,
)

T = TypeVar("T")

_INITIAL = compile_vars(INITIAL_VARIABLES)
_INITIAL_NO_DIVERSION = compile_vars(v for v in INITIAL_VARIABLES if v[0] != "sip_h_Diversion")
_MEDIA = compile_vars(MEDIA_VARIABLES)
_ACK = compile_vars(ACK_VARIABLES)

#: Commands that set the connection up rather than decide anything (first_command_latency).
_SETUP_COMMANDS = ("connect", "myevents", "linger", "nolinger", "event", "filter", "noevents", "nixevent")


@dataclass(slots=True)
class Message:
    """A queued private event: a ``sendmsg`` execute/hangup, or a broadcast."""

    kind: str  # "execute" or "hangup"
    app: str = ""
    arg: str = ""
    event_uuid: str = ""
    event_lock: bool = False
    loops: int = 1
    cause: str = "NORMAL_CLEARING"
    lead_ticks: int = 1
    broadcast: Broadcast | None = None


AppFunc = Callable[["Session", str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AppSpec:
    """A dialplan application as :meth:`Session.execute` runs it (the table is the switch's: ``Switch.apps``)."""

    func: AppFunc
    #: Without SAF_SUPPORT_NOMEDIA FreeSWITCH pre-answers first ("Requires media! pre_answering").
    needs_media: bool = False


@dataclass(slots=True)
class BLeg:
    """The far-end leg of a running bridge (visible to ``show channels`` and inbound events)."""

    session: Session
    channel: Channel
    gone: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Switch(Switchboard, Protocol):
    """What a call, and the applications that run on it, need of the switch it lives in.

    :class:`emulator.switch.FakeFreeSwitch` is the one switch; the session is made by it and
    only knows it through this, so nothing below the switch imports it back.
    """

    host: str
    port: int
    socket_data: str
    media_tick: float
    seed: int
    record_frames: bool
    linger_scale: float
    max_linger: float
    apps: Mapping[str, AppSpec]
    sessions: dict[str, Session]
    b_legs: dict[str, BLeg]
    cdr: CdrWriter | None

    def park_event(self, rng: random.Random) -> bool: ...

    def dispatch(self, event: OutEvent, own: Listener | None) -> None: ...

    def listened(self, name: str) -> bool: ...

    async def run_fallback(self, session: Session) -> None: ...

    def channel_destroyed(self, session: Session) -> None: ...

    def schedule_hangup(self, session: Session, when: str, cause: str) -> None: ...

    def b_leg_started(self, session: Session, channel: Channel, endpoint: str) -> BLeg: ...

    def b_leg_ended(self, leg: BLeg, cause: str, *, caller_cause: str | None, caller_bye: bool = False) -> None: ...


class Session:
    """The caller leg and everything FreeSWITCH does with it."""

    def __init__(self, fs: Switch, script: CallerScript, call_uuid: str | None, index: int) -> None:
        self.fs = fs
        self.script = script
        self.loop = asyncio.get_running_loop()
        self.tick = fs.media_tick
        uuid = call_uuid or str(uuidlib.uuid4())
        created = now_us()
        caller_name = script.caller_name or script.caller
        name = f"sofia/external/{script.caller}@127.0.0.1:5070"
        self.ch = Channel(
            Profile("inbound", script.caller, caller_name, script.caller, script.destination, uuid, name, created)
        )
        self.result = CallResult(call_uuid=uuid, start_time=created / 1e6)
        self.rng = random.Random(f"{fs.seed}:{index}")
        self.fields = self._fields(index, created)
        template = _INITIAL if script.diversion is not None else _INITIAL_NO_DIVERSION
        self.ch.set_lines(instantiate(template, self.fields))
        if not script.caller_name:
            self.ch.set_var("sip_from_display", None)
        self.listener: OutboundListener | None = None
        self.socket_app_uuid = str(uuidlib.uuid4())
        self.queue: deque[Message] = deque()
        self.lock_depth = 0
        self.digits_dialed = ""
        self.keys = deque(script.digits)
        self.dtmf_queue: deque[str] = deque()  # switch_channel_queue_dtmf: read by the running app
        self._dtmf_arrived: asyncio.Future[None] | None = None
        self.last_app = ("socket", fs.socket_data)
        self.disposition: str | None = None
        self.bridged = False  # a bridge app has the far end on (hangup sets last_bridge_role)
        self.answered_at: float | None = None
        self.played_ms = 0
        self.phase = "app"  # who a hangup app acts for: "app", then "fallback"
        self._kick: asyncio.Future[None] | None = None
        self._waiters: set[asyncio.Future[str]] = set()
        self.down: asyncio.Future[None] = self.loop.create_future()
        self.park_done: asyncio.Future[None] = self.loop.create_future()
        self.destroyed: asyncio.Future[None] = self.loop.create_future()
        self._timers: list[asyncio.TimerHandle] = []
        self._bridge_timer_started = False
        self.playing: list[asyncio.Future[str]] = []  # running media, innermost last (uuid_break ends it)
        self.broken = False  # uuid_break ended the last media: a ``loops`` message stops repeating
        self.transfer_to: list[tuple[str, str]] | None = None  # the inline dialplan of a uuid_transfer
        self.parked = False  # park_after_bridge parked it: CS_PARK once the socket app returns

    def _fields(self, index: int, created: int) -> dict[str, str]:
        script = self.script
        caller_name = script.caller_name or script.caller
        from_tag = f"{self.rng.randrange(10000, 99999)}SIPpTag00{index % 10}"
        return {
            "uuid": self.ch.uuid,
            "session_id": str(index),
            "caller": script.caller,
            "caller_name": caller_name,
            "destination": script.destination,
            "channel_name": self.ch.name,
            "call_id": f"{index}-{self.rng.randrange(1000, 99999)}@127.0.0.1",
            "created_us": str(created),
            "from_tag": from_tag,
            "to_tag": "".join(
                self.rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(13)
            ),
            "branch": str(self.rng.randrange(1000, 99999)),
            "full_from": f'"{caller_name}" <sip:{script.caller}@127.0.0.1:5070>;tag={from_tag}',
            "diversion": script.diversion or "",
            "rfc2822_date": self.fs.factory.rfc2822(created),
            "socket_data": self.fs.socket_data,
            "socket_host": self.fs.host,
            "media_port": str(self.rng.randrange(16384, 32768, 2)),
            "ssrc": str(self.rng.randrange(1, 2**32)),
        }

    # -- events ---------------------------------------------------------------------

    def fire(self, name: str, tail: Iterable[tuple[str, str]] = (), pre: bytes = b"") -> None:
        """Fire a channel event to whoever listens (the call's socket, inbound listeners)."""
        event = channel_event(self.fs.factory, self.ch, name, pre=pre, tail=encode_headers(tail))
        self.result.events_sent.append(name)
        self.fs.dispatch(event, self.listener)

    # -- waiting --------------------------------------------------------------------

    @property
    def is_down(self) -> bool:
        return self.ch.hangup_cause is not None

    async def wait(self, seconds: float | None, *also: asyncio.Future[Any]) -> str:
        """Sleep like a media loop: ``"timeout"``, ``"down"`` (hung up) or ``"event"`` (one of ``also``)."""
        if self.down.done():
            return "down"
        fut: asyncio.Future[str] = self.loop.create_future()

        def done(reason: str) -> None:
            if not fut.done():
                fut.set_result(reason)

        def on_event(_: asyncio.Future[Any]) -> None:
            done("event")

        handle = self.loop.call_later(seconds, done, "timeout") if seconds is not None else None
        for other in also:
            other.add_done_callback(on_event)
        self._waiters.add(fut)
        try:
            return await fut
        finally:
            self._waiters.discard(fut)
            if handle is not None:
                handle.cancel()
            for other in also:
                other.remove_done_callback(on_event)

    def later(self, delay: float, callback: Callable[[], object]) -> None:
        self._timers.append(self.loop.call_later(delay, callback))

    def _kicked(self) -> asyncio.Future[None]:
        if self._kick is None or self._kick.done():
            self._kick = self.loop.create_future()
        return self._kick

    def kick(self) -> None:
        if self._kick is not None and not self._kick.done():
            self._kick.set_result(None)

    # -- the private event queue ------------------------------------------------------

    def enqueue(self, message: Message) -> None:
        self.queue.append(message)
        self.kick()

    def _can_pop(self) -> bool:
        return bool(self.queue) and self.lock_depth == 0 and not self.is_down

    async def serve(self, until: asyncio.Future[T] | asyncio.Future[None], *, park: bool = False) -> None:
        """``switch_ivr_parse_all_events`` in a loop until ``until`` resolves.

        The park loop serves at the top; a running app without event-lock serves
        nested while it waits (cutoff_in_bridge_nolock: the broadcast plays inside the
        bridge).  A message starts on the next media tick (``lead_ticks`` of them for
        broadcasts, whose EXECUTE came 0.2 s after the api call in api_commands).

        ``park``: the park loop (``switch_ivr_park`` with no input args) dequeues and
        drops every DTMF digit once the applications queued for it have returned and
        while it idles, so a digit keyed between two applications is lost unless the
        second was already queued.
        """
        while not until.done():
            if self._can_pop():
                await self.wait(self.tick * self.queue[0].lead_ticks)
                if until.done() or not self._can_pop():
                    continue
                await self.process(self.queue.popleft())
                if park and not self.queue:
                    self.dtmf_queue.clear()  # switch_ivr_parse_all_events ran what was queued; then the DTMF check
                continue
            if park:
                self.dtmf_queue.clear()
                waits: list[asyncio.Future[Any]] = [self._kicked(), until, self.dtmf_arrival()]
            else:
                waits = [self._kicked(), until]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)

    async def app_wait(self, awaitable: Awaitable[T]) -> T:
        """Run an app's blocking part; without event-lock, queued messages run nested meanwhile."""
        if self.lock_depth > 0:
            return await awaitable
        main = asyncio.ensure_future(awaitable)
        server = asyncio.ensure_future(self.serve(main))
        try:
            return await main
        finally:
            await server

    async def process(self, message: Message) -> None:
        """``switch_ivr_parse_event`` for one queued message."""
        if message.kind == "hangup":
            self.hangup(message.cause, "app")
            return
        if message.event_lock:
            self.lock_depth += 1
        try:
            # a ``loops: N`` sendmsg header: N whole runs (EXECUTE .. EXECUTE_COMPLETE each, one
            # Application-UUID, ``current_loop`` counting); -1 repeats until uuid_break (hold_loops_break)
            passes = 0
            while message.loops < 0 or passes < max(1, message.loops):
                passes += 1
                self.ch.set_var("current_loop", str(passes))
                self.ch.set_var("total_loops", str(message.loops))
                self.broken = False
                if not await self.execute(message.app, message.arg, message.event_uuid, message.broadcast):
                    break
                if self.broken or self.transfer_to is not None:
                    break
        finally:
            self.ch.set_var("current_loop", None)
            self.ch.set_var("total_loops", None)
            if message.event_lock:
                self.lock_depth -= 1
                self.kick()

    # -- interruptions from outside ------------------------------------------------------

    def media_started(self) -> asyncio.Future[str]:
        """A playback begins: the future resolves with why it was stopped from outside."""
        stop: asyncio.Future[str] = self.loop.create_future()
        self.playing.append(stop)
        return stop

    def media_ended(self, stop: asyncio.Future[str]) -> None:
        if stop in self.playing:
            self.playing.remove(stop)

    def break_media(self, *, flush: bool) -> None:
        """``uuid_break <uuid> [all]``: CF_BREAK ends the innermost playback on the next media tick
        (EXECUTE_COMPLETE ``FILE PLAYED`` 20-40 ms after the api reply: hold_break_bridge);
        ``all`` first flushes the queued private events (sendmsg applications, broadcasts)
        without a word to whoever queued them (hold_break_all_flushes).

        With nothing playing the flag is dropped here (see emulator/README.md).
        """
        if flush:
            self.queue.clear()
        if not self.playing:
            return
        target = self.playing[-1]
        self.later(self.tick, lambda: _settle(target, "break"))

    def transfer(self, destination: str, dialplan: str) -> None:
        """``uuid_transfer <uuid> <app:arg,...> inline``: a new caller profile, the media stops (PLAYBACK
        ERROR), the park and the socket app end, and the channel runs the inline dialplan (hold_transfer)."""
        if dialplan != "inline":
            self.error(f"uuid_transfer to the {dialplan} dialplan is not modelled")
            return
        ch = self.ch
        self.transfer_to = [(app, data) for app, _, data in (item.partition(":") for item in destination.split(","))]
        history = f"{int(time.time())}:{uuidlib.uuid4()}:bl_xfer:{destination}/public/{dialplan}"
        hops = ch.get_var("max_forwards")  # switch_ivr_session_transfer sets it again, one hop less
        forwards = str(int(hops) - 1) if hops and hops.isdigit() else None
        ch.set_vars([("max_forwards", forwards), ("transfer_history", history), ("transfer_source", history)])
        ch.profile = dataclasses.replace(
            ch.profile,
            dialplan=dialplan,
            destination=destination,
            transfer_source=history,
            rdnis=ch.profile.destination,
            index=2,
            profile_created=now_us(),
        )
        ch.touch()
        for stop in list(self.playing):
            self.later(self.tick, functools.partial(_settle, stop, "transfer"))
        self.later(self.tick, functools.partial(_settle, self.park_done, None))

    async def execute(
        self, name: str, arg: str, app_uuid: str, broadcast: Broadcast | None = None, *, from_app: bool = True
    ) -> bool:
        """``switch_core_session_execute_application`` + ``switch_core_session_exec``."""
        if self.is_down:
            return False  # "Channel is hungup, aborting execution of application"
        spec = self.fs.apps.get(name)
        if spec is None:
            # switch_core_session.c: "Invalid Application %s" -> DESTINATION_OUT_OF_ORDER
            self.error(f"unknown application {name!r} (FreeSWITCH hangs up with DESTINATION_OUT_OF_ORDER)")
            self.hangup("DESTINATION_OUT_OF_ORDER", "app")
            return False
        if spec.needs_media and not self.ch.media:
            await self.pre_answer()  # "Application playback Requires media! pre_answering"
        expanded = self.ch.expand(arg)
        if from_app:
            self.result.apps.append((name, expanded))
        self.last_app = (name, expanded)
        app_uuid = app_uuid or str(uuidlib.uuid4())
        data = [("Application-Data", expanded)] if expanded else []
        ch = self.ch
        ch.set_var("current_application", name)
        ch.set_var("current_application_data", expanded or None)
        ch.set_var("current_application_response", None)
        if broadcast is not None:
            broadcast.started_at = time.time()
        self.fire("CHANNEL_EXECUTE", [("Application", name), *data, ("Application-UUID", app_uuid)])
        ch.set_var("current_application", name)
        await spec.func(self, expanded)
        response = ch.get_var("current_application_response") or "_none_"
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            [("Application", name), *data, ("Application-Response", response), ("Application-UUID", app_uuid)],
        )
        if broadcast is not None:
            broadcast.completed_at = time.time()
            broadcast.response = response
        return True

    # -- media, answer ----------------------------------------------------------------

    async def pre_answer(self) -> None:
        """183 with SDP: media variables, CHANNEL_PROGRESS_MEDIA (play_fs_hangup t=0.0437)."""
        if self.ch.media:
            return
        ch = self.ch
        ch.set_lines(instantiate(_MEDIA, self.fields))
        ch.media = True
        ch.answer_state = "early"
        ch.profile.progress_media = now_us()
        ch.touch()
        self.fire("CHANNEL_PROGRESS_MEDIA")
        ch.call_state = "EARLY"
        if self.answered_at is None:
            ch.set_var("rtp_local_sdp_str", LOCAL_SDP.format(port=self.fields["media_port"]))
            self.result.sip_responses.append(SESSION_PROGRESS)
            self._start_early_timers()

    def mark_answered(self) -> None:
        """200 OK: CHANNEL_ANSWER (call state still EARLY in it), then ACTIVE; the ACK follows."""
        ch = self.ch
        if self.answered_at is not None:
            return
        if not ch.media:
            ch.set_lines(instantiate(_MEDIA, self.fields))
            ch.media = True
            ch.profile.progress_media = now_us()
            ch.answer_state = "early"
            self.fire("CHANNEL_PROGRESS_MEDIA")
            ch.call_state = "EARLY"
        ch.set_var("rtp_local_sdp_str", LOCAL_SDP.format(port=self.fields["media_port"]))
        now = now_us()
        ch.profile.answered = now
        ch.answer_state = "answered"
        ch.touch()
        self.answered_at = now / 1e6
        self.result.answered = True
        self.result.sip_responses.append(OK)
        self.result.answer_time = now / 1e6
        self.fire("CHANNEL_ANSWER")
        ch.call_state = "ACTIVE"
        self.loop.call_soon(self._ack)
        self._start_caller_timers()

    def _ack(self) -> None:
        if not self.is_down:
            self.ch.set_lines(instantiate(_ACK, self.fields))

    def _start_early_timers(self) -> None:
        after = self.script.hangup_early_after
        if after is not None:
            self.later(after, self._caller_gives_up)

    def _start_caller_timers(self) -> None:
        script = self.script
        if script.hangup_after is not None:
            self.later(script.hangup_after, lambda: self.hangup("NORMAL_CLEARING", "caller", origin="caller"))
        for at, digit in script.dtmf:
            self._timers.append(self.loop.call_later(at, self.dtmf, digit))

    def bridged_once(self) -> None:
        """The first CHANNEL_BRIDGE starts the caller's ``hangup_after_bridge`` timer."""
        after = self.script.hangup_after_bridge
        if after is not None and not self._bridge_timer_started:
            self._bridge_timer_started = True
            self.later(after, lambda: self.hangup("NORMAL_CLEARING", "caller", origin="caller"))

    def dtmf(self, digit: str) -> None:
        """An RFC 2833 digit from the caller: a DTMF event (dtmf_digits), counted in digits_dialed,
        and queued on the channel for whichever application reads it."""
        if self.is_down:
            return
        self.digits_dialed += digit
        self.fire("DTMF", [("DTMF-Digit", digit), ("DTMF-Duration", "2240"), ("DTMF-Source", "RTP")])
        self.dtmf_queue.append(digit)
        if self._dtmf_arrived is not None and not self._dtmf_arrived.done():
            self._dtmf_arrived.set_result(None)

    def dtmf_arrival(self) -> asyncio.Future[None]:
        """Resolves once a digit is queued (at once if one already is)."""
        if self._dtmf_arrived is None or self._dtmf_arrived.done():
            self._dtmf_arrived = self.loop.create_future()
        if self.dtmf_queue:
            self._dtmf_arrived.set_result(None)
        return self._dtmf_arrived

    def next_keys(self) -> Keys | None:
        entry = self.next_entry()
        if entry is None or isinstance(entry, Keys):
            return entry
        return Keys(entry.digits, delay=entry.keyed_at or 0.0, interval=entry.interval)

    def next_entry(self) -> Keys | Speech | None:
        """The script's next ``digits`` entry (a bare string is :class:`Keys`)."""
        if not self.keys:
            return None
        entry = self.keys.popleft()
        return Keys(entry) if isinstance(entry, str) else entry

    # -- hangup -----------------------------------------------------------------------

    def hangup(self, cause: str, by: str, *, origin: str = "session") -> bool:
        """``switch_channel_hangup``: CHANNEL_HANGUP now, the rest from the session thread.

        ``origin``: ``session`` (sendmsg hangup, hangup app: the session thread itself),
        ``api`` (uuid_kill, sched_hangup: another thread; the apps notice on the next
        tick and the linger notice overtakes them, api_commands/cutoff_in_bridge), or
        ``caller`` (BYE from the caller).
        """
        ch = self.ch
        if ch.hangup_cause is not None:
            return False
        bridged = self.bridged
        now = now_us()
        if origin == "caller":
            answered = self.answered_at is not None
            ch.set_vars(
                [
                    ("sip_term_status", "200" if answered else "487"),
                    ("proto_specific_hangup_cause", "sip:200" if answered else "sip:487"),
                    ("sip_term_cause", str(q850(cause))),
                ]
            )
        if bridged:
            ch.set_var("last_bridge_role", "originator")
        if self.answered_at is None:
            self._refuse(cause, caller_cancelled=origin == "caller")
        ch.hangup_cause = cause
        ch.answer_state = "hangup"
        ch.state_number = 10
        ch.profile.hangup = now
        ch.touch()
        self.fire("CHANNEL_HANGUP")
        result = self.result
        result.hangup_cause = cause
        result.hangup_by = by
        result.end_time = now / 1e6
        if origin == "caller":
            self.disposition = "recv_bye" if self.answered_at is not None else "recv_cancel"
            if not bridged:
                ch.set_var("sip_hangup_disposition", self.disposition)
        if self.listener is not None and (origin == "api" or (origin == "caller" and bridged)):
            self.listener.channel_down()
        if origin == "api":
            self.loop.call_later(self.tick, self._set_down)
        else:
            self._set_down()
        return True

    def _refuse(self, cause: str, *, caller_cancelled: bool) -> None:
        """The final response to the unanswered INVITE (``sofia_on_hangup``: ``nua_respond``)."""
        result = self.result
        if caller_cancelled:
            result.sip_responses.append(REQUEST_TERMINATED)  # the stack's answer to the CANCEL
            return
        ignore = (self.ch.get_var("sip_ignore_remote_cause") or "").lower() in ("true", "yes", "on", "1")
        remote = self.ch.get_var("last_bridge_proto_specific_hangup_cause")
        result.sip_responses.append(final_response(cause, remote, ignore_remote=ignore))
        result.sip_reason = reason_header(cause)

    def _set_down(self) -> None:
        if not self.down.done():
            self.down.set_result(None)
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result("down")
        if not self.park_done.done():
            self.park_done.set_result(None)
        self.kick()

    def app_gone(self) -> None:
        """The app closed its socket: the park loop ends once no app runs (CF_CONTROLLED cleared)."""
        if not self.park_done.done():
            self.park_done.set_result(None)
        self.kick()

    def park_after_bridge(self) -> None:
        """``switch_ivr_park_session`` when a bridge ends with ``park_after_bridge=true``: the state
        becomes CS_PARK (with CF_TRANSFER), so the dialplan after ``socket`` never runs.  While the
        app holds the call its park goes on; once the socket app returns the channel parks itself."""
        self.parked = True

    # -- the session thread -------------------------------------------------------------

    async def run(self) -> None:
        """The whole call: socket app, fallback dialplan, reporting."""
        try:
            if self.script.hangup_unanswered_after is not None:
                self.later(self.script.hangup_unanswered_after, self._caller_gives_up)
            await self._socket_app()
            if self.transfer_to is not None and not self.is_down:
                await self._transferred(self.transfer_to)
            elif self.parked and not self.is_down:
                await self._park()
            elif not self.is_down:
                await self.fs.run_fallback(self)
            if not self.is_down:
                # switch_core_state_machine.c: the dialplan ran out -> NORMAL_CLEARING
                self.hangup("NORMAL_CLEARING", "fallback")
            await self.down
            self._report()
        finally:
            for timer in self._timers:
                timer.cancel()
            if not self.destroyed.done():
                self.destroyed.set_result(None)

    async def _transferred(self, inline: list[tuple[str, str]]) -> None:
        """The transferred channel routes again (CS_ROUTING, CS_EXECUTE) and runs the inline apps."""
        ch = self.ch
        self.phase = "dialplan"
        ch.state, ch.state_number, ch.call_state = "CS_ROUTING", 2, "RINGING"  # as captured
        self.fire("CHANNEL_STATE")
        ch.set_var("call_uuid", ch.get_var("call_uuid"))  # routing sets it again
        ch.state, ch.state_number, ch.call_state = "CS_EXECUTE", 4, "ACTIVE"
        ch.profile = dataclasses.replace(ch.profile, rdnis=None)  # gone from CS_EXECUTE on (as captured)
        ch.touch()
        self.fire("CHANNEL_STATE")
        for app, arg in inline:
            if not await self.execute(app, arg, "", from_app=False):
                break

    async def _park(self) -> None:
        """CS_PARK: ``switch_core_standard_on_park`` → ``switch_ivr_park``, which runs what is queued
        (a broadcast, its ``hangup``) and otherwise waits, silent, until the channel goes down."""
        ch = self.ch
        self.phase = "park"
        ch.state, ch.state_number = "CS_PARK", 6
        ch.touch()
        self.fire("CHANNEL_STATE")
        self.fire("CHANNEL_PARK")
        await self.serve(self.down, park=True)

    def _caller_gives_up(self) -> None:
        if self.answered_at is None:
            self.hangup("ORIGINATOR_CANCEL", "caller", origin="caller")

    async def _socket_app(self) -> None:
        """mod_event_socket ``socket`` app in async full mode."""
        ch = self.ch
        data = self.fs.socket_data
        self.fire(
            "CHANNEL_EXECUTE",
            [("Application", "socket"), ("Application-Data", data), ("Application-UUID", self.socket_app_uuid)],
        )
        connected = await self._connect()
        if connected:
            if self.listener is not None and self.listener.app_open:
                await self.serve(self.park_done, park=True)
            ch.set_var("current_loop", None)
            ch.set_var("total_loops", None)
            self.fire("CHANNEL_UNPARK")
        response = ch.get_var("current_application_response") or "_none_"
        self.fire(
            "CHANNEL_EXECUTE_COMPLETE",
            [
                ("Application", "socket"),
                ("Application-Data", data),
                ("Application-Response", response),
                ("Application-UUID", self.socket_app_uuid),
            ],
        )

    async def _connect(self) -> bool:
        """Connect out; wait for the app's ``connect``.  False: the socket app failed."""
        script = self.script
        try:
            _, listener = await asyncio.wait_for(
                arrival.connect(self.loop, lambda sock: OutboundListener(self, sock), self.fs.host, self.fs.port),
                script.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            self.error(f"socket app could not connect to {self.fs.host}:{self.fs.port}: {exc!r}")
            return False
        self.listener = listener
        outcome = await self.wait(script.connect_wait, listener.connected, listener.lost)
        if outcome == "timeout":
            # read_packet(listener, &ievent, 25) gave up: "Socket Error!", the socket app returns
            self.error(f"the app never sent connect within {script.connect_wait} s")
            listener.close()
            return False
        if outcome == "down":
            listener.channel_down()  # the caller left first: FreeSWITCH disconnects
            return False
        return listener.connected.done()

    def _report(self) -> None:
        """CS_HANGUP, CS_REPORTING, CHANNEL_HANGUP_COMPLETE with the billing variables."""
        ch = self.ch
        ch.state = "CS_HANGUP"
        self.fire("CHANNEL_STATE")
        ch.state = "CS_REPORTING"
        ch.state_number = 11
        ch.call_state = "HANGUP"
        self.fire("CHANNEL_STATE")
        self._set_timestamps()
        cause = ch.hangup_cause or "NORMAL_CLEARING"
        self.fire("CHANNEL_HANGUP_COMPLETE", pre=f"Hangup-Cause: {cause}\n".encode())
        self.result.final_variables = ch.variables
        self.fs.channel_destroyed(self)
        if self.listener is not None:
            self.listener.channel_down()
            self.listener.channel_destroyed()

    def _set_timestamps(self) -> None:
        """The billing variables of CHANNEL_HANGUP_COMPLETE, then the RTP statistics."""
        ch = self.ch
        values = billing_variables(ch, self.digits_dialed, self.last_app)
        if ch.get_var("sip_hangup_disposition") is None:
            self.disposition = "send_bye" if ch.profile.answered else "send_refuse"
            values.append(("sip_hangup_disposition", self.disposition))
        ch.set_vars(values)
        p = ch.profile
        self.result.billsec = p.hangup // 1_000_000 - p.answered // 1_000_000 if p.answered else 0
        if ch.media:
            ch.set_lines(rtp_statistics(p.hangup - p.created, self.played_ms))

    # -- errors -------------------------------------------------------------------------

    def error(self, message: str) -> None:
        self.result.errors.append(message)


def _settle(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


CATCH_UP_BYTES = 256 * 1024  # one read, like the selector transport's


class OutboundListener(Listener):
    """The socket app's connection to the daemon (``async full``)."""

    def __init__(self, session: Session, sock: StampedSocket | None = None) -> None:
        super().__init__(session.fs)
        self.stamps = sock
        self.session = session
        self.session_uuid = session.ch.uuid
        loop = asyncio.get_running_loop()
        self.connected: asyncio.Future[None] = loop.create_future()
        self.app_open = True
        self.linger: int | None = None  # seconds; -1 forever; None: no linger
        self.notice_sent = False
        self.data_sent_at: float | None = None
        self.park_pending = False
        self.myevents_seen = False
        self.record = session.fs.record_frames

    # -- plumbing ---------------------------------------------------------------------

    def record_sent(self, data: bytes) -> None:
        if self.record:
            self.session.result.frames_sent.append(data)

    def protocol_error(self, message: str) -> None:
        self.session.error(message)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.app_open = False
        result = self.session.result
        if result.socket_closed_by is None:
            result.socket_closed_by = "fs" if self.closing else "app"
        self.session.app_gone()

    def on_frame(self, frame: Frame) -> None:
        session = self.session
        if self.record:
            session.result.frames_received.append(frame.to_bytes())
        line = (frame.line or "").strip()
        if not self.connected.done() and not line.lower().startswith("connect"):
            session.error(f"command before connect: {line!r}")
        if (
            session.result.first_command_latency is None
            and self.data_sent_at is not None
            and not line.lower().startswith(_SETUP_COMMANDS)
        ):
            session.result.first_command_latency = time.monotonic() - self.data_sent_at
        if line.lower().startswith("api "):
            session.result.api_commands.append(line[4:])
            if line[4:].lstrip().lower().startswith("uuid_kill") and session.result.kill_arrived is None:
                self.note_kill(session.result)
        elif line.lower().startswith("bgapi "):
            session.result.api_commands.append(line[6:])
        super().on_frame(frame)
        if self.park_pending and self.myevents:
            # CHANNEL_PARK came right after the reply to the command following myevents
            # in 9 of 18 captures (a race with the park loop); emulated per seed.
            if self.myevents_seen:
                self.park_pending = False
                session.fire("CHANNEL_PARK")
            self.myevents_seen = True

    def catch_up(self, before: float) -> None:
        """Read now what reached the socket before ``before`` (epoch seconds).

        FreeSWITCH's listener thread would have run it by then; the emulator's loop
        may not have come round to this socket yet.  One read: bytes that came a moment
        after ``before`` in the same read are run too (the later of the two errors).
        """
        stamps = self.stamps
        if stamps is None or self.gone or self.closing:
            return
        since = stamps.unread_since()
        if since is None or since >= before:
            return
        try:
            data = stamps.recv(CATCH_UP_BYTES)
        except OSError:
            return
        if data:
            self.data_received(data)

    def note_kill(self, result: CallResult) -> None:
        """The daemon's ``uuid_kill``: when its bytes reached us, and when the loop got to run it."""
        result.kill_run = time.time()
        stamps = self.stamps
        result.kill_arrived = stamps.arrived if stamps is not None and stamps.arrived is not None else result.kill_run

    def handle(self, line: str, frame: Frame) -> tuple[str, list[tuple[str, str]]] | None:
        low = line.lower()
        session = self.session
        if low.startswith("connect"):
            self.write(channel_data(self.fs.factory, session.ch))
            self.data_sent_at = time.monotonic()
            session.result.connected = True
            if not self.connected.done():
                self.connected.set_result(None)
            self.park_pending = session.fs.park_event(session.rng)
            return None
        if low.startswith("myevents"):
            if self.myevents:
                return "-ERR aready enabled.", []
            self.myevents = True
            self.names |= MYEVENTS
            if "json" in low:
                self.fmt = "json"
            elif "xml" in low:
                self.fmt = "xml"
            return "+OK Events Enabled", []
        if low.startswith("linger"):
            arg = line[6:].strip()
            self.linger = int(arg) if arg.lstrip("-").isdigit() else -1
            if self.linger == -1:
                return "+OK will linger", []
            return f"+OK will linger {self.linger} seconds", []
        if low.startswith("nolinger"):
            self.linger = None
            return "+OK will not linger", []
        if low.startswith("sendmsg"):
            return self.sendmsg(line, frame), []
        if low.startswith("getvar"):
            _, _, name = line.partition(" ")
            return session.ch.get_var(name.strip()) or "", []
        if low.startswith("resume"):
            session.ch.set_var("socket_resume", "true")
            return "+OK", []
        if low.startswith("divert_events"):
            return "+OK events diverted" if "on" in low else "+OK events not diverted", []
        return self.handle_common(line, frame)

    def sendmsg(self, line: str, frame: Frame) -> str:
        """Queue a ``sendmsg`` as a private event (async mode: ``+OK`` only means queued)."""
        target = line[7:].strip()
        session = self.session
        if target and target != session.ch.uuid:
            other = session.fs.sessions.get(target)
            if other is None:
                return f"-ERR invalid session id [{target}]"
            session = other
        headers = {k.lower(): url_decode(v) for k, v in frame.raw_headers}
        command = headers.get("call-command", "")
        if command == "execute":
            app = headers.get("execute-app-name", "")
            arg = headers.get("execute-app-arg", "")
            if frame.body and headers.get("content-type", "").startswith("text/plain"):
                arg = frame.body.decode("utf-8", "replace")
            loops = headers.get("loops", "1")
            session.enqueue(
                Message(
                    "execute",
                    app=app,
                    arg=arg,
                    event_uuid=headers.get("event-uuid", ""),
                    event_lock=headers.get("event-lock", "").lower() in ("true", "yes", "on", "1"),
                    loops=int(loops) if loops.lstrip("-").isdigit() else 1,
                )
            )
        elif command == "hangup":
            cause = cause_or_default(headers.get("hangup-cause"))
            if not session.is_down:
                session.enqueue(Message("hangup", cause=cause))
        else:
            session.error(f"sendmsg with unsupported call-command {command!r}")
        return "+OK"

    def on_exit(self) -> None:
        """``exit``: FreeSWITCH ends the listener; the socket app returns like on a close."""
        self.send_final_and_close()
        self.session.app_gone()

    # -- the end of the call ----------------------------------------------------------

    def channel_down(self) -> None:
        """read_packet sees the channel down: linger notice, or disconnect at once without linger."""
        if self.notice_sent or self.transport is None or self.closing or self.gone:
            return
        self.notice_sent = True
        session = self.session
        if self.linger is None:
            self.send_final_and_close()
            return
        self.write(disconnect_linger(session.ch.uuid, session.ch.name, self.linger))
        if self.linger >= 0:
            session.loop.call_later(linger_delay(self.linger, session.fs.linger_scale), self.send_final_and_close)

    def channel_destroyed(self) -> None:
        """Bound an endless ``linger``: an app that never closes leaks the channel."""
        if self.linger == -1 and not self.closing and self.app_open:
            limit = self.session.fs.max_linger

            def overdue() -> None:
                if self.app_open and not self.closing:
                    self.session.error(f"socket left open {limit} s after the call ended (linger without limit)")
                    self.send_final_and_close()

            self.session.loop.call_later(limit, overdue)

    def send_final_and_close(self) -> None:
        if self.transport is None or self.closing or self.gone:
            return
        self.write(disconnect_final(self.session.ch.uuid))
        self.close()
