"""The daemon process: database, guidance prompts, event socket, HTTP, housekeeping.

Start-up order matters for failing closed: the event socket opens even when the
database is unreachable (calls then hear "temporarily unavailable" instead of
FreeSWITCH's bare 480), and the database connection is retried in the
background until it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import asyncpg
from aiohttp import web

from daemon import __version__
from daemon.calls.answering import greet_and_hang_up
from daemon.calls.balance_watch import BalanceWatcher
from daemon.calls.coaching import CoachingDial
from daemon.calls.entry import CallEntry
from daemon.calls.services import Services
from daemon.config import Settings
from daemon.db import call_records, demo, nodes
from daemon.db.embedded import EmbeddedPostgres
from daemon.db.errors import DB_ERRORS
from daemon.db.migrate import migrate
from daemon.db.pool import create_pool
from daemon.inbound.client import InboundClient, InboundError
from daemon.logs import get_logger
from daemon.metrics import Metrics
from daemon.outbound.server import OutboundServer
from daemon.prompts.library import PromptLibrary
from daemon.recovery.reconcile import adopt_dead_nodes, reconcile

_log = get_logger(__name__)


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.version = __version__
        self.started_at = time.time()
        self.prompts = PromptLibrary(settings.prompts_path)
        self.services = Services(settings, self.metrics, self.prompts, None, settings.node_id)
        self.watcher = BalanceWatcher()
        entry = CallEntry(self.services, {"coaching": CoachingDial(self.watcher), "ivr": greet_and_hang_up})
        self.outbound = OutboundServer(entry, self.metrics, hangup_complete_timeout=settings.hangup_complete_timeout)
        self.embedded: EmbeddedPostgres | None = None
        self.esl_port = 0
        self.http_port = 0
        self._http: web.AppRunner | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.db_ready = asyncio.Event()
        self.recovered = asyncio.Event()

    @property
    def pool(self) -> asyncpg.Pool | None:
        return self.services.pool

    async def start(self) -> None:
        s = self.settings
        dsn = s.database_url
        if not dsn:
            self.embedded = await asyncio.to_thread(EmbeddedPostgres, s.data_dir / "pgdata")
            dsn = self.embedded.dsn
        if s.generate_prompts:
            made = await asyncio.to_thread(self.prompts.ensure)
            if made:
                _log.info("prompts_generated", names=made)
        self.esl_port = await self.outbound.start(s.esl_host, s.esl_port)
        self._http = await self._start_http()
        self._spawn(self._connect_db(dsn))
        self._spawn(self._housekeeping())
        _log.info(
            "daemon_started",
            node=s.node_id,
            esl_port=self.esl_port,
            http_port=self.http_port,
            version=__version__,
        )

    def _spawn(self, coro: asyncio._CoroutineLike[None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _start_http(self) -> web.AppRunner:
        from daemon.http.app import build_app
        from daemon.http.bad_requests import AppRunner

        runner = AppRunner(build_app(self), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.http_port = server.sockets[0].getsockname()[1]
        return runner

    async def _connect_db(self, dsn: str) -> None:
        """Connect, migrate, register this node; retry until the database answers."""
        delay = 0.5
        while True:
            try:
                pool = await create_pool(dsn, size=self.settings.db_pool_size)
                async with pool.acquire() as conn:
                    applied = await migrate(conn)
                if applied:
                    _log.info("migrations_applied", versions=applied)
                freed = await nodes.register(pool, self.settings.node_id)
                if freed:
                    self.metrics.lines_reaped.inc(freed)
                    _log.warning("lines_freed_after_restart", count=freed)
                if self.settings.demo:
                    await demo.ensure_demo(pool)
                await self.watcher.start(pool)
                self.services.pool = pool
                self.db_ready.set()
                self._spawn(self._recover(pool))
                return
            except DB_ERRORS as exc:
                _log.error("database_unreachable", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _recover(self, pool: asyncpg.Pool) -> None:
        """Finish the calls a previous life of this node left open (see daemon.recovery)."""
        s = self.settings
        delay = 0.5
        while True:
            client = InboundClient()
            try:
                if not await call_records.open_on_node(pool, s.node_id):
                    self.recovered.set()
                    return
                async with asyncio.timeout(5):
                    await client.connect(s.fs_esl_host, s.fs_esl_port, s.fs_esl_password.get_secret_value())
                outcome = await reconcile(pool, s.node_id, client)
                _log.warning("recovered_calls", **vars(outcome))
                self.recovered.set()
                return
            except (*DB_ERRORS, InboundError) as exc:
                _log.error("recovery_retry", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                await client.close()

    async def _housekeeping(self) -> None:
        """Heartbeat; free the lines of dead nodes and this node's orphaned lines."""
        s = self.settings
        while True:
            await asyncio.sleep(s.heartbeat_seconds)
            pool = self.services.pool
            if pool is None:
                continue
            try:
                await nodes.heartbeat(pool, s.node_id)
                freed = await nodes.reap_dead(pool, s.node_timeout_seconds)
                freed += await nodes.free_orphans(
                    pool,
                    s.node_id,
                    list(self.services.live_calls),
                    grace_seconds=max(10.0, 2 * s.db_timeout_seconds),
                )
                if freed:
                    self.metrics.lines_reaped.inc(freed)
                    _log.warning("lines_reaped", count=freed)
                await self.watcher.ensure_listening()
                adopted = await adopt_dead_nodes(pool, s.node_id, s.node_timeout_seconds)
                if adopted.closed_unanswered or adopted.finished_from_cdr:
                    _log.warning("dead_node_calls_finished", **vars(adopted))
            except DB_ERRORS as exc:
                _log.error("housekeeping_db_error", error=repr(exc))

    async def db_reachable(self) -> bool:
        pool = self.services.pool
        if pool is None:
            return False
        try:
            await asyncio.wait_for(pool.fetchval("SELECT 1"), 1.0)
        except DB_ERRORS:
            return False
        return True

    async def stop(self) -> None:
        await self.outbound.stop(self.settings.drain_seconds)
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.cleanup()
        await self.watcher.stop()
        if self.services.pool is not None:
            await self.services.pool.close()
            self.services.pool = None
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; then stop taking calls and let live ones finish."""
    daemon = Daemon(settings)
    await daemon.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    _log.info("daemon_stopping")
    await daemon.stop()
