"""Requests aiohttp cannot even parse: a JSON answer, and nothing of their bytes in the log.

aiohttp's HTTP parser refuses a header value holding a control character (a
``\\r`` left at the end of ``Authorization: Bearer …``, NUL, DEL …) before any
middleware runs.  Its default answer echoes the offending line, bearer token
and all, in a ``text/plain`` 400, and logs a traceback that holds it too.  Here
the answer is our JSON error (401 when the broken header is ``Authorization``,
400 otherwise) and the log line names the header, never its value.

Use :class:`AppRunner` instead of ``aiohttp.web.AppRunner``.
"""

from __future__ import annotations

import re

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from daemon.http.errors import error_response
from daemon.logs import get_logger

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
