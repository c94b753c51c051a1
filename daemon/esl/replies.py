"""Frames FreeSWITCH writes to the application (the FreeSWITCH side of the codec).

Used by the emulator.  The byte layout follows ``mod_event_socket.c``:
replies are plain (not URL-encoded) header blocks; events are the output of
``switch_event_serialize`` (URL-encoded values, a blank line, an optional nested
``Content-Length`` body) wrapped in ``Content-Length`` + ``Content-Type``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from daemon.esl.encoding import check_safe, url_encode
from daemon.esl.frame import Header

DISCONNECT_GOODBYE = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def plain_block(headers: Iterable[Header]) -> bytes:
    """A header block with raw values (as in command/reply), blank line included."""
    return ("".join(f"{check_safe(k)}: {check_safe(v)}\n" for k, v in headers) + "\n").encode()


def encoded_block(headers: Iterable[Header]) -> bytes:
    """A header block with URL-encoded values, blank line included."""
    return ("".join(f"{k}: {url_encode(v)}\n" for k, v in headers) + "\n").encode()


def command_reply(reply_text: str, extra: Iterable[Header] = ()) -> bytes:
    return plain_block([("Content-Type", "command/reply"), ("Reply-Text", reply_text), *extra])


def api_response(body: str) -> bytes:
    data = body.encode()
    return f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data


def auth_request() -> bytes:
    return b"Content-Type: auth/request\n\n"


def event_plain_payload(headers: Iterable[Header], body: bytes = b"") -> bytes:
    """``switch_event_serialize`` output: encoded headers, then the nested body if any."""
    lines = "".join(f"{k}: {url_encode(v)}\n" for k, v in headers)
    if body:
        return f"{lines}Content-Length: {len(body)}\n\n".encode() + body
    return (lines + "\n").encode()


def event_plain(headers: Iterable[Header], body: bytes = b"") -> bytes:
    payload = event_plain_payload(headers, body)
    return f"Content-Length: {len(payload)}\nContent-Type: text/event-plain\n\n".encode() + payload


def event_json(headers: Iterable[Header], body: bytes = b"") -> bytes:
    data: dict[str, str] = dict(headers)
    if body:
        data["Content-Length"] = str(len(body))
        data["_body"] = body.decode("utf-8", "replace")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return f"Content-Length: {len(payload)}\nContent-Type: text/event-json\n\n".encode() + payload


def disconnect_linger(session_uuid: str, channel_name: str, linger_time: int) -> bytes:
    return plain_block(
        [
            ("Content-Type", "text/disconnect-notice"),
            ("Controlled-Session-UUID", session_uuid),
            ("Content-Disposition", "linger"),
            ("Channel-Name", channel_name),
            ("Linger-Time", str(linger_time)),
            ("Content-Length", "0"),
        ]
    )


def disconnect_final(session_uuid: str) -> bytes:
    head = plain_block(
        [
            ("Content-Type", "text/disconnect-notice"),
            ("Controlled-Session-UUID", session_uuid),
            ("Content-Disposition", "disconnect"),
            ("Content-Length", str(len(DISCONNECT_GOODBYE))),
        ]
    )
    return head + DISCONNECT_GOODBYE


def event_frame(payload: bytes, content_type: str = "text/event-plain") -> bytes:
    """Wrap an already serialized event payload (event-plain or event-json body)."""
    return f"Content-Length: {len(payload)}\nContent-Type: {content_type}\n\n".encode() + payload


def disconnect_inbound() -> bytes:
    """The notice an inbound connection gets after ``exit`` (no Controlled-Session-UUID)."""
    head = plain_block([("Content-Type", "text/disconnect-notice"), ("Content-Length", str(len(DISCONNECT_GOODBYE)))])
    return head + DISCONNECT_GOODBYE
