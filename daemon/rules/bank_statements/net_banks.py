"""The CSV statements (入出金明細) that net banks let a customer download, one reader per bank.

Each bank's file is told by its header row; the columns read (as the banks'
help pages describe the download, Shift_JIS or UTF-8, with or without a BOM):

* 楽天銀行: ``取引日,入出金(円),取引後残高(円),入出金内容``; 取引日 ``YYYYMMDD``; the amount
  is signed (minus: money out); 入出金内容 ``振込＊ヤマダ　タロウ``.
* 住信SBIネット銀行: ``"日付","内容","出金金額(円)","入金金額(円)","残高(円)","メモ"``;
  日付 ``YYYY/MM/DD``; money in has 入金金額, 内容 ``振込＊ヤマダ　タロウ``.
* PayPay銀行: ``操作日(年),操作日(月),操作日(日),操作時刻(時),操作時刻(分),操作時刻(秒),
  取引順番号,摘要,お支払金額,お預り金額,残高,メモ``; money in has お預り金額, 摘要 the
  remitter (``振込 ﾔﾏﾀﾞ ﾀﾛｳ``), 取引順番号 the bank's number of the line.

The remitter is the description less its 振込 prefix.  These files do not name
the account: a statement's account is the bank's name, so lines of two
accounts at one bank would share keys (run one account per bank for deposits).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from daemon.rules.bank_statements.statement import BadStatement, Statement, amount, numbered

Row = dict[str, str]
_PREFIX = re.compile(r"^\s*(振込入金|振込|フリコミ)[\s＊*:：]*")


@dataclass(frozen=True, slots=True)
class Layout:
    """One bank's CSV: the columns that tell it, and how a row gives (date, yen in, description, reference)."""

    name: str
    columns: tuple[str, ...]
    read: Callable[[Row, int], tuple[date, int, str, str] | None]  # None: money out


def _day(text: str, number: int) -> date:
    digits = re.sub(r"[/\-.]", "", text.strip())
    try:
        if len(digits) != 8 or not digits.isdigit():
            raise ValueError
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise BadStatement(f"date {text!r} is not YYYYMMDD or YYYY/MM/DD", number) from None


def _remitter(description: str) -> str:
    return _PREFIX.sub("", unicodedata.normalize("NFKC", description)).strip()


def _rakuten(row: Row, number: int) -> tuple[date, int, str, str] | None:
    signed = row["入出金(円)"].strip().replace(",", "")
    if signed.startswith("-"):
        return None
    return _day(row["取引日"], number), amount(signed, number), _remitter(row["入出金内容"]), ""


def _sbi(row: Row, number: int) -> tuple[date, int, str, str] | None:
    if not row["入金金額(円)"].strip():
        return None
    return _day(row["日付"], number), amount(row["入金金額(円)"], number), _remitter(row["内容"]), ""


def _paypay(row: Row, number: int) -> tuple[date, int, str, str] | None:
    if not row["お預り金額"].strip():
        return None
    parts = (row["操作日(年)"], row["操作日(月)"].zfill(2), row["操作日(日)"].zfill(2))
    return _day("".join(parts), number), amount(row["お預り金額"], number), _remitter(row["摘要"]), row["取引順番号"]


LAYOUTS = (
    Layout("rakuten", ("取引日", "入出金(円)", "入出金内容"), _rakuten),
    Layout("sbi", ("日付", "内容", "入金金額(円)"), _sbi),
    Layout("paypay", ("操作日(年)", "操作日(月)", "操作日(日)", "取引順番号", "摘要", "お預り金額"), _paypay),
)
BANK_NAMES = {"rakuten": "楽天銀行", "sbi": "住信SBIネット銀行", "paypay": "PayPay銀行"}


def text_of(data: bytes) -> str:
    """The file as text: UTF-8 (BOM or not), else Shift_JIS (cp932, as Excel and the banks write it)."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadStatement("the file is neither UTF-8 nor Shift_JIS text")


def layout_of(header: list[str]) -> Layout | None:
    names = {unicodedata.normalize("NFKC", h).strip() for h in header}
    for layout in LAYOUTS:
        if all(c in names for c in layout.columns):
            return layout
    return None


def _rows(reader: Iterator[list[str]], header: list[str]) -> Iterator[tuple[int, Row]]:
    keys = [unicodedata.normalize("NFKC", h).strip() for h in header]
    for number, cells in enumerate(reader, 2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(keys):
            raise BadStatement(f"{len(cells)} columns where the header has {len(keys)}", number)
        yield number, {k: cells[i] for i, k in enumerate(keys)}


def parse(data: bytes) -> Statement:
    try:
        return _parse(csv.reader(io.StringIO(text_of(data), newline="")))
    except csv.Error as exc:  # a stray quote or NUL: not a file a bank wrote
        raise BadStatement(f"not CSV as banks write it ({exc})") from None


def _parse(reader: Iterator[list[str]]) -> Statement:
    header = next(reader, None)
    layout = layout_of(header) if header else None
    if header is None or layout is None:
        raise BadStatement("not a statement CSV of 楽天銀行, 住信SBIネット銀行 or PayPay銀行 (header row not known)", 1)
    found: list[tuple[date, int, str, str]] = []
    for number, row in _rows(reader, header):
        try:
            line = layout.read(row, number)
        except KeyError as exc:
            raise BadStatement(f"column {exc.args[0]} is missing", number) from None
        if line is not None:
            found.append(line)
    return Statement(layout.name, BANK_NAMES[layout.name], numbered(BANK_NAMES[layout.name], found))
