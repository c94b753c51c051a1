"""The IVR's pure rules: loops, entry points, Diversion parsing, business hours, the forwarding tariff."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from daemon.ivr.arrival import arrival, diverted_from
from daemon.rules.ivr.hours import TOKYO, is_open, public_holiday
from daemon.rules.ivr.models import Flow, HoursNode
from daemon.rules.ivr.tariff import ForwardTariff, talk_seconds
from daemon.rules.ivr.validate import endless, problems


def flow(**nodes: Any) -> Flow:
    return Flow.model_validate({"entry": {"default": next(iter(nodes))}, "nodes": nodes})


PLAY = {"kind": "play", "guidance": [1]}
END = {"kind": "hangup"}


@pytest.mark.parametrize(
    ("nodes", "loops"),
    [
        ({"a": {**PLAY, "next": "b"}, "b": END}, []),
        ({"a": {**PLAY, "next": "a"}}, ["a"]),
        ({"a": {**PLAY, "next": "b"}, "b": {**PLAY, "next": "c"}, "c": {**PLAY, "next": "a"}}, ["a"]),
        (
            {
                "h": {"kind": "hours", "open": "f", "closed": "z"},
                "f": {"kind": "forward", "numbers": ["09011112222"], "on_fail": "h"},
                "z": END,
            },
            ["h"],
        ),
        (
            {
                "m": {"kind": "menu", "prompt": 1, "options": {"1": "p"}, "fallback": "m"},
                "p": {**PLAY, "next": "m"},
            },
            [],
        ),
        ({"v": {"kind": "voicemail", "next": "p"}, "p": {**PLAY, "next": "v"}}, []),
    ],
)
def test_endless_loops(nodes: dict[str, Any], loops: list[str]) -> None:
    assert endless(flow(**nodes)) == loops


def test_problems_name_every_node() -> None:
    f = Flow.model_validate(
        {
            "entry": {"default": "a", "by_number": {"0312345678": "ghost"}},
            "nodes": {
                "a": {**PLAY, "guidance": [1, 2], "next": "f"},
                "f": {"kind": "forward", "numbers": ["09011112222"], "shown_number": "0399999999", "on_fail": "x"},
            },
        }
    )
    found = {(p.node, p.message.split(",")[0]) for p in problems(f, guidance={1}, forwarding=False, own_numbers=())}
    assert found == {
        ("entry.by_number.0312345678", "starts at node 'ghost'"),
        ("a", "plays guidance 2"),
        ("f", "goes to node 'x'"),
        ("f", "forwards calls"),
        ("f", "shows 0399999999"),
    }
    assert problems(flow(a={**PLAY, "next": "b"}, b=END), guidance={1}, forwarding=False, own_numbers=()) == []


@pytest.mark.parametrize(
    ("header", "number"),
    [
        ("<sip:0355556666@127.0.0.1>;reason=unconditional", "0355556666"),
        ("<sip:+81355556666@carrier.example>;reason=no-answer", "0355556666"),
        ("<tel:0355556666>", "0355556666"),
        ("<sip:0311110000@a>, <sip:0355556666@b>;reason=unconditional", "0355556666"),
        ("<sip:anonymous@x>", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_diverted_from(header: str | None, number: str | None) -> None:
    assert diverted_from(header) == number


def test_arrival_kinds() -> None:
    assert arrival("0312345678", None) == "direct"
    assert arrival("0120123456", None) == "toll_free"
    assert arrival("0800123456", None) == "toll_free"
    assert arrival("0312345678", "0355556666") == "forwarded"


def test_hours_edges_and_holidays() -> None:
    node = HoursNode(kind="hours", week={"fri": ["22:00-24:00"]}, open="o", closed="c")
    assert is_open(node, dt.datetime(2026, 12, 4, 23, 59, tzinfo=TOKYO))
    assert not is_open(node, dt.datetime(2026, 12, 5, 0, 0, tzinfo=TOKYO))
    assert public_holiday(dt.date(2026, 5, 6))  # 振替休日 (Constitution Day fell on a Sunday)
    assert public_holiday(dt.date(2027, 1, 1)) and not public_holiday(dt.date(2027, 1, 4))
    open_on_holidays = HoursNode(
        kind="hours", week={"mon": ["09:00-18:00"]}, public_holidays_closed=False, open="o", closed="c"
    )
    assert is_open(open_on_holidays, dt.datetime(2027, 1, 11, 10, tzinfo=TOKYO))


@pytest.mark.parametrize("bad", ["9-18", "09:00-09:00", "18:00-09:00", "09:00-24:01", "25:00-26:00", "09:60-10:00"])
def test_time_ranges_are_checked(bad: str) -> None:
    with pytest.raises(ValidationError):
        HoursNode(kind="hours", week={"mon": [bad]}, open="o", closed="c")


def test_forwarding_tariff_rounds_up_started_units() -> None:
    assert ForwardTariff(1, 3).charge(61) == 183
    assert ForwardTariff(30, 10).charge(30) == 10 and ForwardTariff(30, 10).charge(31) == 20
    assert ForwardTariff(60, 20).charge(0) == 0 and ForwardTariff(60, 20).charge(1) == 20
    assert talk_seconds(1_000_000, 2_000_001) == 2 and talk_seconds(None, 5) == 0 and talk_seconds(5, None) == 0
    with pytest.raises(ValueError, match="1, 30 or 60"):
        ForwardTariff(45, 10)
