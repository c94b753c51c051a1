"""What a change did, in one Japanese sentence, on the page the browser is sent to after it.

A page that changed something answers 303 to the page that shows the result
(:func:`daemon.console.render.see_other`) with a short-lived cookie holding a
key; the next page rendered shows the sentence of that key (``base.html``) and
clears the cookie, so a reload does not say it again and addresses stay as they
were.  Only a key travels, never the text: nothing from outside is shown.
"""

from __future__ import annotations

from aiohttp import web

COOKIE = "calld_done"
LIFETIME_S = 60  # the page that follows the redirect is asked for at once

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
    "flow.save": "フローを保存しました。",
    "flow.publish": "フローを公開しました。次の着信から使われます。",
    "guidance.upload": "ガイダンスを登録しました。",
    "voicemail.delete": "留守番電話を削除しました。",
    "user.create": "利用者（ログイン）を作成しました。",
    "user.unlock": "ログインの待ち時間を解除しました。",
    "user.password": "パスワードを再設定しました。",
}


def remember(response: web.StreamResponse, key: str) -> None:
    """The page the browser goes to next says ``MESSAGES[key]``."""
    if key not in MESSAGES:
        raise KeyError(f"no message for {key!r}: add it to MESSAGES")
    response.set_cookie(COOKIE, key, max_age=LIFETIME_S, path="/console", httponly=True, samesite="Strict")


def message(request: web.Request) -> str:
    return MESSAGES.get(request.cookies.get(COOKIE, ""), "")


def shown(request: web.Request, response: web.StreamResponse) -> None:
    """The message (if any) is on this page: not again on the next."""
    if COOKIE in request.cookies:
        response.del_cookie(COOKIE, path="/console")
