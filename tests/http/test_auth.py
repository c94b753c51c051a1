"""Admin bearer token: closed without one, 401 on a wrong one, constant-time compared."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest

from tests.conftest import ADMIN_TOKEN, DaemonFactory
from tests.http.test_status_admin import ADMIN, url

ADMIN_PATHS = [
    ("GET", "/api/v1/tenants"),
    ("POST", "/api/v1/tenants"),
    ("GET", "/api/v1/tenants/1"),
    ("PUT", "/api/v1/tenants/1/lines"),
    ("POST", "/api/v1/tenants/1/numbers"),
    ("DELETE", "/api/v1/numbers/0312345678"),
    ("GET", "/api/v1/no-such-endpoint"),  # unknown admin paths reveal nothing either
]


@pytest.mark.parametrize(("method", "path"), ADMIN_PATHS)
async def test_no_configured_token_closes_the_admin_api(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    daemon = await start_daemon(admin_token="")
    for headers in ({}, ADMIN, {"Authorization": "Bearer "}):
        async with http.request(method, url(daemon, path), json={}, headers=headers) as resp:
            assert resp.status == 503
            assert "no admin token is configured" in (await resp.json())["error"]


@pytest.mark.parametrize(("method", "path"), ADMIN_PATHS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        f"Bearer {ADMIN_TOKEN}x",
        f"Bearer {ADMIN_TOKEN[:-1]}",
        "Basic " + base64.b64encode(ADMIN_TOKEN.encode()).decode(),
        ADMIN_TOKEN,
    ],
)
async def test_bad_or_missing_token_is_401(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, method: str, path: str, authorization: str | None
) -> None:
    daemon = await start_daemon()
    headers = {} if authorization is None else {"Authorization": authorization}
    async with http.request(method, url(daemon, path), json={}, headers=headers) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await resp.json())["error"]


@pytest.mark.parametrize(
    "authorization", [f"Bearer {ADMIN_TOKEN}", f"bearer {ADMIN_TOKEN}", f"  Bearer   {ADMIN_TOKEN}  "]
)
async def test_the_right_token_in_any_spelling_of_the_scheme(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, authorization: str
) -> None:
    daemon = await start_daemon()
    async with http.get(url(daemon, "/api/v1/tenants"), headers={"Authorization": authorization}) as resp:
        assert resp.status == 200


async def raw_get(port: int, authorization: bytes) -> bytes:
    """The status line of a request whose header bytes aiohttp's client would not send."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /api/v1/tenants HTTP/1.1\r\nHost: calld\r\nConnection: close\r\n"
        b"Authorization: " + authorization + b"\r\n\r\n"
    )
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return response.split(b"\r\n", 1)[0]


async def test_token_bytes_that_are_not_utf8_are_401_not_500(start_daemon: DaemonFactory) -> None:
    token = "管理者トークン" * 3  # 21 characters
    daemon = await start_daemon(admin_token=token)
    assert await raw_get(daemon.http_port, f"Bearer {token}".encode()) == b"HTTP/1.1 200 OK"
    for junk in (b"Bearer \xff\xfe", b"Bearer \xe3\x83", b"Bearer \xe3\x83\x88"):
        assert await raw_get(daemon.http_port, junk) == b"HTTP/1.1 401 Unauthorized"


async def test_openapi_document_is_public(start_daemon: DaemonFactory, http: aiohttp.ClientSession) -> None:
    daemon = await start_daemon(admin_token="")
    async with http.get(url(daemon, "/api/v1/openapi.json")) as resp:
        assert resp.status == 200


async def raw_request(port: int, head: bytes) -> tuple[bytes, bytes]:
    """Send request bytes as given; the status line and the body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    status, _, rest = response.partition(b"\r\n")
    return status, rest.partition(b"\r\n\r\n")[2]


SECRET = "ctk_ThisIsTheSecretPartOfTheToken"


@pytest.mark.parametrize("tail", [b"\r", b"\x01", b"\x00", b"\x7f", b"\x1b[2J"])
@pytest.mark.parametrize("path", [b"/api/v1/tenants", b"/api/v1/operator/callers"])
async def test_a_control_byte_in_the_authorization_header_is_a_json_401_that_leaks_nothing(
    start_daemon: DaemonFactory,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tail: bytes,
    path: bytes,
) -> None:
    daemon = await start_daemon()
    capsys.readouterr()
    status, body = await raw_request(
        daemon.http_port,
        b"GET " + path + b" HTTP/1.1\r\nHost: calld\r\nAuthorization: Bearer " + SECRET.encode() + tail + b"\r\n\r\n",
    )
    assert status.split(b" ")[1] == b"401"
    answer = json.loads(body)
    assert "Authorization" in answer["error"] and SECRET not in body.decode("utf-8", "replace")
    out, err = capsys.readouterr()
    assert "http_unparsable_request" in out + err  # the log line is there, without the token
    for text in (out, err, caplog.text):
        assert SECRET not in text and SECRET[4:20] not in text


async def test_other_unparsable_headers_are_a_json_400_without_their_value(
    start_daemon: DaemonFactory, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = await start_daemon()
    status, body = await raw_request(
        daemon.http_port, b"GET /status HTTP/1.1\r\nHost: calld\r\nCookie: session=" + SECRET.encode() + b"\x01\r\n\r\n"
    )
    assert status.split(b" ")[1] == b"400"
    assert json.loads(body)["error"] == "malformed HTTP request: invalid header value char in the cookie header"
    out, err = capsys.readouterr()
    for text in (out, err, caplog.text):
        assert SECRET not in text
