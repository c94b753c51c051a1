"""Why a call attempt was refused, in the words the console and the CSV show.

The keys are the ``call_attempts.reason`` values (sql/021_attempts.sql); the
order is the order of a call: the number, the lines, the block list, then
Coaching Dial's identification, choice, money and counsellors.
"""

from __future__ import annotations

from typing import Final

REASONS: Final[dict[str, str]] = {
    "not_in_service": "使われていない番号",
    "unavailable": "障害で受付不可",
    "lines_full": "回線がすべて使用中",
    "blocked": "着信拒否",
    "unknown_caller": "未登録の発信者",
    "wrong_pin": "暗証番号の誤り",
    "no_group": "番号の選択なし",
    "no_money": "残高不足",
    "all_busy": "相談員がすべて通話中",
}

#: The refusal guidance of call entry (daemon/calls/entry.py) → the reason on record.
ENTRY_REASONS: Final[dict[str, str]] = {
    "not_in_service": "not_in_service",
    "busy": "lines_full",
    "unavailable": "unavailable",
    "protocol": "unavailable",
    "blocked": "blocked",
}


def words(reason: str) -> str:
    """The reason in Japanese; an unknown key as it is (a newer node's reason)."""
    return REASONS.get(reason, reason)
