"""Numbers as the caller hears them: prompt names of the number pieces (see :mod:`daemon.prompts.catalog`).

Japanese counts in groups of four digits: 12,345 is いちまん・にせん・さんびゃく・
よんじゅう・ご.  Each group reads its non-zero digits by place (``num_2000``,
``num_300``, ``num_40``, ``num_5``) and, above the lowest group, its word
(``num_man`` 万, ``num_oku`` 億).  A one in the thousands, hundreds or tens is
just the place (千, 百, 十), which the pieces ``num_1000``, ``num_100`` and
``num_10`` say; a lone one in a group's units before 万 or 億 is said (いちまん).
"""

from __future__ import annotations

from typing import Final

#: The group words, lowest first; 1e12 and beyond are never money here (MAX_BALANCE_YEN is 1e9).
_GROUPS: Final = ("", "num_man", "num_oku")
LARGEST: Final = 10 ** (4 * len(_GROUPS)) - 1


def number(n: int) -> list[str]:
    """The pieces that say ``n`` (0 <= n <= :data:`LARGEST`)."""
    if not 0 <= n <= LARGEST:
        raise ValueError(f"{n} cannot be spoken (0 to {LARGEST})")
    if n == 0:
        return ["num_0"]
    pieces: list[str] = []
    for place in reversed(range(len(_GROUPS))):
        group = n // 10 ** (4 * place) % 10_000
        if group:
            pieces += _group(group)
            if _GROUPS[place]:
                pieces.append(_GROUPS[place])
    return pieces


def _group(group: int) -> list[str]:
    """1..9999: one piece per non-zero digit, by its place."""
    pieces = []
    for place in (3, 2, 1, 0):
        digit = group // 10**place % 10
        if digit:
            pieces.append(f"num_{digit}{'0' * place}")
    return pieces


def code(digits: str) -> list[str]:
    """A keypad code: as a number (12: じゅうに), or digit by digit when it starts with 0 (012: ゼロ・いち・に)."""
    if not digits.isdigit():
        raise ValueError(f"{digits!r} is not a keypad code")
    if digits.startswith("0") and len(digits) > 1:
        return [f"num_{d}" for d in digits]
    return number(int(digits))
