"""An id in a console URL that no row can have (zero, past bigint) is a 404 page, never a 500."""

from __future__ import annotations

import pytest

from tests.console.conftest import BrowserFactory, Console

TOO_BIG = "9" * 25


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("operator", f"/console/callers/{TOO_BIG}"),
        ("operator", "/console/callers/0"),
        ("operator", f"/console/counsellors/{TOO_BIG}"),
        ("operator", f"/console/groups/{TOO_BIG}"),
        ("operator", f"/console/deposits/{TOO_BIG}"),
        ("admin", f"/console/admin/tenants/{TOO_BIG}"),
        ("admin", f"/console/admin/users/{TOO_BIG}"),
        ("ivr", f"/console/ivr/guidance/{TOO_BIG}"),
        ("ivr", f"/console/ivr/voicemail/{TOO_BIG}/audio"),
    ],
)
async def test_an_impossible_id_is_not_found(console: Console, browser: BrowserFactory, who: str, path: str) -> None:
    b = await browser()
    await b.login({"operator": console.a.operator, "admin": console.admin, "ivr": console.a.ivr}[who])
    page = await b.get(path)
    assert page.status == 404 and page.has("ページが見つかりません")
