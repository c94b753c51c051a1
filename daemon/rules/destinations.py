"""Where the daemon may place a call: one policy for every number it dials.

We pay the carrier for every leg we originate (a counsellor's phone, an IVR
forward, anything later), so a number that bills the *caller* an information
fee, that routes round our carrier, or that reaches a service we must never
tie up is refused here, whoever asks.  Each rule names its reason:

==================  ==========================================================
code                numbers, and why
==================  ==========================================================
emergency           110 police, 118 coast guard, 119 fire/ambulance: a machine
                    must never ring them (and a forward loop would flood them)
short_code          every other 1XY special number (104 directory, 106/108
                    collect calls billed to us, 117, 171, 177, 184/186
                    prefixes…) and ``#``/``*`` carrier short codes (#7119…)
carrier_prefix      00XY carrier-selection codes (001, 0033, 0041, 0091XX…):
                    the call leaves our carrier and its tariff; international
                    numbers are written +<country>… or 010…
premium_rate        0990 (ダイヤルQ2, 情報料代理徴収): an information fee on top
caller_pays         0570 (ナビダイヤル): the called service sets the caller's
                    rate; no flat-rate plan covers it
mass_calling        0180 (テレドーム): tele-vote / mass-call numbers charged per
                    call with an information fee
message_dial        0170 (伝言ダイヤル): a charged message service
special_connection  0910 (特定接続): the terminating carrier sets the charge
m2m                 020 (M2M / pager): devices, not people; no one answers
international       010… (also written +<country>…): only where the tenant's
                    contract allows it (off by default, a platform-admin switch)
high_cost_abroad    +979 international premium rate, +881/+882/+883 satellite
                    and international networks, +870 Inmarsat, +808 shared
                    cost: refused even with international calls allowed
not_a_number        anything that is not a whole Japanese number (10 digits,
                    11 for 020/050/060/070/080/090) or ``010`` + 7–15 digits
==================  ==========================================================

Toll-free 0120/0800, geographic, 050 IP and mobile numbers are dialled.
Numbers are kept in national form (``0312345678``, international
``0104420…``); :func:`check` turns what a person typed (``+81…``, ``+44…``)
into it.  Pure: this module imports nothing from the database layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import PydanticCustomError

# Non-geographic prefixes whose numbers have 11 digits (0800 toll-free is among 080).
ELEVEN_DIGIT_PREFIXES = ("020", "050", "060", "070", "080", "090")
INTERNATIONAL_PREFIX = "010"
EMERGENCY = {"110": "police", "118": "coast guard", "119": "fire and ambulance"}


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    what: str  # completes "{number} is …"
    nani: str  # completes "{number}は…のため発信できません"


RULES: dict[str, Rule] = {
    "0990": Rule("premium_rate", "a premium-rate (Dial Q2) number", "有料情報サービス（ダイヤルQ2）の番号"),
    "0570": Rule("caller_pays", "a caller-pays navigation (Navi Dial) number", "通話料が発信者負担のナビダイヤル"),
    "0180": Rule("mass_calling", "a tele-vote / mass-calling (Teledome) number", "テレドーム（大量呼受付）の番号"),
    "0170": Rule("message_dial", "a charged message-dial service number", "有料の伝言ダイヤルの番号"),
    "0910": Rule("special_connection", "a special-connection number", "特定接続の番号"),
    "020": Rule("m2m", "an M2M/pager number", "M2M・ポケベルの番号"),
}
_SHORT = Rule("short_code", "a special service or short code", "特番（サービス番号・短縮番号）")
_CARRIER = Rule(
    "carrier_prefix",
    "a carrier-selection prefix (00XY); write international numbers as +<country code>… or 010…",
    "事業者識別番号（00XY）付きの番号",
)
_INTERNATIONAL = Rule(
    "international", "an international number, and this contract does not allow international calls", "国際電話の番号"
)
_HIGH_COST = Rule(
    "high_cost_abroad",
    "an international premium-rate, satellite or shared-cost number",
    "国際プレミアム・衛星電話などの高額な番号",
)
HIGH_COST_COUNTRY_CODES = ("979", "881", "882", "883", "870", "808")
NOT_A_NUMBER = "not_a_number"
JAPANESE_NAMES = {r.code: r.nani for r in (*RULES.values(), _SHORT, _CARRIER, _INTERNATIONAL, _HIGH_COST)} | {
    "emergency": "緊急通報番号",
    NOT_A_NUMBER: "電話番号の形式ではない番号",
}
"""Each refusal code's name in Japanese, for the console's lists."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why ``number`` is never dialled: a code for machines, a sentence each for the API and the console."""

    number: str
    code: str
    english: str
    japanese: str


class Refused(ValueError):
    """Raised where a dial string would be built for a refused number (the last net before ``bridge``)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.english)
        self.refusal = refusal


def _refuse(number: str, rule: Rule) -> Refusal:
    return Refusal(number, rule.code, f"{number} is {rule.what}", f"{number}は{rule.nani}のため発信できません")


def _not_a_number(number: str) -> Refusal:
    return Refusal(
        number,
        NOT_A_NUMBER,
        f"{number} is not a whole phone number: 10 digits (0312345678), 11 for 020/050/060/070/080/090,"
        " or +<country code>…",
        f"{number}は電話番号の形式ではありません（市外局番から数字だけで。例: 09012345678）",
    )


def stored_form(value: str) -> str:
    """What a person typed → the form we keep: ``+81312345678`` → ``0312345678``, ``+4420…`` → ``0104420…``."""
    number = value.strip()
    if number.startswith("+81"):
        return "0" + number[3:]
    if number.startswith("+"):
        return INTERNATIONAL_PREFIX + number[1:]
    return number


def refusal(number: str, *, international: bool = False) -> Refusal | None:
    """None if we may dial ``number`` (stored form); else why not.  ``international``: the tenant's contract."""
    if number[:1] in ("#", "*"):
        return _refuse(number, _SHORT)
    if not (number.isascii() and number.isdigit()):
        return _not_a_number(number)
    if number.startswith("1"):
        what = EMERGENCY.get(number[:3])
        if what is not None:
            return Refusal(
                number,
                "emergency",
                f"{number} is an emergency number ({what}); a machine never rings it",
                f"{number}は緊急通報番号のため発信できません",
            )
        return _refuse(number, _SHORT)
    if number.startswith(INTERNATIONAL_PREFIX):
        abroad = number[len(INTERNATIONAL_PREFIX) :]
        if not 7 <= len(abroad) <= 15:
            return _not_a_number(number)
        if abroad.startswith(HIGH_COST_COUNTRY_CODES):
            return _refuse(number, _HIGH_COST)
        return None if international else _refuse(number, _INTERNATIONAL)
    if number.startswith("00"):
        return _refuse(number, _CARRIER)
    return _national(number)


def _national(number: str) -> Refusal | None:
    for prefix in sorted(RULES, key=len, reverse=True):
        if number.startswith(prefix):
            return _refuse(number, RULES[prefix])
    digits = 11 if number.startswith(ELEVEN_DIGIT_PREFIXES) else 10
    if not number.startswith("0") or len(number) != digits:
        return _not_a_number(number)
    return None


def error(refused: Refusal) -> PydanticCustomError:
    """The refusal as a validation error: type ``destination_<code>``, English text, Japanese in ``ctx``."""
    return PydanticCustomError(
        f"destination_{refused.code}",
        "{english}",
        {"english": refused.english, "number": refused.number, "japanese": refused.japanese},
    )


def check(value: str, *, international: bool = False) -> str:
    """What a person typed, in stored form, if we may dial it; else :func:`error` (a ``ValueError``)."""
    number = stored_form(value)
    refused = refusal(number, international=international)
    if refused is not None:
        raise error(refused)
    return number


def e164(number: str) -> str:
    """Stored form → E.164 (``{e164}`` templates): ``0312345678`` → ``+81312345678``, ``0104420…`` → ``+4420…``."""
    if number.startswith(INTERNATIONAL_PREFIX):
        return "+" + number[len(INTERNATIONAL_PREFIX) :]
    return "+81" + number[1:]
