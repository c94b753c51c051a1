"""FreeSWITCH's CDRs into the embedded PostgreSQL: over 127.0.0.1, one role that may only INSERT into fs_cdr."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from daemon.postgres.embedded import CDR_DATABASE, CDR_PASSWORD_FILE, CDR_ROLE, EmbeddedPostgres, ensure_cdr_role
from daemon.postgres.migrate import migrate
from tests.daemon_process import free_port
from tests.freeswitch.test_cdr_conf import README, crash_in_bridge_legs, module_insert


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path / "pgdata", delete_on_stop=True, cdr_port=free_port())
    yield pg
    pg.stop()


async def _as_cdr_role(pg: EmbeddedPostgres, password: str) -> asyncpg.Connection:
    return await asyncpg.connect(
        host="127.0.0.1", port=pg.cdr_port, user=CDR_ROLE, password=password, database=CDR_DATABASE
    )


async def test_the_cdr_role_inserts_over_tcp_and_nothing_else(server: EmbeddedPostgres, tmp_path: Path) -> None:
    secret = tmp_path / CDR_PASSWORD_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    password = secret.read_text().strip()
    assert server.cdr_password == password and len(password) >= 32
    admin = await asyncpg.connect(server.dsn)
    try:
        await migrate(admin)
        await ensure_cdr_role(admin, password)
        await ensure_cdr_role(admin, password)  # every start: idempotent

        cdr = await _as_cdr_role(server, password)
        try:
            for leg in crash_in_bridge_legs():
                await cdr.execute(module_insert(leg))
            refused = [
                "SELECT * FROM fs_cdr",
                "UPDATE fs_cdr SET billsec = 0",
                "DELETE FROM fs_cdr",
                "SELECT * FROM call_records",
                "INSERT INTO tenants (name) VALUES ('x')",
                "CREATE TABLE mine (x int)",
            ]
            for sql in refused:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await cdr.execute(sql)
        finally:
            await cdr.close()
        assert await admin.fetchval("SELECT count(*) FROM fs_cdr") == 2
    finally:
        await admin.close()


async def test_tcp_refuses_a_wrong_password_and_every_other_role(server: EmbeddedPostgres) -> None:
    admin = await asyncpg.connect(server.dsn)
    try:
        await migrate(admin)
        await ensure_cdr_role(admin, server.cdr_password or "")
    finally:
        await admin.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _as_cdr_role(server, uuid.uuid4().hex)
    for user, database in (("postgres", "postgres"), (CDR_ROLE, "template1")):
        with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
            await asyncpg.connect(host="127.0.0.1", port=server.cdr_port, user=user, database=database)


def test_a_busy_cdr_port_is_named(tmp_path: Path) -> None:
    import socket

    from daemon.postgres.embedded import PortBusy

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortBusy) as caught:
            EmbeddedPostgres(tmp_path / "pgdata", delete_on_stop=True, cdr_port=port)
    assert caught.value.port == port and str(port) in str(caught.value)
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()


def test_the_readme_points_freeswitch_at_the_embedded_server() -> None:
    text = README.read_text(encoding="utf-8")
    assert f"user={CDR_ROLE}" in text and f"dbname={CDR_DATABASE}" in text
    assert CDR_PASSWORD_FILE in text and "CALLD_EMBEDDED_PG_PORT" in text
    assert "/work/" not in text, "paths relative to the repository, not one machine's"
