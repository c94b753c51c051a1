"""The one-sentence notice after a change: from a cookie holding a key (and a version's digits), shown once."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from daemon.console import done
from tests.console.conftest import BrowserFactory, Console

FLOWS = "/console/ivr/flows"
FLOW = {"entry": {"default": "bye"}, "nodes": {"bye": {"kind": "hangup"}}}


async def test_a_saved_version_is_named_once_and_the_address_stays_clean(
    console: Console, browser: BrowserFactory
) -> None:
    b = await browser()
    await b.login(console.a.ivr)
    await b.get(FLOWS)
    saved = await b.post(FLOWS, {"definition": json.dumps(FLOW), "action": "save"})
    assert saved.status == 200 and saved.url.endswith(FLOWS) and "done=" not in saved.url
    notice = '<p class="notice" role="status" id="done">バージョン 1 を保存しました（まだ公開していません）。</p>'
    assert notice in saved.text
    assert not (await b.get(FLOWS)).has("を保存しました")
    # the old address no longer says anything
    assert not (await b.get(FLOWS + "?done=published&version=7")).has("バージョン 7")


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("flow.published:12", "バージョン 12 を公開しました。次の着信から使われます。"),
        ("block.added", "着信拒否に追加しました。"),
        ("flow.published", ""),  # the sentence needs its number
        ("flow.published:1x", ""),
        ("flow.published:１２", ""),  # digits of another script are not the version's
        ("flow.published:1234567890", ""),
        ("block.added:3", ""),  # a number the sentence does not take
        ("<script>", ""),
    ],
)
async def test_only_a_known_key_and_plain_digits_are_said(
    console: Console, browser: BrowserFactory, value: str, said: str
) -> None:
    b = await browser()
    await b.login(console.a.ivr)
    b.session.cookie_jar.update_cookies({done.COOKIE: value})
    page = await b.get(FLOWS)
    assert page.status == 200
    notice = '<p class="notice" role="status" id="done">'
    assert (notice + said + "</p>" in page.text) if said else (notice not in page.text)


def test_a_sentence_and_its_number_must_fit() -> None:
    with pytest.raises(ValueError):
        done.remember(web.Response(), "flow.saved")
    with pytest.raises(ValueError):
        done.remember(web.Response(), "block.added", 3)
    with pytest.raises(KeyError):
        done.remember(web.Response(), "flow.gone", 3)
