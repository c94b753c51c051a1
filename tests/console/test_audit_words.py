"""Audit rows in words: sentences, objects, actors and before → after, field by field (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from daemon.console import audit_words
from daemon.repositories.audit import Record


def _row(action: str, target: str, before: Any, after: Any, login: str = "op-alpha") -> Record:
    return Record(1, datetime(2026, 12, 1, tzinfo=UTC), login, 7, action, target, before, after, "", "console")


def test_a_settings_change_lists_only_what_changed_in_words() -> None:
    row = _row(
        "caller.update",
        "caller 12",
        {"name": "山田", "billing": "prepaid", "credit_limit_yen": None, "numbers": ["09011112222"]},
        {"name": "山田", "billing": "postpaid", "credit_limit_yen": 5000, "numbers": ["09011112222", "0312345678"]},
    )
    assert audit_words.sentence(row) == "利用者 #12：利用者の設定を変更しました"
    assert [(c.field, c.before, c.after) for c in audit_words.lines(row)] == [
        ("請求方法", "前払い", "後払い"),
        ("与信枠", "—", "5,000円"),
        ("電話番号", "09011112222", "09011112222、0312345678"),
    ]


def test_creations_removals_and_switches() -> None:
    made = _row("tenant.number.add", "number 0312345678", None, {"number": "0312345678", "product": "ivr"})
    assert audit_words.sentence(made) == "電話番号 0312345678：電話番号を割り当てました"
    assert [(c.field, c.before, c.after) for c in audit_words.lines(made)] == [
        ("電話番号", "—", "0312345678"),
        ("サービス", "—", "IVR"),
    ]
    duty = _row("counsellor.duty", "counsellor 3", {"on_duty": False}, {"on_duty": True})
    assert [(c.before, c.after) for c in audit_words.lines(duty)] == [("休止", "受付中")]
    password = _row("console_user.password", "console user 4", None, None)
    assert audit_words.sentence(password) == "コンソール利用者 #4：パスワードを再設定しました"
    assert audit_words.lines(password) == []


def test_actors_and_unknown_actions_still_read() -> None:
    assert audit_words.actor("admin-api") == "管理APIトークン"
    assert audit_words.actor("tenant-token:7") == "運営者APIトークン（7）"
    assert audit_words.actor("cli:root") == "コマンドライン（root）"
    assert audit_words.actor("op-alpha") == "op-alpha"
    odd = _row("something.new", "widget 5", {"x": 1}, {"x": 2})
    assert audit_words.sentence(odd) == "widget 5：操作「something.new」を行いました"
    assert [(c.field, c.before, c.after) for c in audit_words.lines(odd)] == [("x", "1", "2")]


def test_onboarding_and_invoice_mail_read_in_japanese() -> None:
    after = {"name": "さくら歯科", "product": "ivr", "billing_name": "さくら会", "first_user": "sakura"}
    row = _row("tenant.onboard", "tenant 7", None, after, login="platform")
    assert audit_words.sentence(row) == "テナント #7：お客様を登録しました"
    assert [(c.field, c.after) for c in audit_words.lines(row)] == [
        ("名前", "さくら歯科"),
        ("サービス", "IVR"),
        ("請求書の宛名", "さくら会"),
        ("最初の利用者", "sakura"),
    ]
    mailed = _row("invoice.mail", "invoice INV-7-202603", None, {"sent_to": "a@b.jp"}, login="platform")
    assert audit_words.sentence(mailed).endswith("請求書をメールで送付しました")
    assert [(c.field, c.after) for c in audit_words.lines(mailed)] == [("送付先", "a@b.jp")]
