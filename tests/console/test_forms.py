"""Form values → the API's models, with Japanese messages."""

from __future__ import annotations

import pytest

from daemon.console.forms import FormErrors, number, validate
from daemon.console.render import duration, masked, yen
from daemon.services.inputs import DepositIn


@pytest.mark.parametrize(
    ("typed", "value"),
    [("1000", 1000), ("1,000", 1000), ("１０００", 1000), ("3,000円", 3000), (" -500 ", -500), ("", None)],
)
def test_amounts_are_read_as_people_type_them(typed: str, value: int | None) -> None:
    assert number(typed, "amount_yen") == value


@pytest.mark.parametrize("typed", ["10.5", "abc", "1e3", "１万"])
def test_anything_else_is_a_message_at_the_field(typed: str) -> None:
    with pytest.raises(FormErrors) as caught:
        number(typed, "amount_yen")
    assert caught.value.errors == {"amount_yen": "数字で入力してください"}


def test_the_apis_rules_apply_and_speak_japanese() -> None:
    with pytest.raises(FormErrors) as caught:
        validate(DepositIn, {"amount_yen": 0, "memo": "振込"})
    assert caught.value.errors["amount_yen"].endswith("で入力してください")
    with pytest.raises(FormErrors) as missing:
        validate(DepositIn, {"memo": "振込"})
    assert missing.value.errors == {"amount_yen": "入力してください"}
    assert validate(DepositIn, {"amount_yen": 5000}).amount_yen == 5000


def test_filters_show_money_numbers_and_time_as_a_person_reads_them() -> None:
    assert yen(1234567) == "1,234,567円"
    assert yen(-300) == "-300円"
    assert masked("09012345678") == "090****5678"
    assert masked(None) == "非通知"
    assert duration(754) == "12分34秒"
    assert duration(3725) == "1時間2分5秒"
