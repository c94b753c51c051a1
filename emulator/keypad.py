"""``play_and_get_digits``: switch_play_and_get_digits / switch_ivr_read / switch_ivr_collect_digits_count.

What FreeSWITCH 1.10 does (switch_ivr_play_say.c, switch_ivr.c), and the captures show:

* each try plays the prompt with a digit buffer as input: the first digit keyed
  during the prompt stops it and is kept (typeahead_file_string: a digit keyed during
  the first file of ``file_string://welcome.wav!choose_group.wav`` was collected);
* then it collects from the channel's DTMF queue: first digit within ``timeout``
  (``digit_timeout`` if the prompt already got one), the next ones within
  ``digit_timeout``; a terminator ends it, so does ``max`` digits;
* ``read_result`` is ``success`` (terminator or max), ``timeout``, or ``failure``
  (fewer than ``min``); the variable is set whenever digits were collected, even on
  a timeout (``variable_group_code: 1`` with ``read_result: timeout``);
* a try that yields nothing valid plays the bad-input file (also after the last try)
  and the next try starts; a regex mismatch clears the variable and sets ``<var>_invalid``.

Nothing here flushes the queue: a digit is lost when an application before it
dropped it (a ``playback``: typeahead_lost) or the park loop did between two
applications (:meth:`emulator.session.Session.serve`).

The scripted :class:`~emulator.script.Keys` of a try are keyed from the moment its
prompt stops, while that try collects.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from emulator.media import media_duration, play
from emulator.script import Keys

if TYPE_CHECKING:
    from emulator.session import Session

Status = Literal["success", "timeout", "too_small", "failure", "notfound"]


def _number(text: str) -> int:
    return int(text) if text.isdigit() else 0


async def play_and_get_digits(s: Session, arg: str) -> None:
    """``min max tries timeout terminators prompt invalid var regex [digit_timeout]``."""
    argv = arg.split()
    if len(argv) < 9:
        s.error(f"play_and_get_digits: expected at least 9 arguments, got {arg!r}")
        return
    min_d, max_d, tries, timeout_ms = (_number(x) for x in argv[:4])
    terminators, prompt, invalid, var_name, pattern = argv[4:9]
    digit_timeout_ms = _number(argv[9]) if len(argv) > 9 else 0
    ch = s.ch
    if pattern and var_name:
        ch.set_var(f"{var_name}_invalid", None)
    while not s.is_down and tries > 0:
        status, digits = await read(
            s,
            min_d,
            max_d,
            prompt,
            var_name,
            timeout_ms=timeout_ms,
            terminators=terminators,
            digit_timeout_ms=digit_timeout_ms,
        )
        if s.is_down:
            return
        if status == "timeout" and len(digits) >= min_d:
            status = "success"
        if min_d == 0 and not digits and ch.get_var("read_terminator_used"):
            return
        if status == "success" and digits:
            if not pattern or re.search(pattern, digits):
                return
            ch.set_var(var_name, None)
            ch.set_var(f"{var_name}_invalid", digits)
        bad = media_duration(invalid) if invalid else None
        if bad is not None and await play(s, bad) == "down":
            return
        tries -= 1


async def read(
    s: Session,
    min_d: int,
    max_d: int,
    prompt: str,
    var_name: str,
    *,
    timeout_ms: int,
    terminators: str,
    digit_timeout_ms: int,
) -> tuple[Status, str]:
    """``switch_ivr_read``: one try; returns its status and the digits it kept."""
    ch = s.ch
    digit_timeout_ms = digit_timeout_ms or timeout_ms
    max_d = max(max_d, min_d)
    ch.set_var("read_result", None)
    if var_name:
        ch.set_var(var_name, None)
    typed: list[str] = []
    status: Status = "success"
    if prompt and prompt.lower() != "silence":
        length = media_duration(prompt)
        if length is None:
            s.error(f"play_and_get_digits: prompt not found: {prompt!r}")
            return "notfound", ""

        def keep(digit: str) -> bool:
            typed.append(digit)
            return True

        if await play(s, length, keep) == "down":
            return "failure", ""
    buffer = "".join(typed)
    keys = s.next_keys()
    terminator = ""
    if (min_d and len(buffer) < min_d) or len(buffer) < max_d:
        first_ms = digit_timeout_ms if buffer else timeout_ms
        status, buffer, terminator = await collect(
            s, keys, buffer, max_d, terminators, first_s=first_ms / 1000, digit_s=digit_timeout_ms / 1000
        )
    if s.is_down:
        return "failure", buffer
    if terminator:
        ch.set_var("read_terminator_used", terminator)
    elif terminators.startswith("="):
        status = "too_small"  # a terminator was required
    if min_d and len(buffer) < min_d:
        status = "too_small"
    ch.set_var("read_result", status if status in ("success", "timeout") else "failure")
    if max_d == 1 and len(buffer) == 1 and buffer in terminators:
        buffer = ""
    if var_name and buffer:
        ch.set_var(var_name, buffer)
    return status, buffer


async def collect(
    s: Session, keys: Keys | None, buffer: str, max_d: int, terminators: str, *, first_s: float, digit_s: float
) -> tuple[Status, str, str]:
    """``switch_ivr_collect_digits_count``: (status, digits, terminator) from the DTMF queue."""
    for index, digit in enumerate(buffer):
        if digit in terminators:
            return "success", buffer[:index], digit
    presses = []
    if keys is not None and keys.digits:
        at = 0.0
        for index, digit in enumerate(keys.digits):
            at += keys.delay if index == 0 else keys.interval
            presses.append(s.loop.call_later(at, s.dtmf, digit))
    try:
        limit = first_s
        since = s.loop.time()
        while True:
            if s.dtmf_queue:
                limit, since = digit_s, s.loop.time()
                while s.dtmf_queue:
                    digit = s.dtmf_queue.popleft()
                    if digit in terminators:
                        return "success", buffer, digit
                    buffer += digit
                    if len(buffer) >= max_d:
                        return "success", buffer, ""
            left = limit - (s.loop.time() - since)
            if left <= 0:
                return "timeout", buffer, ""
            if await s.app_wait(s.wait(left, s.dtmf_arrival())) == "down":
                return "failure", buffer, ""
    finally:
        for press in presses:
            press.cancel()
