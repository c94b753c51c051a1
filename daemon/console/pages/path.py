"""Ids in console URLs: the routes admit digits only; one out of range is simply "not found"."""

from __future__ import annotations

from aiohttp import web

from daemon.postgres.errors import NotFound

MAX_ID = 2**63 - 1  # bigserial


def path_id(request: web.Request, name: str = "id") -> int:
    text = request.match_info[name]
    value = int(text)
    if not 0 < value <= MAX_ID:
        raise NotFound(f"no such {name.removesuffix('_id') or 'object'} {text}")
    return value
