"""The client's address behind our own TLS proxy: X-Forwarded-For believed from trusted peers only."""

from __future__ import annotations

import ipaddress

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from daemon.config import ConfigurationError, load_settings, parse_networks
from daemon.http.forwarded import client_address, middleware

LOOPBACK = parse_networks("127.0.0.1, ::1")


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # Caddy on this host names the client
        ("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # what the client wrote is ignored
        ("127.0.0.1", "203.0.113.7, 127.0.0.1", "203.0.113.7"),  # a second proxy of ours in the chain
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),  # a chain we cannot read proves nothing
        ("127.0.0.1", "127.0.0.1", "127.0.0.1"),
        ("203.0.113.9", "10.1.2.3", "203.0.113.9"),  # a stranger cannot name their own address
    ],
)
def test_the_rightmost_untrusted_hop_is_the_client(peer: str, header: str | None, client: str) -> None:
    assert client_address(peer, header, LOOPBACK) == client


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address("127.0.0.1", "203.0.113.7", ()) == "127.0.0.1"


def test_networks_are_checked_when_the_daemon_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_networks(" 10.0.0.0/8 ,::1") == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))
    monkeypatch.setenv("CALLD_TRUSTED_PROXIES", "127.0.0.1, caddy")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert refused.value.problems == [
        "CALLD_TRUSTED_PROXIES has 'caddy', which is not an address or network (e.g. 127.0.0.1 or 10.0.0.0/8)"
        " (got '127.0.0.1, caddy')"
    ]


async def test_handlers_see_the_client_behind_the_proxy() -> None:
    async def whoami(request: web.Request) -> web.Response:
        return web.Response(text=request.remote or "")

    app = web.Application(middlewares=[middleware(LOOPBACK)])
    app.router.add_get("/", whoami)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
        assert await response.text() == "203.0.113.7"
        response = await client.get("/")
        assert await response.text() == "127.0.0.1"
