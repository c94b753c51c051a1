"""What must hold for ANY bytes a peer sends us, whatever they are.

One function, :func:`check_stream`, feeds a byte stream to the parser twice (all
at once, and cut into pieces) and checks:

* nothing but :class:`~daemon.esl.ProtocolError` ever escapes (anything else is a crash);
* both ways agree: the same frames, and an error either both times or neither;
* the frames serialize back to bytes that parse to the very same frames (``Name:`` with no
  value is the one spelling that comes back normalised, as ``Name: ``);
* what stays buffered is bounded by the parser's limits (memory cannot grow without bound);
* no header can be forged: the headers of a frame or of an event are exactly the
  ``Name: value`` lines on the wire.  A URL-encoded ``%0A`` inside a value decodes
  to a newline *inside that value*; it never starts a header of its own (the
  forgery that decoding the whole block before splitting it allows).

Used by the atheris target (:mod:`fuzz.esl_parser`) and the smoke test.
"""

from __future__ import annotations

from daemon.esl import Frame, Parser, ProtocolError
from daemon.esl.encoding import url_decode

MAX_HEADER = 4096
MAX_BODY = 65536


def _parse(data: bytes, piece: int, *, commands: bool) -> tuple[list[Frame], Parser, bool]:
    parser = Parser(max_header_bytes=MAX_HEADER, max_body_bytes=MAX_BODY, commands=commands)
    frames: list[Frame] = []
    failed = False
    try:
        for start in range(0, len(data), piece):
            frames += parser.feed(data[start : start + piece])
            assert parser.buffered <= MAX_HEADER + MAX_BODY + 2, "parser buffers past its limits"
    except ProtocolError:
        failed = True
    return frames, parser, failed


def _wire_names(block: bytes) -> list[str]:
    """Header names exactly as the lines on the wire give them."""
    if not block:
        return []
    names = []
    for line in block.decode("utf-8", "surrogateescape").split("\n"):
        name, sep, _ = line.partition(": ")
        names.append(name if sep else line[:-1])
    return names


def check_frame(frame: Frame) -> None:
    """No forged headers in the frame, nor in the event it carries."""
    first: dict[str, str] = {}
    for name, raw in frame.raw_headers:
        assert "\n" not in raw and "\n" not in name, "a raw header spans lines"
        first.setdefault(name, raw)
    assert [k for k, _ in frame.headers()] == [k for k, _ in frame.raw_headers]
    for name in (frame.raw_headers[0][0], frame.raw_headers[-1][0]) if frame.raw_headers else ():
        assert frame.get(name) == url_decode(first[name])
    if frame.content_type != "text/event-plain":
        return
    try:
        event = frame.event()
        items = list(event.items())
    except ProtocolError:
        return
    end = frame.body.find(b"\n\n")
    wire = _wire_names(frame.body[:end]) if end > 0 else []
    names = [k for k, _ in items]
    on_wire = set(wire)
    assert on_wire.issuperset(names), f"event headers {set(names) - on_wire} were not on the wire"
    for _name, value in items:
        if "\n" in value:
            for inner in value.split("\n")[1:]:
                forged, sep, _ = inner.partition(": ")
                if sep and forged not in on_wire:
                    assert event.get(forged) is None, f"decoded value forged header {forged!r}"


def check_stream(data: bytes, piece: int, *, commands: bool = False) -> None:
    """All the properties above for one input; raises AssertionError on a violation."""
    piece = max(1, piece)
    whole, parser, failed_whole = _parse(data, len(data) or 1, commands=commands)
    split, _, failed_split = _parse(data, piece, commands=commands)
    assert failed_whole == failed_split, "fragmentation changed whether the stream is valid"
    if failed_whole:
        return  # frames before the bad one may be returned by one way and not the other
    serialized = [f.to_bytes() for f in whole]
    assert serialized == [f.to_bytes() for f in split]
    again, _, failed_again = _parse(b"".join(serialized), 1 << 20, commands=commands)
    assert not failed_again and [f.to_bytes() for f in again] == serialized, "serialization does not round-trip"
    for frame in whole:
        check_frame(frame)
    assert parser.buffered <= len(data)
