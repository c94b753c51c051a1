"""A console user's browser, without the browser: cookies, the login form, CSRF tokens.

The browser tests (tests/console/browser/) drive a real Chromium; these
helpers let the page tests check the server's answers directly and quickly.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from daemon.app import Daemon

PASSWORD = "correct horse battery"
_NONCE = re.compile(r'name="nonce" value="([^"]+)"')
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def cookie_jar(base: str) -> aiohttp.CookieJar:
    # Like a browser: cookies for 127.0.0.1, and Secure ones over http from loopback.
    return aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base])


@dataclass
class Page:
    status: int
    text: str
    url: str
    headers: Any = field(repr=False, default=None)

    def has(self, needle: str) -> bool:
        return needle in html.unescape(self.text)


class Browser:
    def __init__(self, daemon: Daemon) -> None:
        self.base = f"http://127.0.0.1:{daemon.http_port}"
        self.session = aiohttp.ClientSession(cookie_jar=cookie_jar(self.base))
        self.csrf = ""

    async def close(self) -> None:
        await self.session.close()

    async def _page(self, response: aiohttp.ClientResponse) -> Page:
        text = await response.text()
        found = _CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return Page(response.status, text, str(response.url), response.headers)

    async def get(self, path: str, **kw: Any) -> Page:
        async with self.session.get(self.base + path, **kw) as response:
            return await self._page(response)

    async def post(self, path: str, fields: dict[str, Any] | None = None, *, csrf: str | None = None) -> Page:
        data = {k: str(v) for k, v in (fields or {}).items()}
        data.setdefault("csrf", self.csrf if csrf is None else csrf)
        async with self.session.post(self.base + path, data=data) as response:
            return await self._page(response)

    async def login(self, login: str, password: str = PASSWORD, next_path: str = "") -> Page:
        form = await self.get("/console/login" + (f"?next={next_path}" if next_path else ""))
        nonce = _NONCE.search(form.text)
        assert nonce is not None, form.text
        data = {"login": login, "password": password, "nonce": nonce.group(1), "next": next_path}
        async with self.session.post(self.base + "/console/login", data=data) as response:
            return await self._page(response)
