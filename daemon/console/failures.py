"""Errors on console pages as HTML pages in Japanese (the API answers JSON; see http/errors.py)."""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler

from daemon.console.paths import is_console_path
from daemon.console.refusals import japanese, status_of
from daemon.console.render import page
from daemon.console.viewer import Forbidden
from daemon.http.errors import ApiError
from daemon.logs import get_logger
from daemon.postgres import errors as db_errors
from daemon.services.errors import ServiceError

_log = get_logger(__name__)

_TITLES = {
    400: "リクエストが正しくありません",
    403: "このページは開けません",
    404: "ページが見つかりません",
    405: "この操作はできません",
    413: "ファイルが大きすぎます",
    429: "試行回数が多すぎます",
    503: "ただいま利用できません",
}


# aiohttp's own refusals carry the English reason phrase ("Not Found"): a person reads these instead.
_MESSAGES = {
    400: "送信された内容を読み取れませんでした。ページを読み込み直してからもう一度お試しください。",
    404: "お探しのページは見つかりませんでした。アドレスをご確認ください。",
    405: "このページではその操作はできません。",
    413: "送信されたデータが大きすぎます。",
}


def _reason(exc: web.HTTPException) -> str:
    """Our own Japanese reason, or a Japanese sentence in place of the standard English phrase."""
    try:
        standard = HTTPStatus(exc.status).phrase
    except ValueError:
        standard = ""
    if exc.reason and exc.reason != standard:
        return exc.reason
    return _MESSAGES.get(exc.status, "リクエストを処理できませんでした。")


def failure(request: web.Request, status: int, message: str) -> web.Response:
    title = _TITLES.get(status, "エラーが発生しました")
    return page(request, "error.html", {"title": title, "message": message, "status": status}, status=status)


@web.middleware
async def console_failures(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_console_path(request.path):
        return await handler(request)
    try:
        return await handler(request)
    except Forbidden as exc:
        return failure(request, 403, str(exc))
    except ServiceError as exc:
        return failure(request, status_of(exc), japanese(exc))
    except db_errors.NotFound:
        return failure(request, 404, "お探しのデータは見つかりませんでした。")
    except ApiError as exc:
        return failure(request, exc.status, exc.japanese or exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return failure(request, exc.status, _reason(exc))
    except db_errors.DB_UNAVAILABLE as exc:
        _log.error("console_db_unavailable", path=request.path, error=repr(exc))
        return failure(request, 503, "データベースに接続できません。しばらくしてからもう一度お試しください。")
    except asyncio.CancelledError:
        raise
    except Exception:
        _log.exception("console_internal_error", method=request.method, path=request.path)
        return failure(request, 500, "内部エラーが発生しました。詳しくはデーモンのログをご覧ください。")
