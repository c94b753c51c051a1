"""Reading what the caller keys, with FreeSWITCH's ``play_and_get_digits``; keys typed ahead are kept.

FreeSWITCH 1.10 (switch_ivr_play_say.c, mod_dptools, switch_ivr.c; captures
``typeahead_*``): a plain ``playback`` drops every digit keyed during it, and the
park loop drops digits keyed between two applications, but a digit keyed during
the *prompt* of ``play_and_get_digits`` stops the prompt and is collected.  So a
guidance that leads to a question is played as the question's ``lead_in``: one
``play_and_get_digits`` over ``file_string://lead.wav!question.wav``.  A regular
caller can key the group code while ``welcome`` still plays.

Timeouts are FreeSWITCH's: ``timeout_ms`` for the first digit once the prompts have
ended (or been cut short by a digit, then ``digit_timeout_ms``), ``digit_timeout_ms``
between digits.  Input ends at a terminator (``#`` by default) or at ``max_digits``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from daemon.calls import guidance
from daemon.calls.services import Prompts
from daemon.outbound.session import Session

_VAR = re.compile(r"^[a-z_]{1,32}$")
_KEYS = re.compile(r"^[0-9*#]+$")
#: Played after a try that got nothing valid; one try per call, so just a breath.
BAD_INPUT = "silence_stream://250"


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
    lead_in: Sequence[str] = (),
    terminators: str = "#",
    valid: str = r"\d+",
) -> str | None:
    """Play ``lead_in`` then ``prompt`` (names or absolute paths) and collect digits; None if nothing valid.

    One try per call: the flow decides what a wrong entry means.  Digits keyed
    during any of the prompts count.  The result comes back as ``variable_<var>``
    on the application's EXECUTE_COMPLETE; it must match ``valid`` (a regular
    expression FreeSWITCH applies too) and have ``min_digits``..``max_digits`` keys.
    """
    if not _VAR.match(var):
        raise ValueError(f"bad variable name {var!r}")
    if not _KEYS.match(terminators):
        raise ValueError(f"bad terminators {terminators!r}")
    if not 0 <= min_digits <= max_digits or any(ch.isspace() for ch in valid):
        raise ValueError("bad digit bounds or pattern")
    audio = guidance.sequence(prompts, [*lead_in, prompt])
    arg = f"{min_digits} {max_digits} 1 {timeout_ms} {terminators} {audio} {BAD_INPUT} {var} {valid} {digit_timeout_ms}"
    done = await session.execute("play_and_get_digits", arg)
    digits = done.get(f"variable_{var}") or ""
    if not min_digits <= len(digits) <= max_digits or not _KEYS.match(digits) or not re.search(valid, digits):
        return None
    return digits


async def read_choice(
    session: Session,
    prompts: Prompts,
    prompt: str,
    choices: str,
    *,
    var: str = "menu_choice",
    lead_in: Sequence[str] = (),
    timeout_ms: int = 5000,
) -> str | None:
    """A menu: one key among ``choices`` (digits and ``*``; ``#`` ends input), or None.

    The key may be pressed during the prompts; another key or silence gives None.
    """
    if not choices or not _KEYS.match(choices) or "#" in choices:
        raise ValueError(f"bad menu choices {choices!r}")
    pattern = "^[" + re.escape(choices) + "]$"
    return await read_digits(
        session,
        prompts,
        prompt,
        var=var,
        min_digits=1,
        max_digits=1,
        timeout_ms=timeout_ms,
        digit_timeout_ms=timeout_ms,
        lead_in=lead_in,
        valid=pattern,
    )
