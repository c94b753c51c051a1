"""The waiting line's position announcement: one whole sentence per place, up to a cap."""

from __future__ import annotations

import pytest

from daemon.prompts.catalog import PROMPTS, QUEUE_POSITION_CAP, queue_position_prompt


@pytest.mark.parametrize(
    ("position", "name"),
    [(1, "queue_position_1"), (3, "queue_position_3"), (20, "queue_position_20"), (21, "queue_position_more")],
)
def test_each_place_has_its_sentence(position: int, name: str) -> None:
    assert queue_position_prompt(position) == name
    assert name in PROMPTS


def test_the_sentences_name_the_place() -> None:
    assert PROMPTS["queue_position_3"] == "ただいま3番目にお待ちいただいています。"
    assert f"{QUEUE_POSITION_CAP + 1}番目以降" in PROMPTS["queue_position_more"]
