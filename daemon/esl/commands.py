"""Commands the application writes to FreeSWITCH (the app side of the codec).

Every value is checked with :func:`check_safe` before it is written: FreeSWITCH
reads commands line by line and does not decode them, so a CR or LF smuggled in
through a caller ID or a digit string would become a command of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from daemon.esl.encoding import check_safe
from daemon.esl.frame import Header


def command(line: str, headers: Iterable[Header] = (), body: bytes = b"") -> bytes:
    """One command: its line, optional ``Name: value`` headers, optional body."""
    parts = [check_safe(line, "command"), "\n"]
    for name, value in headers:
        parts += [check_safe(name, "header name"), ": ", check_safe(value, name), "\n"]
    if body:
        parts += ["Content-Length: ", str(len(body)), "\n"]
    parts.append("\n")
    return "".join(parts).encode() + body


def connect() -> bytes:
    return b"connect\n\n"


def myevents(fmt: str = "plain") -> bytes:
    return b"myevents\n\n" if fmt == "plain" else command(f"myevents {fmt}")


def linger(seconds: int | None = None) -> bytes:
    if seconds is None:
        return b"linger\n\n"
    if seconds < 0:
        raise ValueError("linger seconds must be >= 0")
    return command(f"linger {seconds}")


def nolinger() -> bytes:
    return b"nolinger\n\n"


def api(cmd: str) -> bytes:
    return command(f"api {cmd}")


def bgapi(cmd: str, job_uuid: str | None = None) -> bytes:
    headers = [("Job-UUID", job_uuid)] if job_uuid else []
    return command(f"bgapi {cmd}", headers)


def execute(
    app: str,
    arg: str | None,
    event_uuid: str,
    *,
    event_lock: bool = True,
    uuid: str | None = None,
    loops: int | None = None,
) -> bytes:
    """``sendmsg`` that runs a dialplan application on the channel.

    The completion is the CHANNEL_EXECUTE_COMPLETE whose ``Application-UUID``
    equals ``event_uuid``.  ``loops`` runs the application that many times
    (``-1``: until it is broken); mod_event_socket sends EXECUTE and
    EXECUTE_COMPLETE for every pass, all with the one ``Application-UUID``
    (the ``hold_loops_break`` capture).
    """
    headers: list[Header] = [("call-command", "execute"), ("execute-app-name", app)]
    if arg is not None and arg != "":
        headers.append(("execute-app-arg", arg))
    if loops is not None:
        headers.append(("loops", str(loops)))
    if event_lock:
        headers.append(("event-lock", "true"))
    headers.append(("Event-UUID", event_uuid))
    return command(f"sendmsg {uuid}" if uuid else "sendmsg", headers)


def hangup(cause: str = "NORMAL_CLEARING", *, uuid: str | None = None) -> bytes:
    return command(
        f"sendmsg {uuid}" if uuid else "sendmsg",
        [("call-command", "hangup"), ("hangup-cause", cause)],
    )


def filter_(header: str, value: str) -> bytes:
    """Only events whose ``header`` equals ``value`` (``filter Unique-ID <uuid>``)."""
    return command(f"filter {header} {value}")


def event(fmt: str, names: Iterable[str]) -> bytes:
    return command(" ".join(["event", fmt, *names]))


@functools.cache
def nixevent(names: tuple[str, ...]) -> bytes:
    """Unsubscribe (``nixevent CHANNEL_STATE …``); cached: an outbound socket sends the same list every call."""
    if not names:
        raise ValueError("nixevent needs at least one event name")
    return command(" ".join(["nixevent", *[check_safe(name, "event name") for name in names]]))


def auth(password: str) -> bytes:
    return command(f"auth {password}")


def exit_() -> bytes:
    return b"exit\n\n"
