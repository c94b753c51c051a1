"""The daemon process: database, guidance prompts, event socket, HTTP, background tasks.

Start-up order matters for failing closed: the event socket opens even when the
database is unreachable (calls then hear "temporarily unavailable" instead of
FreeSWITCH's bare 480), and the database connection is retried in the
background until it comes.

Every resource is entered on one ``AsyncExitStack`` as it comes up, so a start
that fails half way undoes exactly what it did, in reverse, and ``stop()``
undoes everything in the same order: stop taking calls and let live ones drain
(housekeeping still heartbeats meanwhile), flush the background writer's
queue (refused attempts, IVR call log), cancel the background tasks, close
HTTP, the balance watcher, the LISTEN hub and the pool, stop the embedded PostgreSQL.

A background task never dies silently: a database error is retried inside the
task; anything else is logged and sets ``failed``, and ``serve`` then stops the
daemon and exits non-zero (systemd restarts it).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import sys
import time
from collections.abc import Coroutine
from typing import Any, cast

import asyncpg
from aiohttp import web

from daemon import __version__, event_loop, gc_tuning, housekeeping, loop_stalls
from daemon.calls.balance_watcher import BalanceWatcher
from daemon.calls.coaching import CoachingDial
from daemon.calls.duty import DutyLine
from daemon.calls.entry import CallEntry, ProductFlow
from daemon.calls.services import Services
from daemon.calls.waiting.line import WaitingLine
from daemon.config import Settings
from daemon.demo import access as demo_access
from daemon.demo import ivr as demo_ivr
from daemon.demo import seed as demo
from daemon.guidance_mail import GuidanceMailServer
from daemon.ivr import published
from daemon.ivr.cache import FlowCache
from daemon.ivr.interpreter import Ivr
from daemon.logs import get_logger
from daemon.loop_lag import LoopLagMonitor
from daemon.metrics import Metrics
from daemon.outbound.server import OutboundServer
from daemon.postgres.embedded import EmbeddedPostgres, PortBusy, ensure_cdr_role
from daemon.postgres.errors import DB_ERRORS
from daemon.postgres.listen import ListenHub
from daemon.postgres.migrate import migrate
from daemon.postgres.pool import create_pool, reachable, unusable_database
from daemon.prompts.library import PromptLibrary
from daemon.recovery.cdr_spool import SpoolReader
from daemon.recovery.loop import recover
from daemon.repositories import node_lease, nodes
from daemon.services.notification_courier import Courier
from daemon.settlement.journal import Journal
from daemon.settlement.settler import Settler
from daemon.watchdog import Notifier

_log = get_logger(__name__)

EXIT_BACKGROUND_FAILURE = 1
EXIT_STARTUP_ERROR = 2


class StartupError(RuntimeError):
    """A start-up problem a person fixes in the settings (one line, names the variable)."""


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.version = __version__
        self.started_at = time.time()
        self.admin_token = settings.admin_token  # in demo mode resolved at start (demo_access)
        self.prompts = PromptLibrary(settings.prompts_path)
        self.services = Services(settings, self.metrics, self.prompts, None, settings.node_id)
        self.settler: Settler | None = None
        self.cdr_spool = SpoolReader(settings.cdr_spool_dir) if settings.cdr_spool_dir else None
        self.notifier = Notifier()  # systemd's READY/WATCHDOG (a no-op outside systemd)
        self.listen = ListenHub()  # one LISTEN connection; its subscribers come next
        self.watcher = BalanceWatcher(self.listen)
        self.courier = Courier(settings, lambda: self.services.pool, self.listen)  # voicemail notifications
        self.guidance_mail = GuidanceMailServer(settings, lambda: self.services.pool)  # CALLD_GUIDANCE_MAIL_PORT
        self.waiting = WaitingLine(self.listen, settings.node_id, settings.node_timeout_seconds)
        self.services.waiting = self.waiting
        self.loop_lag = LoopLagMonitor(self.metrics.loop_lag)
        # One flow per product (numbers.product); a new product adds its entry here.
        self.products: dict[str, ProductFlow] = {
            "coaching": CoachingDial(self.watcher),
            "ivr": Ivr(FlowCache(self.listen)),
            "duty": DutyLine(),
        }
        entry = CallEntry(self.services, self.products)
        self.outbound = OutboundServer(entry, self.metrics, hangup_complete_timeout=settings.hangup_complete_timeout)
        self.embedded: EmbeddedPostgres | None = None
        self.esl_port = 0
        self.http_port = 0
        self.demo: demo_access.DemoAccess | None = None
        self._http: web.AppRunner | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.db_ready = asyncio.Event()
        self.recovered = asyncio.Event()
        self.failed = asyncio.Event()
        self.failure: BaseException | None = None

    @property
    def pool(self) -> asyncpg.Pool | None:
        return self.services.pool

    # Starting and stopping.

    async def start(self) -> None:
        stack = contextlib.AsyncExitStack()
        try:
            await self._start(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        _log.info(
            "daemon_started",
            node=self.settings.node_id,
            esl_port=self.esl_port,
            http_port=self.http_port,
            version=__version__,
            event_loop=event_loop.running(),
        )

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        s = self.settings
        self.loop_lag.start()
        stack.callback(self.loop_lag.stop)
        stalls = loop_stalls.from_environment()  # a diagnostic: what holds the loop when it is late
        if stalls is not None:
            stalls.start()
            stack.callback(stalls.stop)
        dsn = s.database_url
        if not dsn:
            self.embedded = await self._start_embedded()
            stack.push_async_callback(asyncio.to_thread, self.embedded.stop)
            dsn = self.embedded.dsn
        stack.push_async_callback(self._close_database)
        lease = await self._take_lease(dsn)
        stack.push_async_callback(lease.release)
        journal = await asyncio.to_thread(Journal, s.settlement_path)
        self.settler = self.services.settler = Settler(
            lambda: self.services.pool, journal, timeout=s.db_timeout_seconds
        )
        if journal.pending:
            _log.warning("settlement_journal_pending", calls=len(journal.pending))
        self.admin_token = demo_access.admin_token(s)
        if s.generate_prompts:
            made = await asyncio.to_thread(self.prompts.ensure)
            if made:
                _log.info("prompts_generated", names=made)
        self._http = await self._start_http()
        stack.push_async_callback(self._http.cleanup)
        if self.guidance_mail.enabled:
            await self.guidance_mail.start()
            stack.push_async_callback(self.guidance_mail.stop)
        stack.push_async_callback(self._cancel_background)
        # rows that are no money still queued, once the calls are gone (the writer holds no connection after)
        stack.push_async_callback(self.services.writer.close, s.db_timeout_seconds)
        self.esl_port = await _listen("ESL", "CALLD_ESL_PORT", s.esl_host, s.esl_port, self.outbound.start)
        stack.push_async_callback(self.outbound.stop, s.drain_seconds)
        self._spawn("node lease", lease.keep())
        self._spawn("database", self._connect_db(dsn))
        self._spawn("housekeeping", housekeeping.run(s, self.services, self.metrics, self.cdr_spool))
        self._spawn("notifications", self.courier.run())
        self._spawn("watchdog", self.notifier.run(lambda: self.outbound.serving))

    async def stop(self) -> None:
        """Undo the start in reverse (idempotent)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def _start_embedded(self) -> EmbeddedPostgres:
        s = self.settings
        starting = asyncio.ensure_future(
            asyncio.to_thread(EmbeddedPostgres, s.data_dir / "pgdata", cdr_port=s.embedded_pg_port or None)
        )
        try:
            return await asyncio.shield(starting)
        except asyncio.CancelledError:
            # Stopped while the thread starts the server: let it finish, then stop it.
            with contextlib.suppress(Exception):
                server = await starting
                await asyncio.to_thread(server.stop)
            raise
        except PortBusy as exc:
            raise StartupError(
                f"embedded PostgreSQL port 127.0.0.1:{exc.port} is already in use:"
                " set CALLD_EMBEDDED_PG_PORT to a free port (0: no TCP listener)"
            ) from None

    async def _take_lease(self, dsn: str) -> node_lease.Lease:
        """This process's lease on its node id: the first connection, so a bad database URL stops the start."""
        node = self.settings.node_id
        try:
            return await node_lease.take(dsn, node)
        except node_lease.NodeTaken as exc:
            raise StartupError(
                f"CALLD_NODE_ID {node!r} is in use by another live daemon on this database ({exc.holder}):"
                " give each daemon process its own CALLD_NODE_ID"
            ) from None
        except Exception as exc:
            if self.embedded is not None or (problem := unusable_database(exc, dsn)) is None:
                raise
            raise StartupError(f"CALLD_DATABASE_URL {problem}") from None

    async def _start_http(self) -> web.AppRunner:
        from daemon.http.bad_requests import AppRunner
        from daemon.http.context import NodeInfo
        from daemon.web import build_app

        s = self.settings
        app = build_app(
            settings=s,
            metrics=self.metrics,
            admin_token=self.admin_token,
            node=NodeInfo(self.version, self.started_at, lambda: len(self.outbound.sessions)),
            pool=lambda: self.pool,
        )
        runner = AppRunner(app, access_log=None)
        await runner.setup()
        try:

            async def bind(host: str, port: int) -> int:
                site = web.TCPSite(runner, host, port)
                await site.start()
                server = cast(asyncio.Server, site._server)  # uvloop's Server is no asyncio.Server subclass
                bound: int = server.sockets[0].getsockname()[1]
                return bound

            self.http_port = await _listen("HTTP", "CALLD_HTTP_PORT", s.http_host, s.http_port, bind)
        except BaseException:
            await runner.cleanup()
            raise
        return runner

    async def _close_database(self) -> None:
        await self.watcher.stop()
        await self.waiting.stop()
        await self.listen.stop()
        pool, self.services.pool = self.services.pool, None
        if pool is not None:
            await pool.close()

    # Background tasks.

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        _log.error("background_task_failed", task=task.get_name(), error=repr(exc), exc_info=exc)
        if self.failure is None:
            self.failure = exc
        self.failed.set()

    async def _cancel_background(self) -> None:
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connect_db(self, dsn: str) -> None:
        """Connect, migrate, register this node; retry until the database answers."""
        delay = 0.5
        while True:
            try:
                pool = await create_pool(dsn, size=self.settings.db_pool_size)
            except DB_ERRORS as exc:
                _log.error("database_unreachable", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            try:
                await self._prepare_database(pool)
                await self.listen.start(dsn)
                await self.watcher.start(pool)
                await self.waiting.start(pool)
            except BaseException as exc:
                await self.listen.stop()
                await pool.close()
                if not isinstance(exc, DB_ERRORS):
                    raise
                _log.error("database_unreachable", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.services.pool = pool
            self.db_ready.set()
            assert self.settler is not None
            await self.settler.settle_pending()  # exact ends first: recovery would only estimate them
            self._spawn("settlement", self.settler.run())
            self._spawn("recovery", recover(pool, self.settings, self.recovered, self.prompts, self.cdr_spool))
            if self.demo is not None:
                self._announce_demo(self.demo)
                self._spawn("demo_ivr", demo_ivr.announce(pool, self.settings, self.demo.url))
            return

    async def _prepare_database(self, pool: asyncpg.Pool) -> None:
        s = self.settings
        async with pool.acquire() as conn:
            applied = await migrate(conn)
            if self.embedded is not None and self.embedded.cdr_password is not None:
                await ensure_cdr_role(conn, self.embedded.cdr_password)
        if applied:
            _log.info("migrations_applied", versions=applied)
        if self.embedded is not None and self.embedded.cdr_port is not None:
            _log.info(
                "embedded_postgres_cdr_listener",
                db_info=f"host=127.0.0.1 port={self.embedded.cdr_port} dbname=postgres user=freeswitch_cdr",
                password_file=str(s.data_dir / "fs_cdr_password"),
            )
        freed = await nodes.register(pool, s.node_id)
        if freed:
            self.metrics.lines_reaped.inc(freed)
            _log.warning("lines_freed_after_restart", count=freed)
        await published.report(pool)  # flows published before a destination rule: their forwards refuse
        if s.demo:
            tenant_id = await demo.ensure_demo(pool)
            operator = await demo_access.operator_token(pool, s.data_dir, tenant_id)
            explicit = bool(s.admin_token.get_secret_value())
            self.demo = demo_access.DemoAccess(
                url=demo_access.base_url(s.http_host, self.http_port),
                admin_token=None if explicit else self.admin_token.get_secret_value(),
                operator_token=operator,
                data_dir=s.data_dir,
                console=tuple(await demo_access.console_logins(pool, s.data_dir, tenant_id)),
            )

    def _announce_demo(self, access: demo_access.DemoAccess) -> None:
        _log.warning("demo_ready", url=access.url, curl=access.curl_lines())
        print(access.banner(), file=sys.stdout, flush=True)

    async def db_reachable(self) -> bool:
        pool = self.services.pool
        return pool is not None and await reachable(pool)


async def _listen(what: str, variable: str, host: str, port: int, bind: Any) -> int:
    """``bind(host, port)``; a taken port becomes a StartupError naming the variable to set."""
    try:
        bound: int = await bind(host, port)
    except OSError as exc:
        if exc.errno in {errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL}:
            reason = {errno.EADDRINUSE: "is already in use", errno.EACCES: "is not permitted"}.get(
                exc.errno or 0, "cannot be bound"
            )
            raise StartupError(f"{what} port {host}:{port} {reason}: set {variable} to a free port") from None
        raise
    return bound


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; then stop taking calls and let live ones finish.

    Exits (SystemExit) with 2 on a start-up problem of the settings, and with 1
    after a background task failed.
    """
    daemon = Daemon(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stopping = asyncio.ensure_future(stop.wait())
    starting = asyncio.ensure_future(daemon.start())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # a signal during the start: undo what is up, and leave
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        _log.info("daemon_stopped_during_start")
        return
    try:
        starting.result()
    except StartupError as exc:
        stopping.cancel()
        _log.error("startup_failed", error=str(exc))
        raise SystemExit(EXIT_STARTUP_ERROR) from None
    gc_tuning.settle()  # the start-up heap is never garbage: no full collection walks it again
    daemon.notifier.ready()  # the event socket takes calls (failing closed until the database is up)
    failing = asyncio.ensure_future(daemon.failed.wait())
    await asyncio.wait({stopping, failing}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    failing.cancel()
    _log.info("daemon_stopping", reason="background task failed" if daemon.failure else "signal")
    daemon.notifier.stopping()
    await daemon.stop()
    if daemon.failure is not None:
        raise SystemExit(EXIT_BACKGROUND_FAILURE)
