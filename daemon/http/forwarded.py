"""The client's real address when a reverse proxy on our side terminates TLS (``CALLD_TRUSTED_PROXIES``).

Behind Caddy or nginx every request reaches the daemon from the proxy's address,
so the console's per-address login brake and the audit log would see one client.
A request whose peer is one of the trusted proxies is read through its
``X-Forwarded-For``: the rightmost address that is not itself a trusted proxy is
the client (each proxy appends the address it was reached from, so anything to
the left of that was written by the client and proves nothing).  From any other
peer the header is ignored: a stranger cannot name their own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from daemon.config import Network


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The client's address: ``peer`` itself unless it is a trusted proxy that says who it forwards."""
    if not trusted or not peer or not forwarded_for or not _within(peer, trusted):
        return peer
    for hop in (part.strip() for part in reversed(forwarded_for.split(","))):
        if not _is_address(hop):
            return peer  # a malformed chain: believe nothing of it
        if not _within(hop, trusted):
            return hop
    return peer


def middleware(trusted: Sequence[Network]) -> Middleware:
    @web.middleware
    async def real_client(request: web.Request, handler: Handler) -> web.StreamResponse:
        client = client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)
        if client is not None and client != request.remote:
            request = request.clone(remote=client)
        return await handler(request)

    return real_client


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _within(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
