"""Every failure answers JSON ``{"error": ..., "detail": [...]}`` with the right status.

Handlers raise; this middleware turns the exception into the response:
:class:`ApiError` as is, unknown ids 404, duplicates 409, a database that does
not answer 503, aiohttp's own errors (no such route, wrong method, body too
large) with their status, anything else 500 without internals.  Messages are
for people: no database constraint names (:mod:`daemon.postgres.constraints`), no
pydantic "Value error, " prefixes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from http import HTTPStatus

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from daemon.http.models import Error, ErrorDetail
from daemon.logs import get_logger
from daemon.postgres import errors as db_errors
from daemon.postgres.constraints import explain
from daemon.repositories import tenants
from daemon.services import errors as service_errors

_log = get_logger(__name__)

# The database is down, restarting, out of connections, or too slow: try again later.
DB_UNAVAILABLE = db_errors.DB_UNAVAILABLE  # defined once in daemon.postgres.errors


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        detail: Sequence[ErrorDetail] = (),
        headers: Mapping[str, str] | None = None,
        *,
        japanese: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = list(detail)
        self.headers = dict(headers or {})
        self.japanese = japanese  # what a console page says instead, where the refusal can reach one

    @classmethod
    def invalid(cls, exc: ValidationError, where: str) -> ApiError:
        """422 for values that break the rules; ``where`` is "body" or "path"."""
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        detail = [_detail(e, where) for e in errors]
        return cls(422, "; ".join(_sentence(d) for d in detail), detail)


def readable(msg: str) -> str:
    """pydantic's message without the "Value error, " it puts before our own ValueError texts."""
    return msg.removeprefix("Value error, ")


def _detail(error: ErrorDetails, where: str) -> ErrorDetail:
    return ErrorDetail(loc=[where, *error["loc"]], msg=readable(error["msg"]), type=error["type"])


def _sentence(detail: ErrorDetail) -> str:
    field = ".".join(str(part) for part in detail.loc[1:])
    return f"{field}: {detail.msg}" if field else detail.msg


def error_response(
    status: int, message: str, detail: Sequence[ErrorDetail] = (), headers: Mapping[str, str] | None = None
) -> web.Response:
    body = Error(error=explain(message), detail=list(detail))
    return web.Response(status=status, text=body.model_dump_json(), content_type="application/json", headers=headers)


# The service layer's refusals, by kind: the one place they become status codes.
_SERVICE_STATUS: tuple[tuple[type[service_errors.ServiceError], int], ...] = (
    (service_errors.NotFound, 404),
    (service_errors.Conflict, 409),
    (service_errors.Invalid, 422),
    (service_errors.Forbidden, 403),
)


def service_response(exc: service_errors.ServiceError) -> web.Response:
    status = next((code for kind, code in _SERVICE_STATUS if isinstance(exc, kind)), 400)
    if isinstance(exc, service_errors.Invalid):
        detail = [ErrorDetail(loc=["body", *p.loc], msg=p.msg, type=p.type) for p in exc.problems if p.loc]
        return error_response(status, exc.message, detail)
    return error_response(status, exc.message)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.detail, exc.headers)
    except service_errors.ServiceError as exc:
        return service_response(exc)
    except tenants.NotFound as exc:
        return error_response(404, str(exc))
    except tenants.Conflict as exc:
        return error_response(409, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        keep = {k: v for k, v in exc.headers.items() if k not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH)}
        return error_response(exc.status, _reason(exc), headers=keep)
    except DB_UNAVAILABLE as exc:
        _log.error("http_db_unavailable", path=request.path, error=repr(exc))
        return error_response(503, "the database is unavailable; try again shortly")
    except asyncio.CancelledError:
        raise
    except Exception:
        _log.exception("http_internal_error", method=request.method, path=request.path)
        return error_response(500, "internal error; the daemon's log has the details")


def _reason(exc: web.HTTPException) -> str:
    if exc.status == 404:
        return "no such endpoint"
    if exc.status == 405:
        return f"method {exc.method} is not allowed here" if isinstance(exc, web.HTTPMethodNotAllowed) else exc.reason
    if exc.status == 413:
        return "request body too large"
    return exc.reason or HTTPStatus(exc.status).phrase
