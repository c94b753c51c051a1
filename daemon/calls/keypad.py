"""Reading digits the caller keys, with FreeSWITCH's ``play_and_get_digits``."""

from __future__ import annotations

import re

from daemon.calls.services import Prompts
from daemon.outbound.session import Session

_VAR = re.compile(r"^[a-z_]{1,32}$")


async def read_digits(
    session: Session,
    prompts: Prompts,
    prompt: str,
    *,
    var: str,
    min_digits: int = 1,
    max_digits: int = 6,
    timeout_ms: int = 7000,
    digit_timeout_ms: int = 3000,
) -> str | None:
    """Play ``prompt`` and collect digits ending with ``#`` (or the timeout); None if nothing valid.

    One try per call: the flow decides what a wrong entry means.  The result
    comes back as ``variable_<var>`` on the application's EXECUTE_COMPLETE.
    """
    if not _VAR.match(var):
        raise ValueError(f"bad variable name {var!r}")
    path = prompts.path(prompt)
    if any(ch.isspace() for ch in path):
        raise ValueError(f"prompt path {path!r} contains white space; play_and_get_digits splits on it")
    arg = f"{min_digits} {max_digits} 1 {timeout_ms} # {path} silence_stream://250 {var} \\d+ {digit_timeout_ms}"
    done = await session.execute("play_and_get_digits", arg)
    digits = done.get(f"variable_{var}") or ""
    if not digits.isdigit() or not min_digits <= len(digits) <= max_digits:
        return None
    return digits
