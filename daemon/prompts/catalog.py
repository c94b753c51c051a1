"""The guidance prompts: name -> Japanese text read by the synthesiser.

Texts are polite telephone Japanese (丁寧語/謙譲語 as used by carriers' and call centres'
announcements). Each text was checked with ``pyopenjtalk.g2p(text, kana=True)`` for its
reading (e.g. 暗証番号 アンショーバンゴー, 1分 イップン, 10分 ジュップン, 60分 ロクジュップン).
Changing a text here is enough: ``PromptLibrary.ensure()`` notices the change (the
manifest keeps a hash of each text) and regenerates that WAV.

Announcing an approximate number of minutes
-------------------------------------------
Rather than splicing ``prefix + number + suffix`` recordings (three files, each with its
own silence padding and its own sentence intonation, which sounds robotic when played
back to back), every possible announcement is a whole sentence of its own:
``minutes_0`` .. ``minutes_59`` and ``minutes_60plus``. One ``playback``, natural
prosody, correct counter readings (イップン, サンプン, ロップン, ジュップン ...). The cost is
61 short files (~35 KB each) generated once at first start. Use :func:`minutes_prompt`
to pick the name: it rounds *down*, so the caller is never promised more time than is
left (5.9 minutes is announced as およそ5分).

The low-balance warning inside the talk
---------------------------------------
Played ``warning_seconds`` (0-600, default 60) before the cutoff, or at once when the
deadline comes closer than that: it says what is really left, from a bucket per
remaining time, rounded down: ``balance_warning_1m`` .. ``balance_warning_10m`` (minutes),
``balance_warning_10s`` .. ``balance_warning_50s`` (tens of seconds), and
``balance_warning`` under ten seconds ("まもなく", soon). Use :func:`warning_prompt`.
"""

from __future__ import annotations

import math
from typing import Final

_RETRY_LATER: Final = "恐れ入りますが、しばらくたってからおかけ直しください。"

# Largest minute count announced exactly; anything at or above MINUTES_CAP is "60分以上".
MINUTES_CAP: Final = 60

_BASE: Final[dict[str, str]] = {
    # --- line admission / number state (all products) ---------------------------------------
    "busy": "ただいま回線が大変混み合っております。" + _RETRY_LATER,
    "not_in_service": ("おかけになった電話番号は、現在使われておりません。番号をお確かめのうえ、おかけ直しください。"),
    # Also the FreeSWITCH dialplan's fail-closed fallback when the daemon is down: kept short.
    "unavailable": (
        "申し訳ございません。ただいま障害のため、一時的にご利用いただけません。しばらくたってからおかけ直しください。"
    ),
    # The caller is on the tenant's block list (a carrier's 着信拒否 wording).
    "call_declined": "おかけになった電話番号への通話は、おつなぎできません。",
    # --- Coaching Dial -------------------------------------------------------------------------
    "greeting": "お電話ありがとうございます。",  # product-neutral (the interim IVR flow)
    "welcome": "お電話ありがとうございます。コーチングダイヤルです。",
    "not_registered": ("お客様の電話番号は、ご登録がございません。お手数ですが、ご登録のうえ、おかけ直しください。"),
    "enter_pin": "暗証番号を入力し、最後にシャープを押してください。",
    "invalid_pin": "暗証番号が正しくありません。",
    "insufficient_balance": (
        "ご利用残高が不足しているため、おつなぎできません。残高をご確認のうえ、おかけ直しください。"
    ),
    "choose_group": "ご希望のカウンセラー番号を入力し、最後にシャープを押してください。",
    "invalid_code": "入力された番号が正しくありません。",
    "goodbye": "ご利用ありがとうございました。失礼いたします。",
    "all_counsellors_busy": "ただいま、カウンセラーはすべて通話中です。" + _RETRY_LATER,
    "connecting": "カウンセラーにおつなぎします。そのまま、しばらくお待ちください。",
    "balance_exhausted": ("ご利用残高がなくなりましたので、通話を終了いたします。ご利用ありがとうございました。"),
}


def _minutes_prompts() -> dict[str, str]:
    prompts = {"minutes_0": "ご利用可能時間は1分未満です。"}
    for n in range(1, MINUTES_CAP):
        prompts[f"minutes_{n}"] = f"ご利用可能時間はおよそ{n}分です。"
    prompts["minutes_60plus"] = f"ご利用可能時間は{MINUTES_CAP}分以上です。"
    return prompts


# Largest number of minutes a warning names (warning_seconds is at most 600).
WARNING_MINUTES_CAP: Final = 10
# A timer fires a few ms late and the prompt starts a moment after the request:
# "about a minute" is still true with 59.6 s left.
WARNING_TOLERANCE_S: Final = 0.5


def _warning_prompts() -> dict[str, str]:
    prompts = {"balance_warning": "まもなく、ご利用可能時間が終了いたします。"}
    for tens in range(10, 60, 10):
        prompts[f"balance_warning_{tens}s"] = f"ご利用可能時間は、残りおよそ{tens}秒です。"
    for n in range(1, WARNING_MINUTES_CAP + 1):
        prompts[f"balance_warning_{n}m"] = f"ご利用可能時間は、残りおよそ{n}分です。"
    return prompts


PROMPTS: Final[dict[str, str]] = {**_BASE, **_minutes_prompts(), **_warning_prompts()}


def minutes_prompt(minutes: float) -> str:
    """Name of the prompt announcing about ``minutes`` of talk time (rounded down).

    Under one minute (or a negative/NaN value) -> ``minutes_0`` (1分未満); 60 or more ->
    ``minutes_60plus``.
    """
    if math.isnan(minutes) or minutes < 1:
        return "minutes_0"
    if minutes >= MINUTES_CAP:
        return "minutes_60plus"
    return f"minutes_{math.floor(minutes)}"


def warning_prompt(seconds_left: float) -> str:
    """Name of the low-balance warning for ``seconds_left`` of talk (rounded down to its bucket).

    ``WARNING_TOLERANCE_S`` absorbs the timer's own lateness; 10 minutes or more is
    announced as ``balance_warning_10m``.
    """
    if math.isnan(seconds_left):
        return "balance_warning"
    left = seconds_left + WARNING_TOLERANCE_S
    if left >= 60:
        return f"balance_warning_{min(WARNING_MINUTES_CAP, math.floor(left / 60))}m"
    if left >= 10:
        return f"balance_warning_{math.floor(left / 10) * 10}s"
    return "balance_warning"
