"""Bank statement readers on sample files of each format (tests/fixtures/bank_statements), and the kana rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.rules import bank_statements
from daemon.rules.bank_statements import BadStatement, display, match_key
from daemon.rules.bank_statements.matching import AMBIGUOUS, BY_NAME, BY_NAME_AND_AMOUNT, NONE, Payer, match
from daemon.rules.bank_statements.statement import MAX_LINE_YEN

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bank_statements"
SP = "\u3000"


def _read(name: str) -> bank_statements.Statement:
    return bank_statements.read((FIXTURES / name).read_bytes())


def _lines(statement: bank_statements.Statement) -> list[tuple[date, int, str]]:
    return [(line.booked_on, line.amount_yen, line.payer) for line in statement.lines]


def test_zengin_transactions_keep_the_deposits_with_remitters_in_full_width_katakana() -> None:
    statement = _read("zengin_transactions.txt")  # 入出金取引明細, CR LF, Shift_JIS half-width kana
    assert (statement.format, statement.account) == ("zengin", "0036-251-1234567")
    assert _lines(statement) == [
        (date(2026, 12, 1), 3000, f"ヤマダ{SP}ハナコ"),  # 令和8 = 2026; the 15,000 yen withdrawal is left out
        (date(2026, 12, 2), 5000, f"サトウ{SP}キツト"),
        (date(2026, 12, 3), 3000, f"ヤマダ{SP}ハナコ"),
        (date(2026, 12, 3), 3000, f"ヤマダ{SP}ハナコ"),
        (date(2026, 12, 4), 12345, f"スズキ{SP}イチロウ"),
    ]
    twins = statement.lines[2:4]
    assert [t.sequence for t in twins] == [0, 1] and twins[0].key != twins[1].key
    assert statement.lines[0].reference == "00000001"


def test_zengin_notice_back_to_back_records_skip_a_withdrawn_notification() -> None:
    statement = _read("zengin_notice.txt")  # 振込入金通知, no record separators
    assert statement.account == "0009-001-7654321"
    assert _lines(statement) == [
        (date(2026, 12, 5), 8000, f"タナカ{SP}ジロウ"),
        (date(2026, 12, 5), 20000, "カ)ニホンショウジ"),
    ]


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        (
            "rakuten.csv",
            "rakuten",
            [(date(2026, 12, 1), 3000, f"ヤマダ{SP}ハナコ"), (date(2026, 12, 3), 12000, f"スズキ{SP}イチロウ")],
        ),
        (
            "sbi.csv",
            "sbi",
            [(date(2026, 12, 4), 5000, f"サトウ{SP}キツト"), (date(2026, 12, 1), 3000, f"ヤマダ{SP}ハナコ")],
        ),
        ("paypay.csv", "paypay", [(date(2026, 12, 1), 3000, f"ヤマダ{SP}ハナコ")]),
    ],
)
def test_net_bank_csv_keeps_money_in_and_drops_money_out(name: str, fmt: str, expected: list[object]) -> None:
    statement = _read(name)
    assert statement.format == fmt
    assert _lines(statement) == expected


def test_the_same_transfer_read_again_has_the_same_key_and_another_account_another() -> None:
    first, again = _read("zengin_transactions.txt"), _read("zengin_transactions.txt")
    assert [line.key for line in first.lines] == [line.key for line in again.lines]
    assert len({line.key for line in first.lines}) == len(first.lines)
    other = (FIXTURES / "zengin_transactions.txt").read_bytes().replace(b"1234567", b"7654321", 1)
    assert not {line.key for line in bank_statements.read(other).lines} & {line.key for line in first.lines}


def test_a_utf8_csv_with_a_bom_reads_as_the_shift_jis_one() -> None:
    text = (FIXTURES / "rakuten.csv").read_bytes().decode("cp932")
    assert _lines(bank_statements.read(("\ufeff" + text).encode())) == _lines(_read("rakuten.csv"))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        ("名前,金額\r\nヤマダ,1000\r\n".encode("cp932"), "header row not known"),
        (b"1" + b"03" + b"0" + b" " * 116, "this one 120 (120 is the"),  # a 120-byte record
        ("取引日,入出金(円),取引後残高(円),入出金内容\r\n20261301,3000,0,振込＊ア\r\n".encode("cp932"), "line 2"),
        ("取引日,入出金(円),取引後残高(円),入出金内容\r\n20261201,3千,0,振込＊ア\r\n".encode("cp932"), "not a number"),
    ],
)
def test_files_that_are_no_statement_or_damaged_are_refused_with_the_reason(data: bytes, words: str) -> None:
    with pytest.raises(BadStatement) as refused:
        bank_statements.read(data)
    assert words in str(refused.value)


def test_a_zengin_file_whose_trailer_disagrees_is_refused_as_damaged() -> None:
    data = (FIXTURES / "zengin_transactions.txt").read_bytes()
    records = data.split(b"\r\n")
    trailer = next(i for i, r in enumerate(records) if r.startswith(b"8"))
    records[trailer] = b"8000006" + records[trailer][7:]  # says 6 deposits; the file holds 5
    with pytest.raises(BadStatement, match="trailer counts 6 deposits"):
        bank_statements.read(b"\r\n".join(records))
    with pytest.raises(BadStatement, match="before the trailer"):
        bank_statements.read(b"\r\n".join(records[:trailer]))


@pytest.mark.parametrize(
    ("typed", "shown", "key"),
    [
        ("ﾔﾏﾀﾞ ﾊﾅｺ", f"ヤマダ{SP}ハナコ", "ヤマダハナコ"),
        ("やまだ　はなこ", f"ヤマダ{SP}ハナコ", "ヤマダハナコ"),
        ("  サトウ   キット ", f"サトウ{SP}キット", "サトウキツト"),  # small kana compare as the bank writes them
        ("ｶ)ﾄｳｷｮｳﾃﾞﾝﾜ", "カ)トウキョウデンワ", "カ)トウキヨウデンワ"),
        ("ｺｰﾁ", "コーチ", "コーチ"),
        ("コ-チ", "コ-チ", "コーチ"),
    ],
)
def test_names_are_shown_in_full_width_katakana_and_compared_without_spaces_or_small_kana(
    typed: str, shown: str, key: str
) -> None:
    assert (display(typed), match_key(typed)) == (shown, key)


def test_matching_needs_the_name_and_uses_the_amount_only_among_namesakes() -> None:
    hanako, hanako2, owing = Payer(1, "ヤマダ ハナコ", 0), Payer(2, "やまだはなこ", 0), Payer(3, "ヤマダハナコ", -3000)
    assert match("ヤマダハナコ", 3000, [hanako]).how == BY_NAME
    for order in ([hanako, owing], [owing, hanako]):
        assert (match("ヤマダハナコ", 3000, order).caller_id, match("ヤマダハナコ", 3000, order).how) == (
            3,
            BY_NAME_AND_AMOUNT,
        )
    assert match("ヤマダハナコ", 5000, [hanako, hanako2]).how == AMBIGUOUS
    assert match("スズキイチロウ", 3000, [owing]).how == NONE  # an amount alone names no one
    assert match("", 3000, [Payer(4, "", -3000)]).how == NONE


SAMPLES = sorted(p.read_bytes() for p in FIXTURES.iterdir())


def _holds(data: bytes) -> None:
    """Any file: a statement of sane lines, or :class:`BadStatement`; nothing else ever escapes."""
    try:
        statement = bank_statements.read(data)
    except BadStatement as refused:
        assert str(refused)
        return
    for line in statement.lines:
        assert 0 <= line.amount_yen <= MAX_LINE_YEN and len(line.key) == 64
        assert "\n" not in line.payer and "\r" not in line.payer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_any_bytes_are_read_or_refused(data: bytes) -> None:
    _holds(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SAMPLES), st.integers(min_value=0), st.binary(min_size=1, max_size=8))
def test_damaged_statements_are_read_or_refused(sample: bytes, at: int, junk: bytes) -> None:
    at %= len(sample)
    _holds(sample[:at] + junk + sample[at + len(junk) :])
