"""Money an operator books by hand: deposits after checking the bank account, adjustments and refunds.

Every booking is two steps and one idempotency key:

1. the form (the key is made when it is rendered) → POST: validated by the
   API's own model, answered with a confirmation page ("現在の残高 X円 → 入金後 Y円")
   carrying the same fields and key;
2. POST of the confirmation: :func:`daemon.services.money.book` with that key,
   the ledger row and its audit row in one transaction, then 303 to the result.

A double click or a browser retry of step 2 books nothing twice: the ledger
answers ``replayed`` and the result page says so.  Deposits and adjustments
differ only in their :class:`Booking` reader; the steps are shared.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from aiohttp import web

from daemon.console import forms
from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import form_errors
from daemon.console.render import page, see_other
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories import bank_lines, callers, ledger
from daemon.repositories.callers import CallerRow
from daemon.services import money
from daemon.services.errors import Conflict, Invalid
from daemon.services.inputs import AdjustmentIn, DepositIn, RefundIn
from daemon.services.money import Booking
from daemon.services.values import TOKYO

routes = web.RouteTableDef()
DEPOSITS = f"{PREFIX}/deposits"
ID = r"{id:\d{1,18}}"

ALREADY_BOOKED = "この入金は既に記帳済みです"
NO_KEY = "フォームの送信内容が不完全です（記帳キーがありません）。内容を確かめてもう一度送信してください。"
KINDS = {"deposit": "入金", "adjustment": "調整", "refund": "返金"}


@dataclass(frozen=True, slots=True)
class MoneyForm:
    """One kind of money form: where it lives, its template, and how its fields become a :class:`Booking`."""

    name: str
    title: str
    url: Callable[[int], str]
    read: Callable[[dict[str, str]], Booking]
    defaults: Callable[[], dict[str, str]]


def _today() -> str:
    return datetime.now(TOKYO).date().isoformat()


def _key(values: dict[str, str]) -> str:
    """The form's idempotency key: without it a booking could not be told from its retry."""
    key = values.get("key", "")
    if not key:
        raise FormErrors({"": NO_KEY})
    return key


def _deposit(values: dict[str, str]) -> Booking:
    amount = forms.number(values.get("amount_yen"), "amount_yen")
    try:
        paid_on = date.fromisoformat(values.get("paid_on", ""))
    except ValueError:
        raise FormErrors({"paid_on": "日付の形式が正しくありません（例: 2026-12-01）"}) from None
    memo = f"振込日 {paid_on.isoformat()} {values.get('bank_memo', '')}".strip()
    body = forms.validate(DepositIn, {"amount_yen": amount, "memo": memo, "idempotency_key": _key(values)})
    return Booking("deposit", body.amount_yen, body.memo, body.idempotency_key)


def _adjustment(values: dict[str, str]) -> Booking:
    kind = values.get("kind", "adjustment")
    amount = forms.number(values.get("amount_yen"), "amount_yen")
    if not values.get("memo"):
        raise FormErrors({"memo": "理由を入力してください"})
    key = _key(values)
    if kind == "refund":
        charge_id = forms.number(values.get("charge_id"), "charge_id")
        refund = forms.validate(
            RefundIn, {"amount_yen": amount, "memo": values["memo"], "idempotency_key": key, "charge_id": charge_id}
        )
        return Booking("refund", refund.amount_yen, refund.memo, refund.idempotency_key, charge_id=refund.charge_id)
    if kind != "adjustment":
        raise FormErrors({"kind": "選択肢から選んでください"})
    body = forms.validate(AdjustmentIn, {"amount_yen": amount, "memo": values["memo"], "idempotency_key": key})
    if body.amount_yen == 0:
        raise FormErrors({"amount_yen": "0円の調整はできません"})
    return Booking("adjustment", body.amount_yen, body.memo, body.idempotency_key)


DEPOSIT = MoneyForm("deposit", "入金の記帳", lambda i: f"{DEPOSITS}/{i}", _deposit, lambda: {"paid_on": _today()})
ADJUST = MoneyForm(
    "adjust", "調整・返金", lambda i: f"{PREFIX}/callers/{i}/adjust", _adjustment, lambda: {"kind": "adjustment"}
)


def _caller_id(request: web.Request) -> int:
    return path_id(request)


async def _caller(request: web.Request) -> tuple[int, CallerRow]:
    _, tenant = tenant_scope(request, OPERATOR)
    return tenant, await callers.get(pool_of(request), tenant, _caller_id(request))


async def _charges(request: web.Request, tenant: int, caller_id: int) -> list[ledger.Entry]:
    entries = await ledger.entries(pool_of(request), tenant, caller_id, 50, newest_first=True)
    return [e for e in entries if e.kind == "charge"]


async def _show_form(
    request: web.Request,
    spec: MoneyForm,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    tenant, who = await _caller(request)
    values = values or spec.defaults()
    values = {**values, "key": values.get("key") or "console-" + secrets.token_urlsafe(18)}
    context = {
        "spec": spec,
        "who": who,
        "values": values,
        "errors": errors or {},
        "action": spec.url(who.id),
        "charges": await _charges(request, tenant, who.id) if spec is ADJUST else [],
    }
    return page(request, "money_form.html", context, status=status)


async def _same_transfer(
    request: web.Request, tenant: int, who: CallerRow, booking: Booking, paid_on: str
) -> list[int]:
    """Deposits of this caller with this amount and 振込日 already (by hand or from a statement): warned of."""
    if booking.kind != "deposit":
        return []
    day = date.fromisoformat(paid_on)  # _deposit has read it
    return await bank_lines.same_transfer(pool_of(request), tenant, who.id, booking.amount_yen, day)


async def _confirm(request: web.Request, spec: MoneyForm) -> web.Response:
    tenant, who = await _caller(request)
    values = await forms.fields(request)
    try:
        booking = spec.read(values)
    except FormErrors as exc:
        return await _show_form(request, spec, values, exc.errors, 422)
    context = {
        "same_transfer": await _same_transfer(request, tenant, who, booking, values.get("paid_on", "")),
        "spec": spec,
        "who": who,
        "values": values,
        "booking": booking,
        "kind_name": KINDS[booking.kind],
        "after": who.balance_yen + booking.amount_yen,
        "action": spec.url(who.id) + "/book",
    }
    return page(request, "money_confirm.html", context)


async def _book(request: web.Request, spec: MoneyForm) -> web.StreamResponse:
    tenant, who = await _caller(request)
    values = await forms.fields(request)
    try:
        entry = await money.book(pool_of(request), actor_of(request), tenant, who.id, spec.read(values))
    except FormErrors as exc:
        return await _show_form(request, spec, values, exc.errors, 422)
    except (Conflict, Invalid) as exc:
        return await _show_form(request, spec, values, {"": " ".join(form_errors(exc).values())}, 409)
    raise see_other(f"{spec.url(who.id)}/entries/{entry.id}" + ("?replayed=1" if entry.replayed else ""))


async def _result(request: web.Request, spec: MoneyForm) -> web.Response:
    tenant, who = await _caller(request)
    entry = await ledger.entry(pool_of(request), tenant, who.id, path_id(request, "entry"))
    context = {
        "spec": spec,
        "who": who,
        "entry": entry,
        "kind_name": KINDS.get(entry.kind, entry.kind),
        "replayed": request.query.get("replayed") == "1",
        "already": ALREADY_BOOKED,
    }
    return page(request, "money_result.html", context)


def _register(spec: MoneyForm, base: str) -> None:
    """The four routes of one money form under ``base`` (which names the caller as ``{id}``)."""

    async def form(request: web.Request) -> web.StreamResponse:
        return await _show_form(request, spec)

    async def confirm(request: web.Request) -> web.StreamResponse:
        return await _confirm(request, spec)

    async def book(request: web.Request) -> web.StreamResponse:
        return await _book(request, spec)

    async def result(request: web.Request) -> web.StreamResponse:
        return await _result(request, spec)

    routes.get(base)(form)
    routes.post(base)(confirm)
    routes.post(base + "/book")(book)
    routes.get(base + r"/entries/{entry:\d{1,18}}")(result)


_register(DEPOSIT, f"{DEPOSITS}/{ID}")
_register(ADJUST, f"{PREFIX}/callers/{ID}/adjust")


@routes.get(DEPOSITS)
async def lookup(request: web.Request) -> web.Response:
    """Find the caller the transfer came from, by number or name."""
    _, tenant = tenant_scope(request, OPERATOR)
    text = request.query.get("q", "").strip()
    found = await callers.search(pool_of(request), tenant, text) if text else []
    return page(request, "money_lookup.html", {"q": text, "found": found})
