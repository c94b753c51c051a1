"""The TCP server FreeSWITCH's ``socket`` application connects to.

Each connection gets a :class:`Session` and its own task running the call
handler inside an ``asyncio.TaskGroup``; whatever happens in one call (an
exception, a protocol error, a hang-up) ends that call only.  When the handler
returns, the socket is closed after CHANNEL_HANGUP_COMPLETE or a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from daemon.logs import get_logger
from daemon.metrics import Metrics
from daemon.outbound.session import CallEnded, Session

_log = get_logger(__name__)

CallHandler = Callable[[Session, asyncio.TaskGroup], Awaitable[None]]


class OutboundServer:
    def __init__(
        self,
        handler: CallHandler,
        metrics: Metrics,
        *,
        hangup_complete_timeout: float = 5.0,
    ) -> None:
        self._handler = handler
        self._metrics = metrics
        self._hangup_complete_timeout = hangup_complete_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sessions: set[Session] = set()

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Session(self._spawn), host, port, backlog=4096, reuse_address=True
        )
        sock = self._server.sockets[0]
        bound: int = sock.getsockname()[1]
        return bound

    @property
    def serving(self) -> bool:
        """The listener still accepts calls (what the systemd watchdog vouches for)."""
        return self._server is not None and self._server.is_serving()

    def _spawn(self, session: Session) -> None:
        task = asyncio.get_running_loop().create_task(self._run(session))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, session: Session) -> None:
        self.sessions.add(session)
        self._metrics.esl_sessions.inc()
        self._metrics.esl_sessions_total.inc()
        structlog.contextvars.clear_contextvars()
        try:
            async with asyncio.TaskGroup() as calls:
                await self._handler(session, calls)
        except* CallEnded:
            pass
        except* Exception as group:
            for exc in group.exceptions:
                _log.error("call_failed", exc_info=exc)
            await self._hangup_quietly(session)
        finally:
            if session.protocol_error is not None:
                self._metrics.esl_protocol_errors.inc()
            if session.first_command_latency is not None:
                self._metrics.first_command_latency.observe(session.first_command_latency)
            await session.finish(self._hangup_complete_timeout)
            self.sessions.discard(session)
            self._metrics.esl_sessions.dec()

    @staticmethod
    async def _hangup_quietly(session: Session) -> None:
        with contextlib.suppress(CallEnded, TimeoutError, OSError):
            await asyncio.wait_for(session.hangup("NORMAL_TEMPORARY_FAILURE"), 1.0)

    async def stop(self, drain_seconds: float = 45.0) -> None:
        """Stop accepting calls; let live calls finish for ``drain_seconds``, then drop them.

        A call dropped during a bridge goes on inside FreeSWITCH and ends on time
        through the ``sched_hangup`` armed before its money started to flow; the
        next start of this node reconciles and charges it.
        """
        if self._server is not None:
            self._server.close()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=drain_seconds)
            if pending:
                _log.warning("drain_timeout_dropping_calls", calls=len(pending))
                self.abort_all()
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def abort_all(self) -> None:
        """Drop every socket at once (tests: simulate a crashed daemon)."""
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.abort()
        for task in list(self._tasks):
            task.cancel()
