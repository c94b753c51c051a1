"""振込依頼人名 as banks write it, and as a person types a フリガナ, brought to one form.

Banks send the remitter's name in half-width katakana (``ﾔﾏﾀﾞ ﾀﾛｳ``), without
small kana (``ｯ`` is written ``ﾂ``), with spaces where the remitter put them.
An operator types a caller's フリガナ in full-width katakana or hiragana, with
or without a space.  :func:`display` is the name as a person reads it
(full-width katakana, one space between words); :func:`match_key` is what two
names are compared by (no spaces, small kana as large ones, hiragana as
katakana, long-vowel marks and hyphens alike), so ``やまだ　たろう``,
``ﾔﾏﾀﾞ ﾀﾛｳ`` and ``ヤマダタロウ`` are one name.
"""

from __future__ import annotations

import re
import unicodedata

# Small kana → their large forms (bank names are written without small kana).
_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
# Hiragana → katakana: the two blocks are 0x60 apart.
_KATAKANA = {code: code + 0x60 for code in range(ord("ぁ"), ord("ゖ") + 1)}
# What remitters and typists use for the long vowel (ー): ｰ becomes ー under NFKC already.
_DASHES = str.maketrans({"-": "ー", "‐": "ー", "−": "ー", "—": "ー", "―": "ー", "～": "ー", "~": "ー"})
_SPACES = re.compile(r"\s+")


def display(name: str) -> str:
    """The name in full-width katakana, one full-width space between words, trimmed."""
    text = unicodedata.normalize("NFKC", name).translate(_KATAKANA)
    words = _SPACES.split(text.strip())
    # NFKC turns full-width letters and digits half-width; katakana becomes full-width.
    return "\u3000".join(w for w in words if w)


def match_key(name: str) -> str:
    """What two names are compared by: :func:`display` without spaces, small kana large, dashes as ー."""
    return display(name).replace("\u3000", "").translate(_LARGE).translate(_DASHES).upper()
