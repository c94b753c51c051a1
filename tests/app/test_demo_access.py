"""`make run` (CALLD_DEMO=true) is usable at once: admin and operator tokens kept in the data dir and printed."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from daemon.app import Daemon
from daemon.demo.access import ADMIN_TOKEN_FILE, OPERATOR_TOKEN_FILE
from tests.conftest import make_settings


async def _started(db_dsn: str, prompts: Path, data_dir: Path, **overrides: object) -> Daemon:
    values: dict[str, object] = {"demo": True, "admin_token": "", "data_dir": data_dir}
    daemon = Daemon(make_settings(db_dsn, prompts, **(values | overrides)))
    await daemon.start()
    await asyncio.wait_for(daemon.db_ready.wait(), 30)
    return daemon


async def _get(daemon: Daemon, path: str, token: str) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{daemon.http_port}{path}", headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        return r.status, await r.json()


def _kept(data_dir: Path, name: str) -> str:
    path = data_dir / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_text().strip()


async def test_demo_tokens_work_are_kept_and_printed(
    db_dsn: str, pool: asyncpg.Pool, prompts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    daemon = await _started(db_dsn, prompts_dir, data)
    try:
        admin, operator = _kept(data, ADMIN_TOKEN_FILE), _kept(data, OPERATOR_TOKEN_FILE)
        status, tenants = await _get(daemon, "/api/v1/tenants", admin)
        assert status == 200 and "demo" in str(tenants)
        status, callers = await _get(daemon, "/api/v1/operator/callers", operator)
        assert status == 200 and "09012345678" in str(callers)
        assert (await _get(daemon, "/api/v1/tenants", operator))[0] == 401
    finally:
        await daemon.stop()
    banner = capsys.readouterr().out
    url = f"http://127.0.0.1:{daemon.http_port}"
    assert f"curl -H 'Authorization: Bearer {admin}' {url}/api/v1/tenants" in banner
    assert f"curl -H 'Authorization: Bearer {operator}' {url}/api/v1/operator/callers" in banner

    again = await _started(db_dsn, prompts_dir, data)
    try:
        assert _kept(data, ADMIN_TOKEN_FILE) == admin and _kept(data, OPERATOR_TOKEN_FILE) == operator
        assert (await _get(again, "/api/v1/operator/callers", operator))[0] == 200
    finally:
        await again.stop()
    assert await pool.fetchval("SELECT count(*) FROM tenant_tokens") == 1  # reused, not one more per start

    await pool.execute("UPDATE tenant_tokens SET revoked_at = now()")
    third = await _started(db_dsn, prompts_dir, data)
    try:
        fresh = _kept(data, OPERATOR_TOKEN_FILE)
        assert fresh != operator and (await _get(third, "/api/v1/operator/callers", fresh))[0] == 200
    finally:
        await third.stop()


async def test_an_explicit_admin_token_wins_and_is_not_printed(
    db_dsn: str, prompts_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / ADMIN_TOKEN_FILE).write_text("cad_kept-from-an-earlier-demo-start\n")
    explicit = "explicit-admin-token-0123456789"
    daemon = await _started(db_dsn, prompts_dir, data, admin_token=explicit)
    try:
        assert (await _get(daemon, "/api/v1/tenants", explicit))[0] == 200
        assert (await _get(daemon, "/api/v1/tenants", "cad_kept-from-an-earlier-demo-start"))[0] == 401
    finally:
        await daemon.stop()
    banner = capsys.readouterr().out
    assert explicit not in banner and "$CALLD_ADMIN_TOKEN" in banner


async def test_without_the_demo_no_token_is_made(db_dsn: str, prompts_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    daemon = await _started(db_dsn, prompts_dir, data, demo=False)
    try:
        assert (await _get(daemon, "/api/v1/tenants", "anything"))[0] == 503
    finally:
        await daemon.stop()
    assert not (data / ADMIN_TOKEN_FILE).exists() and not (data / OPERATOR_TOKEN_FILE).exists()
