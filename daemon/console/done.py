"""What a change did, in one Japanese sentence, on the page the browser is sent to after it.

A page that changed something answers 303 to the page that shows the result
(:func:`daemon.console.render.see_other`) with a short-lived cookie holding a
key; the next page rendered shows the sentence of that key (``base.html``) and
clears the cookie, so a reload does not say it again and addresses stay as they
were.  Only a key travels, never the text: nothing from outside is shown.  A
sentence that names a number (「バージョン 3 を公開しました」) takes it from the
cookie too, digits only, so the page says the version this change made even if
another one has been saved since.
"""

from __future__ import annotations

import re

from aiohttp import web

COOKIE = "calld_done"
LIFETIME_S = 60  # the page that follows the redirect is asked for at once
NUMBER = re.compile(r"[0-9]{1,9}")  # a version or an id, never a long string from a forged cookie

MESSAGES = {
    "tenant.lines": "回線数を変更しました。",
    "tenant.number_added": "番号を割り当てました。",
    "tenant.number_removed": "番号の割り当てを外しました。",
    "tenant.forwarding": "転送オプションを変更しました。",
    "tenant.international": "国際電話の設定を変更しました。",
    "tenant.guard": "転送の安全装置を変更しました。",
    "tenant.billing": "請求先を変更しました。",
    "pool.added": "番号在庫に追加しました。",
    "pool.removed": "番号在庫から削除しました。",
    "invoice.closed": "請求書を確定しました。",
    "invoice.sent": "請求書をメールで送付しました。",
    "caller.create": "利用者を登録しました。",
    "caller.update": "利用者の設定を保存しました。",
    "caller.pin": "PINを変更しました。",
    "counsellor.create": "相談員を登録しました。",
    "counsellor.update": "相談員の設定を保存しました。",
    "counsellor.duty": "待機状態を変更しました。",
    "counsellor.delete": "相談員を削除しました。",
    "group.create": "グループを作成しました。",
    "group.update": "グループを保存しました。",
    "group.delete": "グループを削除しました。",
    "flow.saved": "バージョン {n} を保存しました（まだ公開していません）。",
    "flow.published": "バージョン {n} を公開しました。次の着信から使われます。",
    "flow.rolledback": "バージョン {n} に戻しました。次の着信から使われます。",
    "guidance.created": "ガイダンスを作成しました。",
    "guidance.replaced": "ガイダンスを差し替えました。次の着信から新しい音声が流れます。",
    "guidance.deleted": "ガイダンスを削除しました。",
    "guidance.senders": "メールで送れるアドレスを保存しました。",
    "voicemail.delete": "留守番電話を削除しました。",
    "voicemail.notify": "通知の設定を保存しました。",
    "block.added": "着信拒否に追加しました。",
    "block.removed": "着信拒否から外しました。",
    "user.create": "利用者（ログイン）を作成しました。",
    "user.unlock": "ログインの待ち時間を解除しました。",
    "user.password": "パスワードを再設定しました。",
}


def remember(response: web.StreamResponse, key: str, number: int | None = None) -> None:
    """The page the browser goes to next says ``MESSAGES[key]`` (with ``number`` for its ``{n}``)."""
    if key not in MESSAGES:
        raise KeyError(f"no message for {key!r}: add it to MESSAGES")
    if ("{n}" in MESSAGES[key]) != (number is not None):
        raise ValueError(f"{key!r} and the number given do not fit: {MESSAGES[key]!r}, {number!r}")
    value = key if number is None else f"{key}:{number}"
    response.set_cookie(COOKIE, value, max_age=LIFETIME_S, path="/console", httponly=True, samesite="Strict")


def message(request: web.Request) -> str:
    key, _, number = request.cookies.get(COOKIE, "").partition(":")
    words = MESSAGES.get(key, "")
    if "{n}" not in words:
        return "" if number else words
    return words.format(n=int(number)) if NUMBER.fullmatch(number) else ""


def shown(request: web.Request, response: web.StreamResponse) -> None:
    """The message (if any) is on this page: not again on the next."""
    if COOKIE in request.cookies:
        response.del_cookie(COOKIE, path="/console")
