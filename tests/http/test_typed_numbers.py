"""Numbers as people write them (03-1234-5678, spaces, full-width digits): every front door reads them alike.

The service layer's input models drop the separators (:func:`daemon.rules.numbers.typed_number`); the checks
and the destination policy decide after that, and letters or a line break inside are still refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.conftest import DaemonFactory
from tests.http.test_cli import env, run
from tests.http.test_coaching_api import OP, operator
from tests.http.test_status_admin import call

__all__ = ["env"]  # the CLI tests' fixture, used here by name

TYPED = ("03-1234-5678", "03 1234 5678", "０３−１２３４−５６７８", "(03)1234-5678", "０３（１２３４）５６７８")
REFUSED = ("03-1234-567a", "03-1234\r\n5678", "03-1234\n5678", "0312345678\r\nX", "03\t1234\t5678")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_the_api_takes_numbers_as_people_write_them(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool
) -> None:
    daemon = await start_daemon()
    tenant_id, acme = await operator(http, daemon, "acme")
    numbers = f"/api/v1/tenants/{tenant_id}/numbers"

    # a tenant's number: each typed form is the same number (the second add is "already assigned")
    status, body = await call(http, daemon, "POST", numbers, {"number": TYPED[0], "product": "coaching"})
    assert (status, body["number"]) == (201, "0312345678"), body
    for typed in TYPED[1:]:
        status, body = await call(http, daemon, "POST", numbers, {"number": typed, "product": "coaching"})
        assert status == 409, (typed, body)
    for typed in REFUSED:
        status, body = await call(http, daemon, "POST", numbers, {"number": typed, "product": "ivr"})
        assert status == 422 and "digits only" in body["error"], (typed, body)
    status, _ = await call(http, daemon, "DELETE", "/api/v1/numbers/03-1234-5678")
    assert status == 204
    assert await pool.fetchval("SELECT count(*) FROM numbers") == 0

    # the pool of free numbers
    status, body = await call(http, daemon, "POST", "/api/v1/number_pool", {"number": "03 4567 8901"})
    assert (status, body["number"]) == (201, "0345678901"), body

    # a caller's numbers (the same number written twice is still the same number), a counsellor's phone
    caller = {"name": "Taro", "numbers": ["090-1111-2222", "＋８１ ３ ５５５５ ６６６６"], "billing": "prepaid"}
    caller["payment_method"] = "bank_transfer"
    status, body = await call(http, daemon, "POST", f"{OP}/callers", caller, headers=acme)
    assert status == 201 and sorted(body["numbers"]) == ["0355556666", "09011112222"], body
    twice = {**caller, "name": "Jiro", "numbers": ["09077778888", "090 7777 8888"]}
    status, body = await call(http, daemon, "POST", f"{OP}/callers", twice, headers=acme)
    assert status == 422 and "twice" in body["error"], body

    counsellor = {"name": "Hanako", "phone_number": "０８０−３３３３−４４４４"}
    status, body = await call(http, daemon, "POST", f"{OP}/counsellors", counsellor, headers=acme)
    assert status == 201 and body["phone_number"] == "08033334444", body
    # the destination policy decides after the separators are gone: premium-rate is still refused
    premium = {"name": "x", "phone_number": "0990-123-456"}
    status, body = await call(http, daemon, "POST", f"{OP}/counsellors", premium, headers=acme)
    assert status == 422 and "premium" in body["error"], body
    for typed in ("080-3333-444x", "080-3333\r\napi uuid_kill all"):
        status, body = await call(
            http, daemon, "POST", f"{OP}/counsellors", {"name": "y", "phone_number": typed}, headers=acme
        )
        assert status == 422 and "phone_number" in body["error"], (typed, body)
    assert await pool.fetchval("SELECT count(*) FROM counsellors") == 1

    # a number an IVR flow forwards to
    def forwarding_to(number: str) -> dict[str, Any]:
        forward = {"kind": "forward", "numbers": [number], "shown_number": "03-9999-0000", "on_fail": "bye"}
        entry = {"default": "f", "by_number": {"０３ ９９９９ ０００１": "bye"}}  # tenant numbers in a flow too
        return {"entry": entry, "nodes": {"f": forward, "bye": {"kind": "hangup"}}}

    status, body = await call(http, daemon, "POST", f"{OP}/ivr/flows", forwarding_to("090-5555-6666"), headers=acme)
    assert status == 201 and body["definition"]["nodes"]["f"]["numbers"] == ["09055556666"], body
    assert body["definition"]["nodes"]["f"]["shown_number"] == "0399990000"
    assert body["definition"]["entry"]["by_number"] == {"0399990001": "bye"}
    for refused in ("0990-123-456", "090-5555\r\n6666"):  # premium-rate after normalising; a line break
        status, body = await call(http, daemon, "POST", f"{OP}/ivr/flows", forwarding_to(refused), headers=acme)
        assert status == 422 and "numbers" in body["error"], (refused, body)


async def test_the_cli_takes_numbers_as_people_write_them(
    env: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (await run(capsys, "tenant", "create", "acme", "--lines", "1"))[0] == 0
    tenant_id = await pool.fetchval("SELECT id FROM tenants")
    code, out, err = await run(capsys, "number", "add", str(tenant_id), "03-1234-5678", "--product", "ivr")
    assert code == 0 and "0312345678" in out, err
    code, out, err = await run(capsys, "pool", "add", "０３−４５６７−８９０１", "--note", "A")
    assert code == 0 and "0345678901" in out, err
    for typed in ("03-1234-567a", "03-1234\r\n5678"):
        code, out, err = await run(capsys, "pool", "add", typed)
        assert code == 2 and "digits only" in err, err
    code, out, err = await run(capsys, "number", "remove", "03 1234 5678")
    assert code == 0 and "removed" in out, err
    assert await pool.fetchval("SELECT count(*) FROM numbers") == 0
    assert await pool.fetchval("SELECT array_agg(number) FROM number_pool") == ["0345678901"]
