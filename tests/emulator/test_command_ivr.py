"""The IVR demo shop of ``make run`` and ``python -m emulator call`` speaking in IVR words on it."""

from __future__ import annotations

import asyncio
import json
import re

import asyncpg
import pytest

from daemon.demo import ivr as ivr_demo
from daemon.repositories import ivr_flows
from tests.conftest import DaemonFactory
from tests.console.client import Browser
from tests.emulator.test_command import emulate, timeline

BANNER = re.compile(
    r"IVR demo shop \(じゃんじゃんコール\) on (?P<number>\d+).*?login (?P<login>\S+)  password (?P<password>\S+)"
    r".*?--operator-token (?P<token>\S+)",
    re.S,
)
READY_S = 120  # the first start synthesises three guidance items, in the background


async def _printed(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """The IVR demo's banner, printed once its shop is ready (after the daemon's own banner)."""
    out = ""
    for _ in range(READY_S * 5):
        out += capsys.readouterr().out
        found = BANNER.search(out)
        if found:
            return found.groupdict()
        await asyncio.sleep(0.2)
    raise AssertionError(f"no IVR demo banner in {READY_S} s:\n{out}")


@pytest.mark.timeout(READY_S + 120)
async def test_the_ivr_demo_is_published_printed_and_called_in_its_own_words(
    start_daemon: DaemonFactory, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = await start_daemon(demo=True)
    shop = await _printed(capsys)
    tenant_id = await pool.fetchval("SELECT id FROM tenants WHERE name = $1", ivr_demo.NAME)
    live = await ivr_flows.live(pool, tenant_id)
    assert live is not None and set(live.flow.nodes) == {"menu", "info", "forward", "voicemail", "bye"}

    customer = Browser(daemon)
    try:
        page = await customer.login(shop["login"], shop["password"])
        assert page.url.endswith("/console/ivr/flows") and page.has('<strong id="live-version">1</strong>')
        editor = re.search(r'<script type="application/json" id="flow-editor-data">(.*?)</script>', page.text, re.S)
        assert editor is not None  # the editor offers the shop's typed guidance by name
        assert sorted(g["name"] for g in json.loads(editor.group(1))["guidance"]) == sorted(ivr_demo.WORDS)
    finally:
        await customer.close()

    code, lines = await emulate(
        "call",
        ivr_demo.NUMBER,
        "--from",
        "09012345678",
        "--keys",
        "1",
        "--talk",
        "1",
        "--esl",
        f"127.0.0.1:{daemon.esl_port}",
        "--http",
        f"http://127.0.0.1:{daemon.http_port}",
        "--operator-token",
        shop["token"],
    )
    assert code == 0, lines
    steps = timeline(lines)
    assert steps[1:5] == [
        "answered by the daemon",
        "prompt node 'menu': 「ご案内」 (waiting for keys)",
        "key 1",  # the menu takes one key: the # typed after it is not read
        "prompt node 'info': 「診療時間」",
    ]
    assert f"ringing forwarded to {ivr_demo.OWNER_MOBILE} (node 'forward', rings up to 20 s)" in steps
    assert "bridged the forwarded phone answered: talking (the forwarding charge runs from now)" in steps
    leg = await pool.fetchrow("SELECT billsec, charge_yen FROM forward_legs WHERE tenant_id = $1", tenant_id)
    assert leg is not None
    assert lines[-1] == (
        f"forwarded to {ivr_demo.OWNER_MOBILE}: answered, {leg['billsec']} s billed,"
        f" forwarding charge {leg['charge_yen']:,} yen"
    )
