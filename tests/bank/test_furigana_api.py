"""A caller's フリガナ through the JSON API: stored in full-width katakana, refused in kanji with a code."""

from __future__ import annotations

import aiohttp

from tests.conftest import DaemonFactory
from tests.http.test_coaching_api import CALLER, OP, http, operator
from tests.http.test_status_admin import call

__all__ = ["http"]  # the fixture, used by name


async def test_the_api_keeps_a_furigana_typed_in_hiragana_as_katakana(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession
) -> None:
    daemon = await start_daemon()
    _, token = await operator(http, daemon, "acme")
    status, made = await call(
        http, daemon, "POST", f"{OP}/callers", {**CALLER, "furigana": "たなか ﾀﾛｳ"}, headers=token
    )
    assert status == 201 and made["furigana"] == "タナカ\u3000タロウ"
    status, refused = await call(http, daemon, "POST", f"{OP}/callers", {**CALLER, "furigana": "田中"}, headers=token)
    assert status == 422 and "furigana" in str(refused)
    _, listed = await call(http, daemon, "GET", f"{OP}/callers", headers=token)
    assert [c["furigana"] for c in listed["callers"]] == ["タナカ\u3000タロウ"]
