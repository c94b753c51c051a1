"""``user invite --email``: the CLI mails the link through the same sender as the console and the API."""

from __future__ import annotations

import re

import asyncpg
import pytest

from daemon.services import invites
from tests.http.test_cli import env, run
from tests.mail_server import MailBox

__all__ = ["env"]  # the CLI tests' fixture, used here by name

LINK = re.compile(r"https://calld\.example\.jp/console/invite/[A-Za-z0-9_-]{40,}")


async def test_the_cli_mails_the_link_and_warns_when_it_cannot(
    env: str, pool: asyncpg.Pool, mailbox: MailBox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in mailbox.settings().items():
        monkeypatch.setenv(f"CALLD_{key.upper()}", str(value))
    mailbox.refuse.add("gone@shop.example.jp")
    assert (await run(capsys, "tenant", "create", "shop", "--lines", "1"))[0] == 0
    tenant = str(await pool.fetchval("SELECT id FROM tenants"))
    base = ("--product", "ivr", "--tenant", tenant, "--base-url", "https://calld.example.jp")
    code, out, err = await run(capsys, "user", "invite", "owner", *base, "--email", "owner@shop.example.jp")
    assert code == 0 and "e-mailed to owner@shop.example.jp" in out, err
    [message] = await mailbox.wait_for(1)
    [link] = LINK.findall(message.get_content())
    assert link in out.splitlines()
    assert (await invites.redeem(pool, link.rsplit("/", 1)[1], "correct horse battery")).login == "owner"

    code, out, err = await run(capsys, "user", "invite", "gone", *base, "--email", "gone@shop.example.jp")
    assert code == 0 and LINK.search(out) and "warning: the link was not e-mailed to gone@shop.example.jp" in err
    code, out, err = await run(capsys, "user", "invite", "bad", *base, "--email", "not an address")
    assert code == 2 and "email" in err, err
