"""The onboarding pages without a browser: refusals in Japanese, nothing half-written, the link's own page."""

from __future__ import annotations

import asyncpg

from daemon.repositories import invites as invite_rows
from daemon.repositories import number_pool, tenants
from daemon.services import invites
from daemon.services.actor import Actor
from daemon.services.tenant_models import InviteIn
from tests.console.client import PASSWORD
from tests.console.conftest import BrowserFactory, Console


def _pool(console: Console) -> asyncpg.Pool:
    assert console.daemon.pool is not None
    return console.daemon.pool


async def test_pool_numbers_are_typed_loosely_and_a_non_tokyo_number_is_refused_with_its_reason(
    console: Console, browser: BrowserFactory
) -> None:
    b = await browser()
    await b.login(console.admin)
    await b.get("/console/admin/numbers")
    page = await b.post("/console/admin/numbers", {"number": "（０３）４５６７ー８９０１", "note": ""})
    assert page.status == 200 and page.has("番号在庫に追加しました。")
    assert [n.number for n in await number_pool.listing(_pool(console))] == ["0345678901"]
    page = await b.post("/console/admin/numbers", {"number": "06-1234-5678"})
    assert page.status == 422 and page.has("0612345678 は東京（03）の番号ではありません")
    page = await b.post("/console/admin/numbers", {"number": "03-4567-8901"})
    assert page.status == 422 and page.has("この番号はすでに番号在庫にあります")


async def test_an_onboarding_with_errors_keeps_what_was_typed_and_creates_nothing(
    console: Console, browser: BrowserFactory
) -> None:
    b = await browser()
    await b.login(console.admin)
    await b.get("/console/admin/tenants/new")
    before = len(await tenants.list_tenants(_pool(console)))
    form = {
        "name": "さくら歯科",
        "product": "ivr",
        "lines": "二",
        "billing_email": "office at sakura",
        "billing_address": "東京都渋谷区",
        "login": "Bad Login!",
    }
    page = await b.post("/console/admin/tenants/new", form)
    assert page.status == 422
    assert page.has("数字で入力してください") and page.has("メールアドレスの形式が正しくありません")
    assert page.has("ログインIDは半角英小文字") and page.has("東京都渋谷区")
    assert len(await tenants.list_tenants(_pool(console))) == before
    page = await b.post(
        "/console/admin/tenants/new", form | {"lines": "1", "billing_email": "", "login": "", "name": "alpha"}
    )
    assert page.status == 422 and page.has("同じ名前のテナントが既にあります")


async def test_an_assigned_pool_number_cannot_be_removed_and_an_unknown_link_says_so(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    await number_pool.add(pool, "0345678901")
    await tenants.add_number(pool, console.a.tenant_id, "0345678901", "ivr")
    b = await browser()
    await b.login(console.admin)
    await b.get("/console/admin/numbers")
    page = await b.post("/console/admin/numbers/0345678901/delete")
    assert page.status == 409 and page.has("この番号はテナントに割り当て中です")
    assert len(await number_pool.listing(pool)) == 1

    stranger = await browser()
    page = await stranger.get("/console/invite/" + "x" * 43)
    assert page.status == 404 and page.has("このリンクは使えません")
    assert stranger.csrf == ""  # no session was made


async def test_an_invite_from_the_tenant_page_shows_the_link_once_and_a_mismatch_sets_nothing(
    console: Console, browser: BrowserFactory
) -> None:
    b = await browser()
    await b.login(console.admin)
    url = f"/console/admin/tenants/{console.a.tenant_id}"
    await b.get(url)
    page = await b.post(url + "/invite", {"login": "newcomer", "display_name": "新人", "role": "coaching"})
    assert page.status == 200 and page.has("招待リンクを発行しました")
    link = page.text.split('id="invite-link" class="wide" readonly value="', 1)[1].split('"', 1)[0]
    path = link.split("127.0.0.1", 1)[1].split("/", 1)[1]
    invitee = await browser()
    form = await invitee.get("/" + path)
    assert form.status == 200 and form.has("newcomer")
    nonce = form.text.split('name="nonce" value="', 1)[1].split('"', 1)[0]
    page = await invitee.post("/" + path, {"nonce": nonce, "password": PASSWORD, "again": PASSWORD + "x"})
    assert page.status == 422 and page.has("確認用のパスワードが一致しません")
    nonce = page.text.split('name="nonce" value="', 1)[1].split('"', 1)[0]
    page = await invitee.post("/" + path, {"nonce": nonce, "password": PASSWORD, "again": PASSWORD})
    assert page.status == 200 and page.url.endswith("/console/board")


async def test_a_new_link_replaces_a_lost_one_and_only_for_the_tenants_own_user(
    console: Console, browser: BrowserFactory
) -> None:
    pool = _pool(console)
    first = await invites.invite(pool, Actor.cli("root"), console.a.tenant_id, InviteIn(login="lost", role="ivr"))
    b = await browser()
    await b.login(console.admin)
    await b.get(f"/console/admin/tenants/{console.b.tenant_id}")
    page = await b.post(f"/console/admin/tenants/{console.b.tenant_id}/users/{first.user_id}/reinvite")
    assert page.status == 404  # not beta's user
    page = await b.post(f"/console/admin/tenants/{console.a.tenant_id}/users/{first.user_id}/reinvite")
    assert page.status == 200 and page.has("lost さんの招待リンクを発行しました。")
    assert await invite_rows.valid(pool, first.token) is None
    link = page.text.split('id="invite-link" class="wide" readonly value="', 1)[1].split('"', 1)[0]
    found = await invite_rows.valid(pool, link.rsplit("/", 1)[1])
    assert found is not None and found.login == "lost"
