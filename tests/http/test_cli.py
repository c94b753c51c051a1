"""The admin CLI, in-process against the test's real database (``CALLD_DATABASE_URL``)."""

from __future__ import annotations

import asyncio
import socket
import uuid

import asyncpg
import pytest

from daemon import cli
from daemon.__main__ import main as daemon_main
from daemon.repositories import admission, tokens
from daemon.repositories.admission import Outcome
from tests.conftest import new_database, with_database


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_dsn: str) -> str:
    monkeypatch.setenv("CALLD_DATABASE_URL", db_dsn)
    return db_dsn


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``python -m daemon ARGV``: exit code, stdout, stderr.  main runs its own loop, so in a thread."""
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_a_tenant_from_creation_to_its_first_call(
    env: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = await run(capsys, "tenant", "create", "acme", "--lines", "1")
    assert code == 0 and "created tenant" in out
    tenant_id = await pool.fetchval("SELECT id FROM tenants WHERE name = 'acme'")
    assert str(tenant_id) in out

    code, out, _ = await run(capsys, "number", "add", str(tenant_id), "+81312345678", "--product", "coaching")
    assert code == 0 and "0312345678" in out
    assert await pool.fetchval("SELECT product FROM numbers WHERE number = '0312345678'") == "coaching"

    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n")).outcome is Outcome.ADMITTED
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n")).outcome is Outcome.BUSY
    code, out, _ = await run(capsys, "lines", "set", str(tenant_id), "2")
    assert code == 0 and "1 -> 2" in out
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n")).outcome is Outcome.ADMITTED

    code, out, _ = await run(capsys, "status")
    assert code == 0
    assert out.splitlines() == [
        "ID  NAME  LINES  LIVE",
        f"{tenant_id:<2}  acme  2      2",
        "1 tenants, 2 live calls on all nodes",
    ]

    code, out, _ = await run(capsys, "tenant", "list")
    assert code == 0
    assert "0312345678 (coaching)" in out and "acme" in out

    code, out, _ = await run(capsys, "tenant", "show", str(tenant_id))
    assert code == 0 and "lines: 2, live calls: 2" in out

    code, out, _ = await run(capsys, "number", "remove", "0312345678")
    assert code == 0 and "removed" in out
    assert (await admission.admit(pool, uuid.uuid4(), "0312345678", "n")).outcome is Outcome.NOT_IN_SERVICE


async def test_empty_database(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(capsys, "tenant", "list") == (0, "no tenants\n", "")
    assert await run(capsys, "status") == (0, "no tenants\n", "")


async def test_not_found_and_conflicts_exit_1(env: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]) -> None:
    assert (await run(capsys, "tenant", "create", "acme", "--lines", "1"))[0] == 0
    tenant_id = await pool.fetchval("SELECT id FROM tenants")
    assert (await run(capsys, "number", "add", str(tenant_id), "0312345678", "--product", "ivr"))[0] == 0
    for argv, words in [
        (["tenant", "create", "acme", "--lines", "3"], "already exists"),
        (["number", "add", str(tenant_id), "0312345678", "--product", "coaching"], "already assigned"),
        (["number", "add", "999999", "0120123456", "--product", "ivr"], "no tenant"),
        (["lines", "set", "999999", "2"], "no tenant"),
        (["tenant", "show", "999999"], "no tenant"),
        (["number", "remove", "0120123456"], "not assigned"),
    ]:
        code, out, err = await run(capsys, *argv)
        assert (code, out) == (1, ""), argv
        assert err.startswith("error: ") and words in err, (argv, err)
    assert await pool.fetchval("SELECT lines FROM line_contracts") == 1
    assert await pool.fetchval("SELECT count(*) FROM tenants") == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ([], "required"),
        (["tenant"], "required"),
        (["tenant", "create", "acme"], "--lines"),
        (["tenant", "create", "acme", "--lines", "-1"], "greater than or equal to 0"),
        (["tenant", "create", "acme", "--lines", "100001"], "less than or equal to 100000"),
        (["tenant", "create", "acme", "--lines", "two"], "not a whole number"),
        (["tenant", "create", "a\nb", "--lines", "1"], "control characters"),
        (["tenant", "create", "", "--lines", "1"], "at least 1"),
        (["lines", "set", "acme", "2"], "not a tenant id"),
        (["lines", "set", "0", "2"], "not a tenant id"),
        (["number", "add", "1", "03-1234-567a", "--product", "ivr"], "digits only"),
        (["number", "add", "1", "0501234567", "--product", "ivr"], "have 11"),
        (["number", "add", "1", "0312345678"], "--product"),
        (["number", "add", "1", "0312345678", "--product", "sip"], "invalid choice"),
        (["number", "remove", "junk"], "digits"),
        (["frobnicate"], "invalid choice"),
    ],
)
async def test_usage_errors_exit_2_before_touching_the_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    monkeypatch.setenv("CALLD_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, out, err = await run(capsys, *argv)
    assert code == 2 and out == ""
    assert "usage:" in err and words in err, err


async def test_help_exits_0(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "--help")
    assert code == 0
    for command in ("run", "tenant", "lines", "number", "token", "status"):
        assert command in out


async def test_unreachable_database_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CALLD_DATABASE_URL", f"postgresql://calld@127.0.0.1:{port}/calld")
    code, out, err = await run(capsys, "status")
    assert (code, out) == (1, "")
    assert err.startswith("error: the database is unavailable")


async def test_missing_database_exits_1(
    monkeypatch: pytest.MonkeyPatch, db_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALLD_DATABASE_URL", with_database(db_dsn, "no_such_database"))
    code, _, err = await run(capsys, "tenant", "list")
    assert code == 1 and "no_such_database" in err


async def test_migrations_run_first(
    monkeypatch: pytest.MonkeyPatch, pg_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CALLD_DATABASE_URL", await new_database(pg_server, "cli"))
    assert (await run(capsys, "tenant", "create", "fresh", "--lines", "1"))[0] == 0
    assert await run(capsys, "status") == (
        0,
        "ID  NAME   LINES  LIVE\n1   fresh  1      0\n1 tenants, 0 live calls on all nodes\n",
        "",
    )


async def test_python_m_daemon_dispatches_to_the_cli(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert await asyncio.to_thread(daemon_main, ["tenant", "list"]) == 0
    assert capsys.readouterr().out == "no tenants\n"


async def test_operator_tokens_from_the_cli(env: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]) -> None:
    assert (await run(capsys, "tenant", "create", "acme", "--lines", "1"))[0] == 0
    tenant_id = await pool.fetchval("SELECT id FROM tenants")
    assert await run(capsys, "token", "list", str(tenant_id)) == (0, f"tenant {tenant_id} has no tokens\n", "")

    code, out, err = await run(capsys, "token", "create", str(tenant_id), "--label", "front desk")
    assert code == 0
    assert 'curl -H "Authorization: Bearer <token>" http://127.0.0.1:8080/api/v1/operator/callers' in err
    announcement, token = out.splitlines()
    assert announcement.startswith("created operator token 1 for tenant") and "shown only now" in announcement
    assert token.startswith("ctk_") and len(token) > 40
    stored = await pool.fetchrow("SELECT label, token_sha256 FROM tenant_tokens")
    assert (
        stored is not None and stored["label"] == "front desk" and bytes(stored["token_sha256"]) == tokens.digest(token)
    )
    assert await tokens.tenant_of(pool, token) == tenant_id  # the API's own check accepts it

    code, out, _ = await run(capsys, "token", "list", str(tenant_id))
    assert code == 0 and token not in out
    header, row = out.splitlines()
    assert header.split() == ["ID", "LABEL", "CREATED", "REVOKED"]
    assert row.split()[:3] == ["1", "front", "desk"] and row.split()[-1] == "-" and "+09:00" in row

    assert await run(capsys, "token", "revoke", str(tenant_id), "1") == (
        0,
        f"token 1 of tenant {tenant_id} revoked\n",
        "",
    )
    assert await tokens.tenant_of(pool, token) is None
    code, out, err = await run(capsys, "token", "revoke", str(tenant_id), "1")
    assert (code, out) == (1, "") and "no active token 1" in err
    assert (await run(capsys, "token", "list", "999999"))[0] == 1
    assert (await run(capsys, "token", "create", "999999"))[0] == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["token", "create", "1", "--label", "a\nb"], "control characters"),
        (["token", "create", "acme"], "not a tenant id"),
        (["token", "revoke", "1", "x"], "not a token id"),
        (["token", "revoke", "1"], "required"),
    ],
)
async def test_token_usage_errors_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    monkeypatch.setenv("CALLD_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, out, err = await run(capsys, *argv)
    assert (code, out) == (2, "") and words in err, err


async def test_cli_conflicts_are_said_in_words(
    env: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (await run(capsys, "tenant", "create", "acme", "--lines", "1"))[0] == 0
    code, _, err = await run(capsys, "tenant", "create", "acme", "--lines", "1")
    assert code == 1 and "_key" not in err and "already exists" in err
