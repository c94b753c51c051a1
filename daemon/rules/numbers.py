"""Japanese phone numbers, normalised in one place.

* :func:`national` -- what arrives from the trunk (caller IDs, dialled numbers):
  lenient, ``+81…``/``81…`` → ``0…``, None for anything that is not digits.
* :func:`normalise_number` -- what an operator types for a number we store
  (a caller's, a counsellor's, a service number): ``+81`` accepted and
  normalised, then checked: 10 digits (``03…``, ``06…``, ``0120…``) or 11
  (``050``/``070``/``080``/``090``/``0800``…).
* :func:`loose_number` -- what a person types (``03-1234-5678``,
  ``０３ １２３４ ５６７８``, ``(03)1234-5678``): hyphens, spaces and brackets
  dropped, full-width digits made ASCII, before the checks above.
  :func:`typed_number` applies it to every number the service layer's input
  models take, so the API, the CLI and the console read a number alike.
* :func:`normalise_dialled_number` -- a number we ring (a counsellor's phone):
  the same, and allowed by the destination policy (:mod:`daemon.rules.destinations`).

Errors are :class:`pydantic_core.PydanticCustomError` (a ``ValueError``), so the
API and the CLI report them word for word.
"""

from __future__ import annotations

import re
import unicodedata

from pydantic_core import PydanticCustomError

from daemon.rules import destinations

ELEVEN_DIGIT_PREFIXES = destinations.ELEVEN_DIGIT_PREFIXES
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


# Hyphens and dashes people type between digit groups (ASCII, full-width, Japanese long vowel mark), brackets and
# spaces (full-width and no-break ones are spaces after NFKC).  Not tabs nor line breaks: a number with a CR/LF
# inside is refused, never made whole.
_SEPARATORS = re.compile(r"[ \-‐‑‒–—―−ー()]")


def loose_number(value: str) -> str:
    """A number as a person types it, in the form the checks read: ``０３-1234 5678`` → ``0312345678``.

    Only separators go and full-width characters become ASCII (NFKC); anything
    else stays, so :func:`normalise_number` still names what is wrong.
    """
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))


def typed_number(value: object) -> object:
    """:func:`loose_number` as a pydantic ``BeforeValidator``: a string is read as typed, anything else goes
    on unchanged to the strict checks (a JSON number is refused as not a string, not converted)."""
    return loose_number(value) if isinstance(value, str) else value


def loose_numbers(text: str) -> list[str]:
    """Several numbers typed in one field, one a line or separated by commas (or by spaces
    between whole numbers): each as :func:`loose_number` reads it.  ``03 1234 5678`` is one."""
    found: list[str] = []
    for piece in re.split(r"[\n,、;]+", text):
        parts = piece.split()
        if len(parts) > 1 and all(len(loose_number(p)) >= 10 for p in parts):
            found.extend(loose_number(p) for p in parts)
        elif piece.strip():
            found.append(loose_number(piece))
    return found


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
            "a phone number has digits only (hyphens, spaces and brackets between them are dropped):"
            " national form 0312345678 or international form +81312345678",
            {"japanese": "電話番号に数字以外の文字があります（例: 03-1234-5678、+81312345678）"},
        )
    if len(number) not in (10, 11) or number[0] != "0" or number[1] == "0":
        raise PydanticCustomError(
            "phone_number",
            "{number} is not a Japanese phone number: it must have 10 or 11 digits and start with 0"
            " (e.g. 0312345678, 0120123456, 08001234567) or with +81",
            {
                "number": number,
                "japanese": f"{number} は日本の電話番号ではありません。0から始まる10桁か11桁で入力してください"
                "（例: 0312345678、09012345678）",
            },
        )
    eleven = number.startswith(ELEVEN_DIGIT_PREFIXES)
    if eleven and len(number) != 11:
        raise PydanticCustomError(
            "phone_number",
            "{number} has {length} digits, but numbers starting with {prefix} have 11",
            {
                "number": number,
                "length": len(number),
                "prefix": number[:3],
                "japanese": f"{number} は{len(number)}桁です。{number[:3]}で始まる番号は11桁です",
            },
        )
    if not eleven and len(number) != 10:
        raise PydanticCustomError(
            "phone_number",
            "{number} has {length} digits, but numbers starting with {prefix} have 10"
            " (only 020, 050, 060, 070, 080 and 090 numbers have 11)",
            {
                "number": number,
                "length": len(number),
                "prefix": number[:3],
                "japanese": f"{number} は{len(number)}桁です。{number[:3]}で始まる番号は10桁です"
                "（11桁は020・050・060・070・080・090で始まる番号だけです）",
            },
        )
    return number


def normalise_dialled_number(value: str) -> str:
    """A number we ring (a counsellor's phone): :func:`normalise_number`, and allowed by
    :mod:`daemon.rules.destinations`.

    A refusal names its reason (``destination_premium_rate``…); a malformed
    number keeps :func:`normalise_number`'s precise wording.  International
    numbers are refused here: only an IVR forward may ring abroad, by contract.
    """
    refused = destinations.refusal(destinations.stored_form(value))
    if refused is not None and refused.code != destinations.NOT_A_NUMBER:
        raise destinations.error(refused)
    return normalise_number(value)
