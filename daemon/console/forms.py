"""Form fields → the API's own pydantic models, so the console validates exactly as the API does.

Browsers send strings; the API's models are strict (an amount is an int, not
"1000").  :func:`number` reads what a person types (``1,000``, full-width
``１０００``, ``1000円``) into an int first; :func:`validate` then runs the
API model and turns its errors into Japanese messages keyed by field name,
for the template to show beside each field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from daemon.http.errors import readable

M = TypeVar("M", bound=BaseModel)
_NUMBER = re.compile(r"[+-]?[0-9]+")

_MESSAGES = {
    "missing": "入力してください",
    "string_too_short": "短すぎます",
    "string_too_long": "長すぎます",
    "string_pattern_mismatch": "形式が正しくありません",
    "int_parsing": "数字で入力してください",
    "int_type": "数字で入力してください",
    "bool_parsing": "はい/いいえで選んでください",
    "literal_error": "選択肢から選んでください",
    "enum": "選択肢から選んでください",
    "date_from_datetime_parsing": "日付の形式が正しくありません",
    "date_parsing": "日付の形式が正しくありません",
    "datetime_parsing": "日時の形式が正しくありません",
    "datetime_from_date_parsing": "日時の形式が正しくありません",
    "too_long": "多すぎます",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "以上"),
    "greater_than": ("gt", "より大きい値"),
    "less_than_equal": ("le", "以下"),
    "less_than": ("lt", "より小さい値"),
}


class FormErrors(Exception):
    """The form's errors by field (``""``: the form as a whole)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def number(value: str | None, field: str) -> int | None:
    """What a person typed as an integer; empty is None; anything else a :class:`FormErrors`."""
    text = unicodedata.normalize("NFKC", value or "").strip().replace(",", "").removesuffix("円").strip()
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise FormErrors({field: "数字で入力してください"})
    return int(text)


def message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        bound = (error.get("ctx") or {}).get(key)
        return f"{bound:,}{words}で入力してください" if isinstance(bound, int) else "範囲外の値です"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    japanese = (error.get("ctx") or {}).get("japanese")  # rules that word their own refusal (daemon.rules.destinations)
    if isinstance(japanese, str):
        return japanese
    return readable(error["msg"])  # our own rules' ValueError texts


def errors_of(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        found.setdefault(field, message(error))
    return found


def validate(model: type[M], values: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise FormErrors(errors_of(exc)) from None


async def fields(request: web.Request) -> dict[str, str]:
    """The posted text fields (files are read by the pages that take them)."""
    form = await request.post()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf"}
