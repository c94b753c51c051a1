"""Requests that cannot be read: a 4xx with a clear message, never a 500, and none of their bytes in the log.

Three kinds, each handled once for every route:

* **Unparsable HTTP** (:class:`AppRunner`).  aiohttp's HTTP parser refuses a
  header value holding a control character (a ``\\r`` left at the end of
  ``Authorization: Bearer …``, NUL, DEL …) before any middleware runs.  Its
  default answer echoes the offending line, bearer token and all, in a
  ``text/plain`` 400, and logs a traceback that holds it too.  Here the answer
  is our JSON error (401 when the broken header is ``Authorization``, 400
  otherwise) and the log line names the header, never its value.  Use
  :class:`AppRunner` instead of ``aiohttp.web.AppRunner``.
* **Unreadable bodies** (:func:`unreadable_bodies`).  A multipart body
  without a boundary, a NUL in a part's header, an unknown charset: aiohttp
  raises ``ValueError``, ``BadHttpMessage``, ``LookupError`` … from inside
  its body parsers, which every handler would otherwise have to know about.
  Anything raised *by those parsers* is the sender's fault: 400.
* **Numbers PostgreSQL cannot hold** (:func:`bounded_path_numbers`).  Routes
  take ids as ``{id:\\d+}``; a number beyond the column's type (``integer``
  for flow versions, ``bigint`` for every id) names no row: 404, before a
  handler hands it to asyncpg, which would refuse to encode it.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType

import aiohttp
from aiohttp import hdrs, web
from aiohttp.helpers import parse_mimetype
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler

from daemon.http.errors import ApiError, error_response
from daemon.logs import get_logger
from daemon.postgres.errors import NotFound

_log = get_logger(__name__)

# The parser quotes the line it choked on: b'Authorization: Bearer …'.  A header name is a token (RFC 9110).
_HEADER_LINE = re.compile(rb"b['\"]([!#$%&'*+.^_`|~0-9A-Za-z-]+):")
_REASON = re.compile(r"[A-Za-z][A-Za-z ]*")
_REALM = 'Bearer realm="calld", error="invalid_request"'


def offending_header(exc: HttpProcessingError) -> str | None:
    """The name of the header whose line the parser refused, if the message quotes one."""
    found = _HEADER_LINE.search(exc.message.encode("utf-8", "backslashreplace"))
    return found.group(1).decode("ascii").lower() if found else None


def reason(exc: HttpProcessingError) -> str:
    """The parser's words without the bytes it quotes: "Invalid header value char"."""
    found = _REASON.match(exc.message.strip())
    return found.group(0).strip() if found else "malformed request"


class _Handler(RequestHandler):
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError) or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        header = offending_header(exc)
        why = reason(exc)
        _log.warning("http_unparsable_request", peer=request.remote, header=header, reason=why, status=status)
        if header == hdrs.AUTHORIZATION.lower():
            response = error_response(
                401,
                "the Authorization header holds a control character (a stray \\r or similar):"
                " send 'Authorization: Bearer <token>' on one clean line",
                headers={hdrs.WWW_AUTHENTICATE: _REALM},
            )
        else:
            where = f" in the {header} header" if header else ""
            response = error_response(status, f"malformed HTTP request: {why.lower()}{where}")
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Handler(self, loop=self._loop, **self._kwargs)


class AppRunner(web.AppRunner):
    """``aiohttp.web.AppRunner`` whose connections answer unparsable requests as described above."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # same state, one method more: the handler it builds per connection
        return server


# aiohttp's body parsers: what they raise while reading a request body is about that body.
_PARSERS = frozenset(
    str(Path(aiohttp.__file__).with_name(name)) for name in ("multipart.py", "web_request.py", "http_parser.py")
)
_PARSE_ERRORS = (HttpProcessingError, ValueError, LookupError, RuntimeError)  # UnicodeDecodeError is a ValueError
_FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")

INT4_MAX = 2**31 - 1  # PostgreSQL integer
INT8_MAX = 2**63 - 1  # PostgreSQL bigint (bigserial ids)
# Path parameters held in an ``integer`` column; every other digits-only parameter is a bigint id.
_INT4_PARAMS = frozenset({"version"})
_NOT_NUMBERS = frozenset({"number"})  # a phone number: digits, but text


def _raised_in_parser(tb: TracebackType | None) -> bool:
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    return last is not None and last.tb_frame.f_code.co_filename in _PARSERS


def _boundary(request: web.Request) -> str:
    return str(parse_mimetype(request.headers.get(hdrs.CONTENT_TYPE, "")).parameters.get("boundary", ""))


def _unreadable(request: web.Request, english: str, japanese: str) -> ApiError:
    _log.warning("http_unreadable_body", path=request.path, peer=request.remote, content_type=request.content_type)
    return ApiError(400, english, japanese=japanese)


@web.middleware
async def unreadable_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """400 for a form or multipart body aiohttp cannot parse, for every route (API and console)."""
    if not request.content_type.startswith(_FORM_TYPES):
        return await handler(request)
    if request.content_type.startswith("multipart/") and not _boundary(request):
        raise _unreadable(
            request,
            f"Content-Type {request.content_type} needs a boundary parameter: 'multipart/form-data; boundary=…'",
            "送信されたフォームを読み取れませんでした（区切りがありません）。ページを読み込み直してからもう一度お試しください。",
        )
    try:
        return await handler(request)
    except _PARSE_ERRORS as exc:
        if not _raised_in_parser(exc.__traceback__):
            raise
        raise _unreadable(
            request,
            f"the {request.content_type} body is malformed: check its boundaries, part headers and charset",
            "送信されたフォームを読み取れませんでした。ページを読み込み直してからもう一度お試しください。",
        ) from None


@web.middleware
async def bounded_path_numbers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """404 for a digits-only path parameter beyond its column's type (or 0), for every route."""
    for name, text in request.match_info.items():
        if name in _NOT_NUMBERS or not (text.isascii() and text.isdigit()):
            continue
        if len(text) > 19 or not 0 < int(text) <= (INT4_MAX if name in _INT4_PARAMS else INT8_MAX):
            raise NotFound(f"no such {name.removesuffix('_id') or 'object'} {text}")
    return await handler(request)
