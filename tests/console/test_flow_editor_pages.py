"""The flow editor's server side: typed guidance refused in words, versions compared and exported per tenant."""

from __future__ import annotations

import json
import re
from typing import Any

from daemon.repositories import audit, guidance, ivr_flows
from daemon.rules.ivr.compare import differences
from daemon.rules.ivr.models import Flow
from tests.console.client import Browser
from tests.console.conftest import BrowserFactory, Console
from tests.console.shop import pool_of

SPEECH = "/console/ivr/flows/guidance"


async def _post_json(b: Browser, path: str, body: Any, *, csrf: str | None = None) -> tuple[int, Any]:
    headers = {"X-CSRF-Token": b.csrf if csrf is None else csrf}
    async with b.session.post(b.base + path, json=body, headers=headers) as r:
        return r.status, await r.json() if r.content_type == "application/json" else await r.text()


def _flow(start: str, **nodes: dict[str, Any]) -> Flow:
    return Flow.model_validate({"entry": {"default": start}, "nodes": {"bye": {"kind": "hangup"}, **nodes}})


async def _signed_in(browser: BrowserFactory, login: str) -> Browser:
    """A customer on the flow page (it gives the CSRF token the editor sends)."""
    b = await browser()
    await b.login(login)
    await b.get("/console/ivr/flows")
    return b


async def test_typed_guidance_is_refused_in_japanese_by_field_and_makes_nothing(
    console: Console, browser: BrowserFactory
) -> None:
    pool = pool_of(console)
    b = await _signed_in(browser, console.a.ivr)
    status, body = await _post_json(b, SPEECH, {"text": "こんにちは"})
    assert status == 422 and set(body["errors"]) == {"name"}
    status, body = await _post_json(b, SPEECH, {"name": "ご案内", "text": ""})
    assert status == 422 and "text" in body["errors"]
    status, body = await _post_json(b, SPEECH, {"name": "ご案内", "text": "はい", "speed": 9})
    assert status == 422 and "speed" in body["errors"]
    status, _ = await _post_json(b, SPEECH, {"name": "ご案内", "text": "はい"}, csrf="forged")
    assert status == 403
    await pool.execute(
        "INSERT INTO guidance (tenant_id, name, path) VALUES ($1, 'ご案内', '/nowhere.wav')", console.a.tenant_id
    )
    status, body = await _post_json(b, SPEECH, {"name": "ご案内", "text": "はい"})
    assert (status, body) == (422, {"errors": {"name": "この名前のガイダンスはすでにあります"}})
    assert [g.name for g in await guidance.all_of(pool, console.a.tenant_id)] == ["ご案内"]
    assert await audit.recent(pool) == []


async def test_versions_are_compared_exported_and_shown_only_to_their_tenant(
    console: Console, browser: BrowserFactory
) -> None:
    pool = pool_of(console)
    tenant = console.a.tenant_id
    old = _flow("menu", menu={"kind": "voicemail", "max_seconds": 30})
    new = _flow("menu", menu={"kind": "voicemail", "max_seconds": 90}, late={"kind": "hangup"})
    await ivr_flows.save(pool, tenant, old)
    await ivr_flows.save(pool, tenant, new)
    [changed, added] = differences(old, new)
    assert (changed.node, changed.change, [(s.name, s.before, s.after) for s in changed.settings]) == (
        "menu",
        "changed",
        [("max_seconds", 30, 90)],
    )
    assert (added.node, added.change, added.kind) == ("late", "added", "hangup")
    assert differences(new, new) == []

    b = await _signed_in(browser, console.a.ivr)
    page = await b.get("/console/ivr/flows/compare?from=1&to=2")
    assert page.status == 200 and page.has("バージョン 1 → 2 の変更点")
    assert re.search(r'data-node="menu" data-change="changed"', page.text)
    assert page.has('<td class="before">30</td><td class="after">90</td>')
    assert (await b.get("/console/ivr/flows/compare?from=1&to=1")).has("この2つのバージョンは同じ内容です")
    assert (await b.get("/console/ivr/flows/compare?from=1&to=x")).status == 404
    async with b.session.get(f"{b.base}/console/ivr/flows/2/export") as r:
        assert r.status == 200 and 'filename="ivr-flow-v2.json"' in r.headers["Content-Disposition"]
        assert Flow.model_validate(json.loads(await r.text())) == new
    assert (await b.get("/console/ivr/flows?edit=1")).has("バージョン 1 をもとにしています")

    other = await _signed_in(browser, console.b.ivr)
    for path in ("/console/ivr/flows/compare?from=1&to=2", "/console/ivr/flows/2", "/console/ivr/flows/2/export"):
        assert (await other.get(path)).status == 404
    assert (await other.get("/console/ivr/flows?edit=1")).status == 404
