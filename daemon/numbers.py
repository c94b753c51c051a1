"""Japanese phone numbers, normalised in one place.

* :func:`national` -- what arrives from the trunk (caller IDs, dialled numbers):
  lenient, ``+81…``/``81…`` → ``0…``, None for anything that is not digits.
* :func:`normalise_number` -- what an operator types for a number we store
  (a caller's, a counsellor's, a service number): ``+81`` accepted and
  normalised, then checked: 10 digits (``03…``, ``06…``, ``0120…``) or 11
  (``050``/``070``/``080``/``090``/``0800``…).
* :func:`normalise_dialled_number` -- a number we ring (a counsellor's phone):
  the same, and never a premium-rate, caller-pays or M2M number.

Errors are :class:`pydantic_core.PydanticCustomError` (a ``ValueError``), so the
API and the CLI report them word for word.
"""

from __future__ import annotations

import re

from pydantic_core import PydanticCustomError

# Non-geographic prefixes whose numbers have 11 digits (0800 toll-free is among 080).
ELEVEN_DIGIT_PREFIXES = ("020", "050", "060", "070", "080", "090")
_TRUNK_DIGITS = re.compile(r"^[0-9]{1,15}$")


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
    if not _TRUNK_DIGITS.match(number):
        return None
    return number


def strip_country_code(value: str) -> str:
    value = value.strip()
    return "0" + value[3:] if value.startswith("+81") else value


def digits_only(value: str) -> bool:
    return value.isascii() and value.isdigit()


def normalise_number(value: str) -> str:
    """A Japanese number in national form: ``+81312345678`` → ``0312345678``.

    10 digits (``03…``, ``06…``, ``0120…``, ``0570…``) or 11 digits
    (``050…``, ``070…``, ``080…``, ``090…``, ``0800…``), digits only.
    """
    number = strip_country_code(value)
    if not digits_only(number):
        raise PydanticCustomError(
            "phone_number",
            "a phone number has digits only, without hyphens or spaces:"
            " national form 0312345678 or international form +81312345678",
        )
    if len(number) not in (10, 11) or number[0] != "0" or number[1] == "0":
        raise PydanticCustomError(
            "phone_number",
            "{number} is not a Japanese phone number: it must have 10 or 11 digits and start with 0"
            " (e.g. 0312345678, 0120123456, 08001234567) or with +81",
            {"number": number},
        )
    eleven = number.startswith(ELEVEN_DIGIT_PREFIXES)
    if eleven and len(number) != 11:
        raise PydanticCustomError(
            "phone_number",
            "{number} has {length} digits, but numbers starting with {prefix} have 11",
            {"number": number, "length": len(number), "prefix": number[:3]},
        )
    if not eleven and len(number) != 10:
        raise PydanticCustomError(
            "phone_number",
            "{number} has {length} digits, but numbers starting with {prefix} have 10"
            " (only 020, 050, 060, 070, 080 and 090 numbers have 11)",
            {"number": number, "length": len(number), "prefix": number[:3]},
        )
    return number


# We pay for calls we place: never to premium-rate or caller-pays services, nor to M2M numbers.
UNDIALLABLE_PREFIXES = {
    "0990": "a premium-rate (Dial Q2) number",
    "0570": "a caller-pays navigation number",
    "0180": "an information-service number",
    "020": "an M2M/pager number",
}


def normalise_dialled_number(value: str) -> str:
    """A number we ring (a counsellor's phone): :func:`normalise_number`, and no premium or M2M service."""
    number = normalise_number(value)
    for prefix, what in UNDIALLABLE_PREFIXES.items():
        if number.startswith(prefix):
            raise PydanticCustomError(
                "phone_number",
                "{number} is {what}; a counsellor needs a landline (03…, 06…), mobile (070/080/090) or 050 number",
                {"number": number, "what": what},
            )
    return number
