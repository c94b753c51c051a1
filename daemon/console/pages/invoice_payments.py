"""``/console/admin/payments``: our invoices paid: overdue ones, our bank statement matched to invoices, by hand.

The platform admin's page.  Our statement is read by the operators' reader
(:mod:`daemon.rules.bank_statements`); each open line is proposed the invoice
its remitter names (the invoice number's digits) or pays (its total, when only
one unpaid invoice has it); the ticked lines pay their invoices at once, each
once (:mod:`daemon.services.invoice_payments`).  An invoice paid another way is
marked by hand with the date, the amount and a memo (audited).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import partial

from aiohttp import web

from daemon.console import forms
from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors
from daemon.console.pages.bank_import import HOW, imported_at, imported_notice, take_statement
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.render import page, see_other
from daemon.console.viewer import ADMIN, require
from daemon.http.context import pool_of
from daemon.services import invoice_payments
from daemon.services.errors import Conflict, Invalid, NotFound
from daemon.services.values import TOKYO

routes = web.RouteTableDef()
PAYMENTS = f"{PREFIX}/admin/payments"
NUMBER = "INV-[0-9]{1,19}-[0-9]{6}"  # daemon.rules.billing.invoice.invoice_number
_NUMBER = re.compile(NUMBER)

INVOICE_HOW = {
    **HOW,
    "number": "請求番号が一致（金額は異なります）",
    "number_and_amount": "請求番号と金額が一致",
    "amount": "金額が一致（未入金の請求書で唯一）",
}
OUTCOME = {
    "paid": "入金済みにしました",
    "already": "処理済みでした（二重には消し込んでいません）",
    "refused": "消し込めませんでした",
}
REFUSALS = {"invoice_already_paid": "この請求書は既に入金済みです", "not_found": "その請求書は見つかりません"}


def _today() -> date:
    return datetime.now(TOKYO).date()


async def _show(
    request: web.Request,
    *,
    notice: str = "",
    errors: dict[str, str] | None = None,
    outcomes: list[invoice_payments.Outcome] | None = None,
    status: int = 200,
) -> web.Response:
    require(request, ADMIN)
    pool, actor = pool_of(request), actor_of(request)
    dues = await invoice_payments.unpaid(pool, actor)
    today = _today()
    context = {
        "today": today,
        "dues": dues,
        "overdue": invoice_payments.overdue(dues, today),
        "proposals": await invoice_payments.proposals(pool, actor),
        "paid": await invoice_payments.paid(pool, actor, 50),
        "how": INVOICE_HOW,
        "outcome_words": OUTCOME,
        "refusals": REFUSALS,
        "outcomes": outcomes or [],
        "notice": notice,
        "errors": errors or {},
    }
    return page(request, "invoice_payments.html", context, status=status)


@routes.get(PAYMENTS)
async def payments(request: web.Request) -> web.Response:
    notice = imported_notice(request)
    marked = request.query.get("marked", "")
    if _NUMBER.fullmatch(marked):
        notice = f"請求書 {marked} を入金済みにしました"
    return await _show(request, notice=notice)


@routes.post(PAYMENTS + "/statement")
async def upload(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    pool, actor = pool_of(request), actor_of(request)
    try:
        stored = await take_statement(request, partial(invoice_payments.import_statement, pool, actor))
    except FormErrors as exc:
        return await _show(request, errors=exc.errors, status=422)
    raise imported_at(PAYMENTS, stored)


@routes.post(PAYMENTS + "/settle")
async def settle(request: web.Request) -> web.Response:
    require(request, ADMIN)
    form = await request.post()
    choices: list[tuple[int, str]] = []
    for ticked in form.getall("pay", []):
        number = form.get(f"invoice-{ticked!s}", "")
        if isinstance(ticked, str) and ticked.isdigit() and isinstance(number, str) and number:
            choices.append((int(ticked), number))
    if not choices or len(choices) != len(form.getall("pay", [])):
        words = "消し込む入金にチェックを入れ、請求書を選んでください。何も消し込んでいません。"
        return await _show(request, errors={"": words}, status=422)
    outcomes = await invoice_payments.pay_from_statement(pool_of(request), actor_of(request), choices)
    paid = sum(o.status == "paid" for o in outcomes)
    return await _show(request, notice=f"{paid}件の請求書を入金済みにしました", outcomes=outcomes)


@routes.post(PAYMENTS + r"/lines/{id:\d{1,18}}/ignore")
async def ignore(request: web.Request) -> web.StreamResponse:
    require(request, ADMIN)
    try:
        await invoice_payments.ignore(pool_of(request), actor_of(request), path_id(request))
    except Conflict:
        return await _show(request, errors={"": "この明細は既に処理済みです"}, status=409)
    raise see_other(PAYMENTS)


@routes.post(PAYMENTS + "/invoices/{number:" + NUMBER + "}")
async def mark_paid(request: web.Request) -> web.StreamResponse:
    """An invoice paid another way: date, amount received, memo."""
    require(request, ADMIN)
    number = request.match_info["number"]
    values = await forms.fields(request)
    try:
        amount = forms.number(values.get("amount_yen"), "amount_yen")
        try:
            paid_on = date.fromisoformat(values.get("paid_on", ""))
        except ValueError:
            raise FormErrors({"": "入金日の形式が正しくありません（例: 2026-12-01）"}) from None
        if amount is None or amount <= 0:
            raise FormErrors({"": "受け取った金額を入力してください"})
        await invoice_payments.mark_paid(
            pool_of(request), actor_of(request), number, paid_on, amount, values.get("memo", "")
        )
    except FormErrors as exc:
        return await _show(request, errors={"": f"{number}: " + " ".join(exc.errors.values())}, status=422)
    except (Conflict, NotFound, Invalid) as exc:
        words = REFUSALS.get(exc.code, "入金済みにできませんでした（メモは1行・500文字以内）")
        return await _show(request, errors={"": f"{number}: {words}"}, status=409)
    raise see_other(f"{PAYMENTS}?marked={number}")
