"""Header value encoding, exactly as FreeSWITCH does it.

FreeSWITCH URL-encodes event header values with ``switch_url_encode``: every
byte below space or above ``~`` and every byte of ``SWITCH_URL_UNSAFE`` becomes
``%XX`` (upper-case hex); everything else is written as it is.  Decoding is done
per value, after the header block was split into lines, never on the block.
"""

from urllib.parse import unquote_to_bytes

from daemon.esl.errors import UnsafeValueError

# SWITCH_URL_UNSAFE from switch_utils.h
_UNSAFE = b'\r\n "#%&+:;<=>?@[\\]^`{|}'
_TABLE: list[str] = []
for _byte in range(256):
    if _byte < 0x20 or _byte > 0x7E or _byte in _UNSAFE:
        _TABLE.append(f"%{_byte:02X}")
    else:
        _TABLE.append(chr(_byte))
_SAFE_ASCII = frozenset(chr(b) for b in range(256) if len(_TABLE[b]) == 1)


def url_encode(value: str) -> str:
    """Encode a header value the way FreeSWITCH encodes event headers."""
    if _SAFE_ASCII.issuperset(value):
        return value
    return "".join([_TABLE[b] for b in value.encode("utf-8", "surrogateescape")])


def url_decode(value: str) -> str:
    """Decode one header value (``%XX`` only; ``+`` stays a plus sign)."""
    if "%" not in value:
        return value
    # surrogateescape both ways: a value holding bytes that are not UTF-8 (kept as
    # lone surrogates by the parser) decodes instead of raising UnicodeEncodeError
    return unquote_to_bytes(value.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")


def check_safe(value: str, what: str = "value") -> str:
    """Refuse a value that would end the command line early.

    FreeSWITCH does not decode command headers, so a CR or LF inside anything we
    write (a caller ID, digits, a name) would start a new command on the wire.
    A NUL would truncate the C string.  Returns the value so calls can be chained.
    """
    if "\n" in value or "\r" in value or "\x00" in value:
        raise UnsafeValueError(f"{what} contains CR, LF or NUL and cannot be sent: {value!r}")
    return value
