"""The value rules shared by the API, the console and the CLI (no database needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from daemon.services.inputs import LinesUpdate, TenantCreate
from daemon.services.values import Lines, PhoneNumber, TenantName

NUMBER = TypeAdapter(PhoneNumber)
NAME = TypeAdapter(TenantName)
LINES = TypeAdapter(Lines)


@pytest.mark.parametrize(
    ("given_", "national"),
    [
        ("0312345678", "0312345678"),  # Tokyo
        ("0612345678", "0612345678"),  # Osaka
        ("0422123456", "0422123456"),  # Musashino
        ("0120123456", "0120123456"),  # toll-free
        ("0570123456", "0570123456"),  # navi dial
        ("08001234567", "08001234567"),  # toll-free
        ("05012345678", "05012345678"),  # IP phone
        ("09012345678", "09012345678"),  # mobile
        ("0300000001", "0300000001"),  # "03 + 8 digits", whatever the digits
        ("+81312345678", "0312345678"),
        ("+818001234567", "08001234567"),
        ("\t0312345678\n", "0312345678"),
        ("03-1234-5678", "0312345678"),  # as people write them: separators and full-width digits
        ("(03) 1234 5678", "0312345678"),
        ("０３１２３４５６７８", "0312345678"),
        ("０３−１２３４−５６７８", "0312345678"),
        ("+81 90-1234-5678", "09012345678"),
    ],
)
def test_valid_numbers(given_: str, national: str) -> None:
    assert NUMBER.validate_python(given_) == national


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "03-1234-567a",
        "03-1234\r\n5678",  # a line break inside is refused, never joined up
        "03\t1234\t5678",
        "0312345678a",
        "031234567",
        "03123456789",
        "0501234567",
        "090123456789",
        "0012345678",
        "3123456789",
        "81312345678",
        "+810312345678",
        "+1 2025550123",
        "0312345678\x00",
        "٠٣١٢٣٤٥٦٧٨",
    ],
)
def test_invalid_numbers(bad: str) -> None:
    with pytest.raises(ValidationError):
        NUMBER.validate_python(bad)


def test_numbers_must_be_strings() -> None:
    with pytest.raises(ValidationError):
        NUMBER.validate_python(312345678)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_every_tokyo_number_normalises_from_either_form(subscriber: str) -> None:
    assert NUMBER.validate_python("03" + subscriber) == NUMBER.validate_python("+813" + subscriber) == "03" + subscriber


@given(st.text(max_size=30))
def test_anything_accepted_is_national_digits(text: str) -> None:
    try:
        number = NUMBER.validate_python(text)
    except ValidationError:
        return
    assert number.isascii() and number.isdigit() and number[0] == "0" and len(number) in (10, 11)


@pytest.mark.parametrize(
    ("given_", "kept"), [("acme", "acme"), ("  株式会社アクメ ", "株式会社アクメ"), ("x" * 200, "x" * 200)]
)
def test_valid_names(given_: str, kept: str) -> None:
    assert NAME.validate_python(given_) == kept


@pytest.mark.parametrize("bad", ["", " ", "x" * 201, "a\nb", "a\x00b", "a\u200bb", "a\u2028b", "a\x7fb"])
def test_invalid_names(bad: str) -> None:
    with pytest.raises(ValidationError):
        NAME.validate_python(bad)


def test_names_are_nfc() -> None:
    assert NAME.validate_python("Cafe\u0301") == "Caf\u00e9"


@pytest.mark.parametrize("lines", [0, 1, 100_000])
def test_valid_lines(lines: int) -> None:
    assert LINES.validate_python(lines) == lines


@pytest.mark.parametrize("bad", [-1, 100_001, 1.0, "1", True, None])
def test_invalid_lines(bad: object) -> None:
    with pytest.raises(ValidationError):
        LINES.validate_python(bad)


def test_requests_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        TenantCreate.model_validate({"name": "acme", "lines": 1, "admin": True})
    with pytest.raises(ValidationError):
        LinesUpdate.model_validate_json(b'{"lines": 1, "lines_": 2}')
