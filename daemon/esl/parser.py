"""Incremental frame parser: feed it bytes as they arrive, get whole frames back.

Works for both directions: FreeSWITCH→app frames (replies, events, notices) and
app→FreeSWITCH commands (``connect``, ``sendmsg`` with its headers, ``api …``),
because both are a header block ending in a blank line plus an optional body
sized by ``Content-Length``.  A command line such as ``api status`` is returned as
a frame whose :attr:`Frame.line` holds it (parser made with ``commands=True``).
"""

from __future__ import annotations

from daemon.esl.errors import ProtocolError
from daemon.esl.frame import Frame, Header, split_header_lines

DEFAULT_MAX_HEADER_BYTES = 256 * 1024
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


class Parser:
    """Sans-IO ESL frame parser.

    ``max_header_bytes`` bounds a header block and ``max_body_bytes`` a body, so
    a hostile or broken peer cannot make us buffer without limit.
    """

    __slots__ = ("_buf", "_closed", "_commands", "_max_body", "_max_header", "_pending", "_scan")

    def __init__(
        self,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        commands: bool = False,
    ) -> None:
        self._buf = bytearray()
        self._scan = 0
        self._pending: tuple[str | None, list[Header], int] | None = None
        self._max_header = max_header_bytes
        self._max_body = max_body_bytes
        self._commands = commands
        self._closed = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame (a parsed header block counts as 1)."""
        return len(self._buf) + (self._pending is not None)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every frame they complete, in order."""
        if self._closed:
            raise ProtocolError("parser already failed; the connection must be closed")
        self._buf += data
        frames: list[Frame] = []
        try:
            while True:
                frame = self._next()
                if frame is None:
                    return frames
                frames.append(frame)
        except ProtocolError:
            self._closed = True
            raise

    def _next(self) -> Frame | None:
        buf = self._buf
        if self._pending is None:
            # FreeSWITCH never sends stray blank lines between frames, but some
            # clients do (``connect\n\n\n``); tolerate them on the command side.
            if self._commands:
                while buf[:1] == b"\n":
                    del buf[:1]
            end = buf.find(b"\n\n", max(0, self._scan - 1))
            if end < 0:
                self._scan = len(buf)
                if len(buf) > self._max_header:
                    raise ProtocolError(f"header block longer than {self._max_header} bytes")
                return None
            if end > self._max_header:
                raise ProtocolError(f"header block longer than {self._max_header} bytes")
            block = bytes(buf[:end])
            del buf[: end + 2]
            self._scan = 0
            line, headers = self._headers(block)
            length = _content_length(headers, self._max_body)
            if length == 0:
                return Frame(headers, b"", line)
            self._pending = (line, headers, length)
        line, headers, length = self._pending
        if len(buf) < length:
            return None
        body = bytes(buf[:length])
        del buf[:length]
        self._pending = None
        return Frame(headers, body, line)

    def _headers(self, block: bytes) -> tuple[str | None, list[Header]]:
        if not block:
            raise ProtocolError("empty header block")
        if self._commands:
            first, _, rest = block.partition(b"\n")
            line = first.decode("utf-8", "surrogateescape")
            return line, split_header_lines(rest) if rest else []
        return None, split_header_lines(block)


def _content_length(headers: list[Header], limit: int) -> int:
    for name, value in headers:
        if name == "Content-Length":
            if not value.isdigit() or len(value) > 12:
                raise ProtocolError(f"bad Content-Length {value[:20]!r}")
            length = int(value)
            if length > limit:
                raise ProtocolError(f"Content-Length {length} exceeds the limit of {limit} bytes")
            return length
    return 0
