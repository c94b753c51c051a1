"""An audit row as a person reads it: a Japanese sentence, and what changed, field by field, in words.

The log stores machine words (``caller.update``, ``{"billing": "prepaid"}``)
so the API can hand them out as they are; the console's page says them as
"利用者 #12 の設定を変更しました" and "請求方法: 前払い → 後払い".  Actions
and fields not listed here still read, by their stored names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.console.pages.groups import STRATEGIES
from daemon.console.render import tokyo, yen
from daemon.console.viewer import ALL_ROLE_NAMES
from daemon.repositories.audit import Record

ACTIONS = {
    "tenant.create": "テナントを作成しました",
    "tenant.lines": "回線数を変更しました",
    "tenant.number.add": "電話番号を割り当てました",
    "tenant.number.remove": "電話番号の割り当てを外しました",
    "tenant.forwarding": "転送オプションを切り替えました",
    "tenant.international": "国際電話の発信を切り替えました",
    "tenant.forward_guard": "転送の不正利用ガードを変更しました",
    "tenant.forwarding_tariff": "転送料金を変更しました",
    "token.create": "APIトークンを発行しました",
    "token.revoke": "APIトークンを無効にしました",
    "console_user.create": "コンソールの利用者を作成しました",
    "console_user.unlock": "ログインのロックを解除しました",
    "console_user.password": "パスワードを再設定しました",
    "caller.create": "利用者を登録しました",
    "caller.update": "利用者の設定を変更しました",
    "caller.pin_reset": "PINを再設定しました",
    "caller.delete": "利用者を削除しました",
    "counsellor.create": "相談員を登録しました",
    "counsellor.update": "相談員の設定を変更しました",
    "counsellor.duty": "相談員の受付を切り替えました",
    "counsellor.dial_string": "相談員の発信先（ダイヤル文字列）を変更しました",
    "counsellor.delete": "相談員を削除しました",
    "counsellor.login": "相談員のログインを作成しました",
    "counsellor.password": "相談員のパスワードを再設定しました",
    "counsellor.duty_pin": "相談員の電話用暗証番号を設定しました",
    "counsellor.pay_rate": "相談員の報酬率を変更しました",
    "group.create": "グループを作成しました",
    "group.update": "グループの設定を変更しました",
    "group.members": "グループのメンバーを変更しました",
    "group.delete": "グループを削除しました",
    "ledger.deposit": "入金を記帳しました",
    "ledger.adjustment": "調整を記帳しました",
    "ledger.refund": "返金を記帳しました",
    "ledger.payout": "払い戻しを記帳しました",
    "ivr.flow.save": "IVRの設定を保存しました",
    "ivr.flow.publish": "IVRの設定を公開しました",
    "ivr.flow.rollback": "IVRの設定を以前の版に戻しました",
    "ivr.guidance.create": "ガイダンスを登録しました",
    "ivr.guidance.replace": "ガイダンスの音声を差し替えました",
    "ivr.guidance.delete": "ガイダンスを削除しました",
    "ivr.voicemail.delete": "留守番電話を削除しました",
    "ivr.voicemail.heard": "留守番電話を既読にしました",
    "ivr.voicemail.unheard": "留守番電話を未読に戻しました",
    "ivr.notify.save": "留守番電話の通知先を変更しました",
    "ivr.guidance_senders.save": "ガイダンスをメールで送れるアドレスを変更しました",
    "block_list.add": "着信拒否に追加しました",
    "block_list.remove": "着信拒否から外しました",
    "invoice.close": "請求書を確定しました",
    "invoice.adjustment": "請求書に調整を加えました",
    "invoice.mail": "請求書をメールで送付しました",
    "tenant.onboard": "お客様を登録しました",
    "tenant.billing": "請求先を変更しました",
    "number_pool.add": "番号在庫に追加しました",
    "number_pool.remove": "番号在庫から削除しました",
    "console_user.invite": "招待リンクを発行しました",
    "console_user.invite_mail": "招待リンクをメールで送りました",
    "console_user.invite_redeemed": "招待リンクでパスワードを設定しました",
    "invoice.paid": "請求書を入金済みにしました",
    "bank.import": "入出金明細を取り込みました",
    "bank.line_booked": "明細の入金を記帳しました",
    "bank.line_ignored": "明細の入金を対象外にしました",
    "bank.line_reopened": "明細の入金を未照合に戻しました",
}

OBJECTS = {
    "tenant": "テナント",
    "number": "電話番号",
    "token": "APIトークン",
    "console user": "コンソール利用者",
    "caller": "利用者",
    "counsellor": "相談員",
    "group": "グループ",
    "flow version": "IVR設定 版",
    "guidance": "ガイダンス",
    "voicemail": "留守番電話",
    "voicemail notifications": "留守番電話の通知",
    "guidance mail": "ガイダンスのメール受付",
    "blocked": "着信拒否",
    "invoice": "請求書",
    "invoice adjustment": "請求書の調整",
    "bank import": "明細の取込",
    "bank line": "明細",
}

FIELDS = {
    "name": "名前",
    "numbers": "電話番号",
    "number": "電話番号",
    "phone_number": "電話番号",
    "billing": "請求方法",
    "payment_method": "支払方法",
    "credit_limit_yen": "与信枠",
    "pin": "PIN",
    "lines": "回線数",
    "forwarding": "転送オプション",
    "international": "国際電話",
    "max_legs": "同時転送の上限",
    "max_minutes": "1日の転送分数の上限",
    "product": "サービス",
    "label": "ラベル",
    "revoked": "無効化",
    "login": "ログインID",
    "display_name": "表示名",
    "role": "役割",
    "tenant_id": "テナント",
    "failed_logins": "ログイン失敗回数",
    "locked_until": "ロック期限",  # rows written before the lock-out became a per-address wait
    "waiting_addresses": "ログイン待機中の接続元の数",
    "on_duty": "受付",
    "rate_yen_per_min": "1分あたりの料金",
    "dial_string": "ダイヤル文字列",
    "code": "グループ番号",
    "strategy": "呼出方法",
    "ring_timeout_s": "呼出秒数",
    "free_seconds": "無料通話秒数",
    "minimum_charge_yen": "最低料金",
    "max_missed": "連続不在の上限",
    "wrapup_seconds": "後処理秒数",
    "warning_seconds": "残り時間の案内（秒前）",
    "minimum_talk_seconds": "最低通話時間（秒）",
    "members": "メンバー（呼出順）",
    "amount_yen": "金額",
    "balance_yen": "残高",
    "memo": "メモ",
    "live_version": "公開中の版",
    "status": "状態",
    "total_yen": "合計",
    "period": "対象月",
    "reason": "理由",
    "unit_seconds": "課金単位（秒）",
    "yen_per_unit": "単位あたりの料金",
    "version": "版",
    "live": "公開",
    "kind": "種類",
    "value": "値",
    "effective_from": "適用開始日",
    "original_name": "元のファイル",
    "digest": "音声ファイル",
    "caller_number": "発信者番号",
    "created_at": "受信日時",
    "duration_ms": "長さ（ミリ秒）",
    "note": "メモ",
    "sent_to": "送付先",
    "expires_at": "有効期限",
    "billing_name": "請求書の宛名",
    "billing_address": "請求書の住所",
    "billing_email": "請求書の送付先",
    "address": "住所",
    "email": "メールアドレス",
    "first_user": "最初の利用者",
    "furigana": "フリガナ・振込名義",
    "format": "形式",
    "account": "口座",
    "file": "ファイル",
    "entries": "明細の件数",
    "new": "新しい入金",
    "bank_line": "明細",
    "caller_id": "利用者",
    "ledger_id": "記帳",
    "paid": "入金済み",
    "paid_on": "入金日",
    "hand": "手入力",
    "emails": "通知先のメールアドレス",
    "webhook_url": "Webhook の URL",
    "secret_renewed": "署名の鍵の更新",
    "addresses": "送信元のメールアドレス",
    "caller": "発信者",
}

VALUES: dict[str, dict[Any, str]] = {
    "billing": {"prepaid": "前払い", "postpaid": "後払い"},
    "payment_method": {"card": "カード", "bank_transfer": "銀行振込"},
    "product": {"coaching": "コーチングダイヤル", "ivr": "IVR", "duty": "相談員の待機切替"},
    "role": dict(ALL_ROLE_NAMES),
    "on_duty": {True: "受付中", False: "休止"},
    "pin": {True: "設定あり", False: "なし"},
    "caller": {"anonymous": "非通知の着信すべて"},
    "forwarding": {True: "利用する", False: "利用しない"},
    "international": {True: "許可", False: "禁止"},
    "revoked": {True: "無効", False: "有効"},
    "strategy": dict(STRATEGIES),
    "status": {"open": "未確定", "closed": "確定"},
    "live": {True: "公開中", False: "未公開"},
    "kind": {"upload": "アップロード", "speech": "音声合成", "percent": "課金額の％", "per_minute": "1分あたりの円"},
}

ACTORS = {
    "admin-api": "管理APIトークン",
    "tenant-token": "運営者APIトークン",
    "cli": "コマンドライン",
    "system": "システム",
}

_TARGET = re.compile(r"^(.*?) ?(\S+)$")


@dataclass(frozen=True, slots=True)
class Line:
    """One field of a change: its name in words, and its value before and after, in words."""

    field: str
    before: str
    after: str


def actor(login: str) -> str:
    """``tenant-token:7`` → 運営者APIトークン（テナント 7）; a console login stays as it is."""
    kind, _, rest = login.partition(":")
    if kind in ACTORS:
        return f"{ACTORS[kind]}（{rest}）" if rest else ACTORS[kind]
    return login


def target(text: str) -> str:
    """``caller 12`` → 利用者 #12; ``number 0312345678`` → 電話番号 0312345678."""
    match = _TARGET.match(text)
    if not text or match is None:
        return text
    kind, ident = match.groups()
    if kind not in OBJECTS:
        return text
    return f"{OBJECTS[kind]} {ident}" if kind == "number" else f"{OBJECTS[kind]} #{ident}"


def sentence(row: Record) -> str:
    """What happened, as a sentence: 利用者 #12 の設定を変更しました."""
    what = ACTIONS.get(row.action, f"操作「{row.action}」を行いました")
    shown = target(row.target)
    return f"{shown}：{what}" if shown else what


def value(field: str, v: Any) -> str:
    if v is None or v == []:
        return "—"
    words = VALUES.get(field, {})
    if isinstance(v, bool | str) and v in words:
        return words[v]
    if isinstance(v, bool):
        return "はい" if v else "いいえ"
    if isinstance(v, int) and field.endswith("_yen"):
        return yen(v)
    if isinstance(v, list):
        return "、".join(value(field, item) for item in v)
    if field.endswith("_until") and isinstance(v, str):
        try:
            return tokyo(datetime.fromisoformat(v), True)
        except ValueError:
            return v
    return str(v)


def lines(row: Record) -> list[Line]:
    """The fields that changed (a creation: every field set; a removal: every field it had)."""
    if not isinstance(row.before, dict | None) or not isinstance(row.after, dict | None):
        return [Line("値", value("", row.before), value("", row.after))]
    before = row.before if isinstance(row.before, dict) else {}
    after = row.after if isinstance(row.after, dict) else {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        Line(
            FIELDS.get(k, k),
            value(k, before.get(k)) if k in before else "—",
            value(k, after.get(k)) if k in after else "—",
        )
        for k in keys
        if before.get(k) != after.get(k) or k not in before or k not in after
    ]
