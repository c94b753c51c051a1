"""FakeFreeSwitch: the emulated switch that places calls into the daemon's outbound socket.

One instance stands for one FreeSWITCH 1.10.12 box: one Core-UUID, one event
sequence, one scheduler, one set of live channels (what ``uuid_exists``,
``show channels`` and the inbound socket see).  Each :meth:`place_call` is one
inbound SIP call routed by the dialplan::

    <action application="socket" data="127.0.0.1:8084 async full"/>
    <action application="playback" data="tone_stream://%(300,0,300)"/>      <!-- fallback="guidance" -->
    <action application="hangup" data="NORMAL_TEMPORARY_FAILURE"/>

With ``fallback="none"`` only the ``socket`` action exists, and a call whose socket
app returns is hung up by the state machine (NORMAL_CLEARING; an unanswered caller
gets 480, no_daemon_fallback.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import time
import uuid as uuidlib
from collections.abc import Mapping
from typing import Literal

from emulator import api
from emulator.apps import APPS
from emulator.apps_ivr import APPS_IVR
from emulator.cdr import CdrWriter
from emulator.channel import Channel, billing_variables, compile_vars, instantiate, rtp_statistics
from emulator.events import EventFactory, OutEvent, channel_event, now_us
from emulator.inbound import InboundListener
from emulator.listener import MYEVENTS, Listener
from emulator.scheduler import Scheduler
from emulator.script import Broadcast, CallerScript, CallResult
from emulator.session import AppSpec, BLeg, Message, Session
from emulator.templates import FAR_END_VARIABLES, LOCAL_SDP

_FAR_END = compile_vars(FAR_END_VARIABLES)

Fallback = Literal["guidance", "none"]

#: The dialplan applications this switch has loaded: mod_dptools as far as modelled, and the IVR's.
APPLICATIONS: Mapping[str, AppSpec] = {**APPS, **APPS_IVR}


class FakeFreeSwitch:
    """An emulated FreeSWITCH that connects out to the daemon, one TCP connection per call.

    ``media_tick``: the 20 ms frame clock (apps start on the next tick).
    ``linger_scale``: multiplies linger waits so tests need not sit 5-6 s per call.
    ``fallback``: the dialplan after ``socket`` (see the module doc).
    ``park_event``: deliver CHANNEL_PARK (True/False), or None for the captured race,
    decided per call from ``seed``.  ``record_frames``: keep every byte exchanged in the
    CallResult (turn off for large benchmarks).  ``max_linger``: how long an endless
    ``linger`` may keep a finished call's socket before it is an error.  ``cdr_dsn``: write
    every leg's CDR into ``fs_cdr`` there, as mod_cdr_pg_csv does (emulator/cdr.py).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8084,
        *,
        hostname: str = "vm",
        media_tick: float = 0.02,
        linger_scale: float = 1.0,
        fallback: Fallback = "guidance",
        seed: int = 0,
        park_event: bool | None = None,
        record_frames: bool = True,
        fallback_tone: str = "tone_stream://%(300,0,300)",
        fallback_cause: str = "NORMAL_TEMPORARY_FAILURE",
        max_linger: float = 30.0,
        core_uuid: str | None = None,
        sched_poll: float = 0.5,
        cdr_dsn: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.media_tick = media_tick
        self.linger_scale = linger_scale
        self.fallback = fallback
        self.fallback_tone = fallback_tone
        self.fallback_cause = fallback_cause
        self.seed = seed
        self.park = park_event
        self.record_frames = record_frames
        self.max_linger = max_linger
        self.socket_data = f"{host}:{port} async full"
        self.factory = EventFactory(hostname, core_uuid or str(uuidlib.uuid4()))
        self.scheduler = Scheduler(random.Random(seed), sched_poll)
        self.sessions: dict[str, Session] = {}
        self.b_legs: dict[str, BLeg] = {}
        self.started_at = time.time()
        self.total_sessions = 0
        self.peak_sessions = 0
        self._calls = itertools.count(1)
        self._by_name: dict[str, set[Listener]] = {}
        self._all: set[Listener] = set()
        self._servers: list[asyncio.Server] = []
        self.cdr = CdrWriter(cdr_dsn) if cdr_dsn is not None else None
        self.apps = APPLICATIONS

    # -- calls ------------------------------------------------------------------------

    async def place_call(self, script: CallerScript, call_uuid: str | None = None) -> CallResult:
        """Run one call to its end and return what happened.

        Returns once the channel is destroyed and the event socket is closed (by
        FreeSWITCH after linger, or by the app).
        """
        session = Session(self, script, call_uuid, next(self._calls))
        uuid = session.ch.uuid
        if uuid in self.sessions:
            raise ValueError(f"a call with UUID {uuid} is already up")
        self.sessions[uuid] = session
        self.total_sessions += 1
        self.peak_sessions = max(self.peak_sessions, len(self.sessions))
        try:
            await session.run()
            if session.listener is not None:
                await session.listener.lost
        finally:
            self.sessions.pop(uuid, None)
            if session.listener is not None:
                session.listener.close()
        return session.result

    async def run_fallback(self, session: Session) -> None:
        """The dialplan after ``socket`` returned with the channel still up."""
        session.result.fallback_ran = True
        session.phase = "fallback"
        if self.fallback == "guidance":
            await session.execute("playback", self.fallback_tone, "", from_app=False)
            await session.execute("hangup", self.fallback_cause, "", from_app=False)

    def park_event(self, rng: random.Random) -> bool:
        return rng.random() < 0.5 if self.park is None else self.park

    def channel_destroyed(self, session: Session) -> None:
        self.sessions.pop(session.ch.uuid, None)
        self.scheduler.delete_group(session.ch.uuid)
        if self.cdr is not None:
            self.cdr.channel_ended(session.ch)

    # -- lookups and control -----------------------------------------------------------

    def find_channel(self, uuid: str) -> Channel | None:
        session = self.sessions.get(uuid)
        if session is not None:
            return session.ch
        leg = self.b_legs.get(uuid)
        return leg.channel if leg is not None else None

    def kill(self, uuid: str, cause: str) -> bool:
        session = self.sessions.get(uuid)
        if session is not None:
            session.hangup(cause, "uuid_kill", origin="api")
            return True
        leg = self.b_legs.get(uuid)
        if leg is not None:
            leg.channel.hangup_cause = cause
            if not leg.gone.done():
                leg.gone.set_result(None)
            return True
        return False

    def schedule_hangup(self, session: Session, when: str, cause: str) -> None:
        """``sched_hangup [+]<time>``: ``+N`` is ``int(now) + N``, a bare number an absolute epoch.

        mod_commands reads ``sec = atol(argv[0] + 1)`` whatever the form and hangs up at
        once when it is 0 (``+0``, or an epoch like 2000000000), else hands the time
        to the whole-second scheduler.
        """
        text = when.strip()
        relative = text.startswith("+")
        digits = text.lstrip("+")
        value = int(digits) if digits.isdigit() else 0
        tail = text[1:]
        if (int(tail) if tail.isdigit() else 0) == 0:
            session.hangup(cause, "sched_hangup", origin="api")
            return

        due: list[float] = []

        def catch_up(at: float) -> None:
            # FreeSWITCH's scheduler is a thread of its own, and so is the event socket's
            # listener: a uuid_kill or sched_del that arrived before the task was due was
            # run before it, however late this loop comes round (emulator.arrival)
            due.append(at)
            if session.listener is not None:
                session.listener.catch_up(at)

        def fire() -> None:
            if session.result.backstop_due is None and not session.is_down:
                session.result.backstop_due = due[-1] if due else time.time()
            session.hangup(cause, "sched_hangup", origin="api")

        self.scheduler.add(value, session.ch.uuid, "hangup", fire, relative=relative, before=catch_up)

    def broadcast(self, session: Session, path: str, leg: str, *, scheduled: bool) -> None:
        """``switch_ivr_broadcast``: queue an execute on the caller leg (the normal queue, so
        an event-locked app holds it back: cutoff_in_bridge); like every message
        switch_ivr_broadcast queues, it carries ``event-lock: true``: nothing queued after it
        runs inside it.

        ``app!cause::arg`` (switch_ivr_async.c: ``cause = strchr(app, '!')``) also queues
        ``hangup <cause>`` on the channel behind it, whatever the leg; an empty cause is the
        hangup application's default, NORMAL_CLEARING.  Without ``::`` the application is
        the literal ``playback`` and a ``!`` stays part of the path.
        """
        record = Broadcast(time.time(), path, leg, scheduled)
        session.result.broadcasts.append(record)
        app, sep, arg = path.partition("::")
        if not sep:
            app, arg = "playback", path
        app, bang, cause = app.partition("!")
        if leg.lower() in ("aleg", "both"):
            session.enqueue(Message("execute", app=app, arg=arg, event_lock=True, lead_ticks=10, broadcast=record))
        if bang:
            session.enqueue(Message("execute", app="hangup", arg=cause, event_lock=True))

    def api(self, command: str, caller_uuid: str | None = None) -> str:
        return api.execute(self, command)

    # -- far-end legs -------------------------------------------------------------------

    def b_leg_started(self, session: Session, channel: Channel, endpoint: str) -> BLeg:
        """The bridged far-end leg, with the variables of inbound_show_channels' B leg."""
        profile = channel.profile
        channel.state, channel.state_number = "CS_EXCHANGE_MEDIA", 5
        channel.touch()
        channel.call_state = "ACTIVE"
        channel.answer_state = "answered"
        channel.media = True
        channel.other = dataclasses.replace(session.ch.profile, callee=None)  # the originator as it was
        channel.call_uuid = session.ch.uuid
        a = session.ch
        host = endpoint.rsplit("@", 1)[-1] if "@" in endpoint else "127.0.0.1"
        rng = session.rng
        port = str(rng.randrange(16384, 32768, 2))
        fields = {
            **session.fields,
            "uuid": profile.uuid,
            "session_id": str(self.total_sessions + len(self.b_legs) + 1),
            "channel_name": profile.channel_name,
            "user": profile.destination,
            "host": host,
            "a_uuid": a.uuid,
            "local_sdp": LOCAL_SDP.format(port=port),
            "media_port": port,
            "branch": f"{rng.getrandbits(48):012x}",
            "from_tag": f"{rng.getrandbits(48):012x}",
            "to_tag": f"{rng.randrange(1000, 9999)}SIPpTag011",
            "cseq": str(rng.randrange(10**8, 10**9)),
            "call_id": str(uuidlib.UUID(int=rng.getrandbits(128))),
        }
        channel.set_lines(instantiate(_FAR_END, fields))
        channel.set_vars(
            [
                ("last_bridge_to", a.uuid),
                ("bridge_channel", a.name),
                ("bridge_uuid", a.uuid),
                ("signal_bond", a.uuid),
                ("last_sent_callee_id_name", a.profile.cid_name),
                ("last_sent_callee_id_number", a.profile.cid_number),
            ]
        )
        leg = BLeg(session, channel)
        self.b_legs[profile.uuid] = leg
        return leg

    def b_leg_ended(self, leg: BLeg, cause: str, *, caller_cause: str | None, caller_bye: bool = False) -> None:
        """The far-end leg is gone; its CHANNEL_HANGUP_COMPLETE reaches inbound listeners before the caller's.

        ``caller_cause`` is set when the caller leg ended the bridge: the far end's
        ``last_bridge_hangup_cause`` is the caller's cause (ALLOTTED_TIMEOUT in
        backstop_crash_in_bridge); after a caller BYE it also has the SIP details and
        ``bridge_hangup_cause`` (inbound_show_channels).  None: the far end hung up.
        """
        self.b_legs.pop(leg.channel.uuid, None)
        channel = leg.channel
        channel.hangup_cause = channel.hangup_cause or cause
        channel.answer_state = "hangup"
        channel.profile.hangup = now_us()
        channel.touch()
        if self.listened("CHANNEL_HANGUP"):
            self.dispatch(channel_event(self.factory, channel, "CHANNEL_HANGUP"), None)
        channel.state, channel.state_number = "CS_REPORTING", 11
        channel.call_state = "HANGUP"
        channel.touch()
        if caller_bye:
            channel.set_vars(
                [
                    ("sip_hangup_phrase", "OK"),
                    ("last_bridge_hangup_cause", caller_cause),
                    ("last_bridge_proto_specific_hangup_cause", "sip:200"),
                ]
            )
        elif caller_cause is not None:
            channel.set_vars([("call_uuid", leg.session.ch.uuid), ("last_bridge_hangup_cause", caller_cause)])
        values = billing_variables(channel, "", None)
        if caller_cause is None or caller_bye:
            values += [("bridge_hangup_cause", cause), ("call_uuid", channel.uuid)]
        values.append(("sip_hangup_disposition", "send_bye" if caller_cause is not None else "recv_bye"))
        channel.set_vars(values)
        channel.set_lines(rtp_statistics(channel.profile.hangup - channel.profile.created, 0))
        if self.cdr is not None:
            self.cdr.channel_ended(channel)
        if self.listened("CHANNEL_HANGUP_COMPLETE"):
            pre = f"Hangup-Cause: {channel.hangup_cause}\n".encode()
            self.dispatch(channel_event(self.factory, channel, "CHANNEL_HANGUP_COMPLETE", pre=pre), None)

    # -- event delivery -------------------------------------------------------------------

    def dispatch(self, event: OutEvent, own: Listener | None) -> None:
        """``switch_event_fire``: the call's own socket, then every listener subscribed by name."""
        if own is not None and own.wants(event):
            own.send_event(event)
        targets = self._by_name.get(event.name)
        if targets:
            for listener in list(targets):
                if listener is not own and listener.wants(event):
                    listener.send_event(event)
        for listener in list(self._all):
            if listener is not own and listener.wants(event):
                listener.send_event(event)

    def listened(self, name: str) -> bool:
        """Whether any listener other than a call's own socket may want this event (else skip building it)."""
        return bool(self._by_name.get(name) or self._all)

    def dispatch_global(self, event: OutEvent) -> None:
        self.dispatch(event, None)

    def subscribe(self, listener: Listener) -> None:
        """Index a listener by the events it may get from any channel (not its own ``myevents``)."""
        self.unsubscribe(listener)
        if listener.all_events:
            self._all.add(listener)
        names = listener.names - MYEVENTS if listener.myevents else listener.names
        for name in names:
            self._by_name.setdefault(name, set()).add(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._all.discard(listener)
        for name in [n for n, ls in self._by_name.items() if listener in ls]:
            self._by_name[name].discard(listener)
            if not self._by_name[name]:
                del self._by_name[name]

    # -- inbound ----------------------------------------------------------------------------

    async def serve_inbound(
        self, host: str = "127.0.0.1", port: int = 8021, password: str = "ClueCon"
    ) -> asyncio.Server:
        """Start the inbound event socket (auth, api, event, exit) on ``host:port``."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: InboundListener(self, password), host, port)
        self._servers.append(server)
        return server

    async def close(self) -> None:
        self.scheduler.close()
        for server in self._servers:
            server.close()
            await server.wait_closed()
        self._servers.clear()
        if self.cdr is not None:
            await self.cdr.flush()
