"""Yen amounts as the caller hears them: pre-rendered number pieces (pure, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.prompts import spoken
from daemon.prompts.catalog import PROMPTS
from daemon.rules.billing.limits import MAX_BALANCE_YEN

_GROUP = {"num_man": 10_000, "num_oku": 100_000_000}


def heard_as(pieces: list[str]) -> int:
    """What a listener adds up: digits by place within a group, each group times its word."""
    total, group = 0, 0
    for piece in pieces:
        if piece in _GROUP:
            total += group * _GROUP[piece]
            group = 0
        else:
            group += int(piece.removeprefix("num_"))
    return total + group


@pytest.mark.parametrize(
    ("amount", "pieces"),
    [
        (0, ["num_0"]),
        (1, ["num_1"]),
        (15, ["num_10", "num_5"]),
        (300, ["num_300"]),  # さんびゃく, one piece
        (8000, ["num_8000"]),  # はっせん
        (10_000, ["num_1", "num_man"]),  # いちまん
        (12_345, ["num_1", "num_man", "num_2000", "num_300", "num_40", "num_5"]),
        (10_000_000, ["num_1000", "num_man"]),  # せんまん
        (100_010_001, ["num_1", "num_oku", "num_1", "num_man", "num_1"]),
        (MAX_BALANCE_YEN, ["num_10", "num_oku"]),  # じゅうおく
    ],
)
def test_amounts(amount: int, pieces: list[str]) -> None:
    assert spoken.number(amount) == pieces


@given(st.integers(0, MAX_BALANCE_YEN))
def test_every_balance_is_said_right_with_pieces_that_exist(amount: int) -> None:
    pieces = spoken.number(amount)
    assert all(p in PROMPTS for p in pieces)
    assert heard_as(pieces) == amount


def test_codes_with_a_leading_zero_are_said_digit_by_digit() -> None:
    assert spoken.code("12") == ["num_10", "num_2"]
    assert spoken.code("012") == ["num_0", "num_1", "num_2"]
    assert spoken.code("0") == ["num_0"]
    with pytest.raises(ValueError):
        spoken.code("1*")


def test_out_of_range() -> None:
    with pytest.raises(ValueError):
        spoken.number(-1)
    with pytest.raises(ValueError):
        spoken.number(spoken.LARGEST + 1)


def test_the_sound_changes_are_in_the_pieces() -> None:
    """A lone 八百 reads ヤオ: the pieces are written in kana, sound changes included."""
    assert PROMPTS["num_800"] == "はっぴゃく"
    assert PROMPTS["num_300"] == "さんびゃく"
    assert PROMPTS["num_3000"] == "さんぜん"
