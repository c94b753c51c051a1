"""``/console/deposits/import``: the bank's statement uploaded, its transfers matched to callers, booked at once.

One page holds it all: the upload, then every open line of the statement with
the caller its 振込依頼人名 names (by the caller's フリガナ; the operator may
choose another or leave it), a tick for each line to book, and a warning on a
line whose transfer looks booked by hand already.  One button books the ticked
lines (:func:`daemon.services.deposit_import.book`: once per line, whatever is
sent again); a line that is not a caller's money can be set aside.

The upload (``static/statement_upload.js``) sends the CSRF token in a header,
so the session middleware leaves the body alone and :func:`statement_file`
streams the file up to the readers' limit (5 MiB); without JavaScript the plain
form still works, within the console's 64 KiB form limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import BodyPartReader, web

from daemon.console.changes import actor_of
from daemon.console.forms import FormErrors
from daemon.console.pages.path import path_id
from daemon.console.paths import PREFIX
from daemon.console.refusals import CONFLICTS, NOT_FOUND, form_errors
from daemon.console.render import page, see_other
from daemon.console.session import CSRF_HEADER
from daemon.console.viewer import OPERATOR, tenant_scope
from daemon.http.context import pool_of
from daemon.repositories import callers
from daemon.repositories.bank_lines import Stored
from daemon.rules.bank_statements import MAX_FILE_BYTES
from daemon.services import deposit_import
from daemon.services.errors import Conflict, Invalid

routes = web.RouteTableDef()
IMPORT = f"{PREFIX}/deposits/import"
LINE = IMPORT + r"/lines/{id:\d{1,18}}"

HOW = {
    "name": "フリガナが一致",
    "name_and_amount": "フリガナと請求額が一致",
    "ambiguous": "同じフリガナの利用者が複数",
    "none": "該当なし",
}
OUTCOME = {
    "booked": "記帳しました",
    "already": "記帳済みでした（二重には記帳していません）",
    "refused": "記帳できませんでした",
}
FORMATS = {"zengin": "全銀協形式", "rakuten": "楽天銀行CSV", "sbi": "住信SBIネット銀行CSV", "paypay": "PayPay銀行CSV"}
NO_FILE = "明細ファイルを選んでください"
TOO_LARGE = f"明細ファイルが大きすぎます（{MAX_FILE_BYTES // (1024 * 1024)}MBまで）。期間を分けて取り込んでください。"
CHUNK = 64 * 1024
SHOWN = 200  # open lines on the page at once (newest first); the rest come up as these are settled
BAD_FILE = (
    "銀行の入出金明細として読めませんでした{where}。全銀協形式（入出金明細・振込入金通知）か、"
    "楽天銀行・住信SBIネット銀行・PayPay銀行の入出金明細CSVを選んでください。"
)


def bad_file(exc: Invalid) -> str:
    line = next((p.ctx.get("line") for p in exc.problems if p.ctx), 0)
    return BAD_FILE.format(where=f"（{line}行目）" if isinstance(line, int) and line else "")


def refusal(outcome: deposit_import.Outcome) -> str:
    """Why a line was not booked, in Japanese."""
    if outcome.code == "not_found":
        return NOT_FOUND
    return CONFLICTS.get(outcome.code, ("", outcome.message))[1]


async def _show(
    request: web.Request,
    *,
    notice: str = "",
    errors: dict[str, str] | None = None,
    outcomes: list[deposit_import.Outcome] | None = None,
    status: int = 200,
) -> web.Response:
    _, tenant = tenant_scope(request, OPERATOR)
    pool, actor = pool_of(request), actor_of(request)
    everyone = await callers.list_all(pool, tenant)
    context = {
        "proposals": await deposit_import.proposals(pool, actor, tenant, SHOWN),
        "open_count": await deposit_import.open_count(pool, actor, tenant),
        "settled": await deposit_import.settled(pool, actor, tenant, 50),
        "callers": everyone,
        "names": {c.id: c.name for c in everyone},
        "how": HOW,
        "outcome_words": OUTCOME,
        "refusal": refusal,
        "outcomes": outcomes or [],
        "notice": notice,
        "errors": errors or {},
    }
    return page(request, "bank_import.html", context, status=status)


def imported_notice(request: web.Request) -> str:
    """After an upload's redirect (``?read=&new=&format=``): what was read and how much of it was new."""
    new, read = request.query.get("new", ""), request.query.get("read", "")
    fmt = FORMATS.get(request.query.get("format", ""), "")
    return f"{fmt}の明細を取り込みました: {read}件のうち新しい入金 {new}件" if new.isdigit() and read.isdigit() else ""


def imported_at(base: str, stored: Stored) -> web.HTTPSeeOther:
    return see_other(f"{base}?read={stored.read}&new={stored.new}&format={stored.format}")


@routes.get(IMPORT)
async def statement(request: web.Request) -> web.Response:
    return await _show(request, notice=imported_notice(request))


async def statement_file(request: web.Request) -> tuple[str, bytes]:
    """The uploaded statement (file name, bytes): streamed when the token came in a header, else the form's.

    :class:`FormErrors` when there is no file or it is past the readers' limit.
    """
    if request.headers.get(CSRF_HEADER) is None:  # the session middleware has read the form already
        sent = (await request.post()).get("file")
        if not isinstance(sent, web.FileField):
            raise FormErrors({"file": NO_FILE})
        return sent.filename, sent.file.read()
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError):  # not multipart at all
        raise FormErrors({"file": NO_FILE}) from None
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name != "file" or not part.filename:
            continue
        data = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            data += chunk
            if len(data) > MAX_FILE_BYTES:
                raise FormErrors({"file": TOO_LARGE})
        return part.filename, bytes(data)
    raise FormErrors({"file": NO_FILE})


async def take_statement(request: web.Request, store: Callable[[str, bytes], Awaitable[Stored]]) -> Stored:
    """The uploaded file handed to ``store`` (an import service); every refusal as the form's ``file`` error."""
    try:
        name, data = await statement_file(request)
        return await store(name, data)
    except Invalid as exc:
        raise FormErrors({"file": bad_file(exc)}) from None


@routes.post(IMPORT)
async def upload(request: web.Request) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    pool, actor = pool_of(request), actor_of(request)
    try:
        stored = await take_statement(request, partial(deposit_import.import_statement, pool, actor, tenant))
    except FormErrors as exc:
        return await _show(request, errors=exc.errors, status=422)
    raise imported_at(IMPORT, stored)


@routes.post(IMPORT + "/book")
async def book(request: web.Request) -> web.Response:
    """The ticked lines, each to the caller chosen beside it."""
    _, tenant = tenant_scope(request, OPERATOR)
    form = await request.post()
    choices: list[tuple[int, int]] = []
    unchosen: list[str] = []
    for ticked in form.getall("book", []):
        chosen = form.get(f"caller-{ticked!s}", "")
        if isinstance(ticked, str) and ticked.isdigit() and isinstance(chosen, str) and chosen.isdigit():
            choices.append((int(ticked), int(chosen)))
        else:
            unchosen.append(f"#{ticked!s}")
    if unchosen or not choices:
        missing = f"（明細 {'、'.join(unchosen)}）" if unchosen else ""
        words = f"記帳する入金にチェックを入れ、利用者を選んでください{missing}。何も記帳していません。"
        return await _show(request, errors={"": words}, status=422)
    outcomes = await deposit_import.book(pool_of(request), actor_of(request), tenant, choices)
    booked = sum(o.status == "booked" for o in outcomes)
    return await _show(request, notice=f"{booked}件の入金を記帳しました", outcomes=outcomes)


async def _line_status(request: web.Request, *, ignore: bool) -> web.StreamResponse:
    _, tenant = tenant_scope(request, OPERATOR)
    act = deposit_import.ignore if ignore else deposit_import.reopen
    try:
        await act(pool_of(request), actor_of(request), tenant, path_id(request))
    except Conflict as exc:
        return await _show(request, errors=form_errors(exc), status=409)
    raise see_other(IMPORT)


@routes.post(LINE + "/ignore")
async def ignore(request: web.Request) -> web.StreamResponse:
    return await _line_status(request, ignore=True)


@routes.post(LINE + "/reopen")
async def reopen(request: web.Request) -> web.StreamResponse:
    return await _line_status(request, ignore=False)
