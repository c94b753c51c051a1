"""Phone numbers as they arrive from the trunk."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^[0-9]{1,15}$")


def national(number: str) -> str | None:
    """Normalise a dialled number to national digits: ``+81312345678`` → ``0312345678``.

    Returns None for anything that is not a plain phone number (letters, SIP
    junk, control characters), so it can never reach SQL or an ESL command.
    """
    number = number.strip()
    if number.startswith("+81"):
        number = "0" + number[3:]
    elif number.startswith("81") and len(number) in (11, 12):
        number = "0" + number[2:]
    if not _DIGITS.match(number):
        return None
    return number
