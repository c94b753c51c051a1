"""What the counsellor and group pages share: a posted form → the operation's model, in Japanese.

:func:`parse` reads the numeric fields as a person types them
(:func:`daemon.console.forms.number`), leaves empty fields out (the model's
default, or its "入力してください"), and validates with the API's model,
gathering every field's error at once.  Refusals of the operations themselves
are worded by :mod:`daemon.console.refusals`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from daemon.console.forms import FormErrors, message, number

M = TypeVar("M", bound=BaseModel)

# Our own validators' error types (daemon/rules/numbers.py), worded for a person.
_OWN = {"phone_number": "電話番号の形式が正しくありません（市外局番から数字だけで。例: 09012345678）"}


def parse(model: type[M], values: Mapping[str, str], numeric: Collection[str] = ()) -> M:
    errors: dict[str, str] = {}
    data: dict[str, object] = {}
    for name in model.model_fields:
        text = values.get(name, "")
        if name in numeric:
            try:
                value = number(text, name)
            except FormErrors as exc:
                errors.update(exc.errors)
                continue
            if value is not None:
                data[name] = value
        elif text != "":
            data[name] = text
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            own = (
                None if "japanese" in (error.get("ctx") or {}) else _OWN.get(error["type"])
            )  # the rule's own reason first
            errors.setdefault(field, own or message(error))
        raise FormErrors(errors) from None
    if errors:
        raise FormErrors(errors)
    return parsed


def shown(values: Mapping[str, object]) -> dict[str, str]:
    """Stored values as a form shows them (None: an empty field)."""
    return {k: "" if v is None else str(v) for k, v in values.items()}
