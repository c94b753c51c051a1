"""The guidance prompts: name -> Japanese text read by the synthesiser.

Texts are polite telephone Japanese (丁寧語/謙譲語 as used by carriers' and call centres'
announcements). Each text was checked with ``pyopenjtalk.g2p(text, kana=True)`` for its
reading (e.g. 暗証番号 アンショーバンゴー, 1分 イップン, 10分 ジュップン, 60分 ロクジュップン,
1番目 イチバンメ, 21番目以降 ニジューイチバンメイコー).
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

The same holds for a waiting caller's place in the line: ``queue_position_1`` ..
``queue_position_20`` and ``queue_position_more`` (:func:`queue_position_prompt`).

Speaking yen amounts
--------------------
A balance is any number up to a billion yen: no set of whole sentences covers it, so
it is spoken from pieces, one per non-zero digit at its place in a group of four
(``num_3000`` さんぜん, ``num_300`` さんびゃく, ``num_30`` サンジュー, ``num_3``
サン) and the group's word (``num_man`` まん, ``num_oku`` おく), between two
sentence pieces (``balance_is`` … ``yen_desu``); see :mod:`daemon.prompts.spoken`.
Each piece carries its own sound change (さんびゃく, はっぴゃく, さんぜん), which a
digit-by-digit reading would get wrong.  The pieces are rendered *joined*
(:data:`JOINED`): no lead silence and 30 ms after, where a sentence prompt has
200 ms / 300 ms, so an amount runs on like one word rather than a list.  39 short files made once, played in one
``playback`` of a ``file_string``: nothing is synthesised while a caller waits
(a call-time synthesis costs a few hundred ms of one of our two cores per
request and a second process on the call path), and the pieces sound the same
on every node.  The price is a slightly clipped, list-like delivery, acceptable
for a figure the caller asked for.

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
    "choose_group": (
        "ご希望のカウンセラー番号を入力し、最後にシャープを押してください。"
        "残高とご利用可能時間は、米印に続けてカウンセラー番号を押すと、お聞きいただけます。"
    ),
    "invalid_code": "入力された番号が正しくありません。",
    "goodbye": "ご利用ありがとうございました。失礼いたします。",
    "all_counsellors_busy": "ただいま、カウンセラーはすべて通話中です。" + _RETRY_LATER,
    "connecting": "カウンセラーにおつなぎします。そのまま、しばらくお待ちください。",
    "balance_exhausted": ("ご利用残高がなくなりましたので、通話を終了いたします。ご利用ありがとうございました。"),
    # --- Coaching Dial: the waiting line of a busy group ----------------------------------------
    "queue_offer": (
        "ただいま、カウンセラーはすべて通話中です。順番にお待ちいただく場合は1を、おやめになる場合は2を押してください。"
    ),
    "queue_joined": "順番におつなぎいたします。お待ちいただくのをおやめになる場合は、シャープを押してください。",
    "queue_full": "ただいま、お待ちのお客様が大変多いため、おつなぎできません。" + _RETRY_LATER,
    "queue_timeout": "大変お待たせいたしましたが、ただいまおつなぎできません。" + _RETRY_LATER,
    # --- the counsellors' duty line (daemon/calls/duty.py) --------------------------------------
    "duty_unknown_phone": (
        "この電話番号は、相談員として登録されていないか、暗証番号が設定されていません。運営者にお問い合わせください。"
    ),
    "duty_enter_pin": "相談員の暗証番号を入力し、最後にシャープを押してください。",
    "duty_state_on": "現在、待機中です。",
    "duty_state_off": "現在、待機していません。",
    "duty_menu": "待機を開始するには1を、待機を終了するには2を押してください。",
    "duty_now_on": "待機を開始しました。お客様からのお電話をお待ちください。",
    "duty_now_off": "待機を終了しました。お疲れさまでした。",
    # the balance by phone (``*`` in the group menu) and hunting that knows the caller's money:
    # sentences around a spoken number (see "Speaking yen amounts" above)
    "balance_is": "お客様のご利用残高は、",
    "available_is": "お客様のご利用可能額は、",
    "yen_desu": "円です。",
    "balance_unlimited": "お客様のご利用には、残高の上限はございません。",
    "affordable_groups": "ご利用残高でおつなぎできるカウンセラー番号は、",
    "ban_desu": "番です。",
}


def _minutes_prompts() -> dict[str, str]:
    prompts = {"minutes_0": "ご利用可能時間は1分未満です。"}
    for n in range(1, MINUTES_CAP):
        prompts[f"minutes_{n}"] = f"ご利用可能時間はおよそ{n}分です。"
    prompts["minutes_60plus"] = f"ご利用可能時間は{MINUTES_CAP}分以上です。"
    return prompts


# Largest place in a waiting line announced exactly; further back is "21番目以降".
QUEUE_POSITION_CAP: Final = 20


def _queue_prompts() -> dict[str, str]:
    prompts = {}
    for n in range(1, QUEUE_POSITION_CAP + 1):
        prompts[f"queue_position_{n}"] = f"ただいま{n}番目にお待ちいただいています。"
    prompts["queue_position_more"] = f"ただいま{QUEUE_POSITION_CAP + 1}番目以降にお待ちいただいています。"
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


# The number words, in kana: a lone kanji may read otherwise (八百 is ヤオ on its own), and the
# sound changes (さんびゃく, ろっぴゃく, はっぴゃく, さんぜん, はっせん) are spelt out.
_UNITS: Final = ("いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう")
_PLACES: Final = {10: "じゅう", 100: "ひゃく", 1000: "せん"}
_CHANGED: Final = {300: "さんびゃく", 600: "ろっぴゃく", 800: "はっぴゃく", 3000: "さんぜん", 8000: "はっせん"}


def _number_prompts() -> dict[str, str]:
    """``num_0``, ``num_1`` .. ``num_9000`` (each digit at each place of a 4-digit group), ``num_man``, ``num_oku``."""
    prompts = {"num_0": "ゼロ", "num_man": "まん", "num_oku": "おく"}
    for digit, unit in enumerate(_UNITS, 1):
        prompts[f"num_{digit}"] = unit
        for place, word in _PLACES.items():
            value = digit * place
            prompts[f"num_{value}"] = _CHANGED.get(value, ("" if digit == 1 else unit) + word)
    return prompts


PROMPTS: Final[dict[str, str]] = {
    **_BASE,
    **_minutes_prompts(),
    **_warning_prompts(),
    **_queue_prompts(),
    **_number_prompts(),
}

#: Pieces spliced right after the piece before them (no lead silence, a breath after): the number
#: words and what ends a spoken number (daemon.audio.pipeline ``joined``).
JOINED: Final[frozenset[str]] = frozenset({*_number_prompts(), "yen_desu", "ban_desu"})


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


def queue_position_prompt(position: int) -> str:
    """Name of the prompt announcing the caller's place in a waiting line (1 = next); past the cap, "or later"."""
    if position > QUEUE_POSITION_CAP:
        return "queue_position_more"
    return f"queue_position_{max(position, 1)}"


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
