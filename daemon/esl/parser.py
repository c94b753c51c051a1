"""Incremental frame parser: feed it bytes as they arrive, get whole frames back.

Works for both directions: FreeSWITCH→app frames (replies, events, notices) and
app→FreeSWITCH commands (``connect``, ``sendmsg`` with its headers, ``api …``),
because both are a header block ending in a blank line plus an optional body
sized by ``Content-Length``.  A command line such as ``api status`` is returned as
a frame whose :attr:`Frame.line` holds it (parser made with ``commands=True``).
"""

from __future__ import annotations

from daemon.esl.errors import ProtocolError
from daemon.esl.frame import Frame, Header, every_line_named, split_header_lines

DEFAULT_MAX_HEADER_BYTES = 256 * 1024
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
LAZY_BLOCK_BYTES = 1024  # a header block this long is split only on demand (Frame.from_block)
KNOWN_BLOCK_BYTES = 160  # a header block this short is remembered: the same one comes again
KNOWN_BLOCKS = 512  # how many are remembered (then forgotten all at once)

#: Short header blocks already parsed, with their content type and raw Content-Length.
#: Most frames of a call are a ``command/reply`` (``+OK``, ``+OK Events Enabled``…)
#: or an event's two-line envelope (``Content-Length: 6004`` / ``Content-Type:
#: text/event-plain``), the very same bytes call after call: splitting them and
#: looking the two headers up again costs more than the rest of the frame.
#: Shared by the connections of the process, bounded so that a peer sending
#: ever new blocks only makes it start over.
_known: dict[bytes, tuple[tuple[Header, ...], str | None, str | None]] = {}


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
        self._pending: tuple[Frame, int] | None = None  # a frame waiting for its body, and the body's length
        self._max_header = max_header_bytes
        self._max_body = max_body_bytes
        self._commands = commands
        self._closed = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame (a parsed header block counts as 1)."""
        return len(self._buf) + (self._pending is not None)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every frame they complete, in order.

        Most reads hold whole frames: those are cut out of ``data`` itself (a body is
        one slice of it).  Only a frame cut by the read's end is kept in the buffer,
        and the buffer is parsed only once it completes what was missing.
        """
        if self._closed:
            raise ProtocolError("parser already failed; the connection must be closed")
        if type(data) is not bytes:
            data = bytes(data)
        buf = self._buf
        try:
            if buf:
                buf += data
                if not self._completed(buf):
                    return []
                data = bytes(buf)
                buf.clear()
                self._scan = 0
            frames: list[Frame] = []
            at = 0
            while True:
                frame, at = self._next(data, at)
                if frame is None:
                    if at < len(data):
                        buf += data[at:]
                    return frames
                frames.append(frame)
        except ProtocolError:
            self._closed = True
            raise

    def _completed(self, buf: bytearray) -> bool:
        """Whether the buffered bytes now complete the frame they began (else: wait, within limits)."""
        if self._pending is not None:
            return len(buf) >= self._pending[1]
        end = buf.find(b"\n\n", max(0, self._scan - 1))
        if end >= 0:
            return True
        self._scan = len(buf)
        if len(buf) > self._max_header:
            raise ProtocolError(f"header block longer than {self._max_header} bytes")
        return False

    def _next(self, data: bytes, at: int) -> tuple[Frame | None, int]:
        """The frame starting at ``at`` and where the next one starts; (None, ``at``) if it is incomplete."""
        if self._pending is None:
            # FreeSWITCH never sends stray blank lines between frames, but some
            # clients do (``connect\n\n\n``); tolerate them on the command side.
            if self._commands:
                while data[at : at + 1] == b"\n":
                    at += 1
            end = data.find(b"\n\n", at)
            if end < 0:
                self._scan = len(data) - at
                if len(data) - at > self._max_header:
                    raise ProtocolError(f"header block longer than {self._max_header} bytes")
                return None, at
            if end - at > self._max_header:
                raise ProtocolError(f"header block longer than {self._max_header} bytes")
            block = data[at:end]
            known = None if self._commands else _known.get(block)
            if known is None:
                frame = self._frame(block)
                length_value = frame.raw_value("Content-Length")
                if end - at <= KNOWN_BLOCK_BYTES and not self._commands:
                    if len(_known) >= KNOWN_BLOCKS:
                        _known.clear()
                    _known[block] = (tuple(frame.raw_headers), frame.content_type, length_value)
            else:
                headers, content_type, length_value = known
                frame = Frame.parsed(list(headers), content_type)
            at = end + 2
            length = _content_length(length_value, self._max_body)
            if length == 0:
                return frame, at
            self._pending = (frame, length)
        frame, length = self._pending
        if len(data) - at < length:
            return None, at
        self._pending = None
        frame.body = data[at : at + length]
        return frame, at + length

    def _frame(self, block: bytes) -> Frame:
        if not block:
            raise ProtocolError("empty header block")
        line = None
        if self._commands:
            first, _, block = block.partition(b"\n")
            line = first.decode("utf-8", "surrogateescape")
            if not block:
                return Frame([], b"", line)
        if len(block) >= LAZY_BLOCK_BYTES and every_line_named(block):
            return Frame.from_block(block, b"", line)
        return Frame(split_header_lines(block), b"", line)


def _content_length(value: str | None, limit: int) -> int:
    if value is None:
        return 0
    if not value.isdigit() or len(value) > 12:
        raise ProtocolError(f"bad Content-Length {value[:20]!r}")
    length = int(value)
    if length > limit:
        raise ProtocolError(f"Content-Length {length} exceeds the limit of {limit} bytes")
    return length
