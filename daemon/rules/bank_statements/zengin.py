"""全銀協 fixed-length statements: 振込入金通知 (種別コード 01) and 入出金取引明細 (種別コード 03).

Both are 200-byte records of half-width characters in JIS/Shift_JIS (コード区分 0),
one header (データ区分 1), its data records (2) and a trailer (8) per account
and period, repeated, then one end record (9).  Records follow one another
without a separator or are each ended by CR LF; both are read.  Dates are
和暦 YYMMDD, read as 令和 (令和1 = 2019).  Layouts (field, width), as the banks
publish them, e.g. 阿波銀行「振込入金通知（全銀協制定フォーマット）」
(awabank.co.jp/houjin/service/fb/zengin/tsuchi/) and きらぼし銀行「入出金明細（全銀）
明細ファイル・フォーマット（全銀協規定形式）」:

* header: データ区分 1, 種別コード 2, コード区分 1, 作成日 6, 勘定日(自) 6, 勘定日(至) 6,
  銀行コード 4, 銀行名 15, 支店コード 3, 支店名 15, then 預金種目 1 and 口座番号 7
  (03 has a 3-digit ダミー before them);
* 01 data: データ区分 1, 照会番号 6, 勘定日 6, 起算日 6, 金額 10, うち他店券金額 10,
  振込依頼人コード 10, 振込依頼人名 48, 仕向銀行名 15, 仕向店名 15, 取消区分 1, EDI情報 20, ダミー 52;
* 03 data: データ区分 1, 照会番号 8, 勘定日 6, 預入・払出日 6, 入払区分 1 (1 入金, 2 出金),
  取引区分 2, 取引金額 12, うち他店券金額 12, 交換呈示日 6, 不渡返還日 6, 手形・小切手区分 1,
  手形・小切手番号 7, 僚店番号 3, 振込依頼人コード 10, 振込依頼人名又は契約者番号 48,
  仕向銀行名 15, 仕向店名 15, 摘要内容 20, EDI情報 20, ダミー 1;
* 03 trailer: データ区分 1, 入金件数 6, 入金額合計 13, 出金件数 6, 出金額合計 13, ...: the
  incoming lines read must add up to it, else the file is refused as damaged.

An 01 line with 取消区分 1 withdraws a notification: it is not a transfer and
is skipped.  A file some bank cut to 120 bytes a record (the 総合振込 width,
which no statement uses) is refused with that said.
"""

from __future__ import annotations

from datetime import date

from daemon.rules.bank_statements.statement import BadStatement, Statement, amount, numbered

RECORD = 200
NOTICE, TRANSACTIONS = "01", "03"


def looks_like(data: bytes) -> bool:
    """Does the file start like a 全銀 statement header (データ区分 1, 種別コード 01/03, コード区分 0)?"""
    return data[:1] == b"1" and data[1:3] in (b"01", b"03") and data[3:4] in (b"0", b"1")


def records(data: bytes) -> list[str]:
    """The file's records, decoded; CR LF separated or back to back."""
    if b"\n" in data:
        chunks = [c.rstrip(b"\r") for c in data.split(b"\n")]
        chunks = [c for c in chunks if c.strip(b" \x1a")]  # a trailing newline, an MS-DOS EOF mark
    else:
        body = data.rstrip(b"\x1a")
        chunks = [body[i : i + RECORD] for i in range(0, len(body), RECORD)]
    out: list[str] = []
    for number, chunk in enumerate(chunks, 1):
        if len(chunk) != RECORD:
            hint = " (120 is the 総合振込 width: ask the bank for the 入出金明細 or 振込入金通知 file)" * (
                len(chunk) == 120
            )
            raise BadStatement(f"a record is {RECORD} bytes, this one {len(chunk)}{hint}", number)
        try:
            out.append(chunk.decode("cp932"))
        except UnicodeDecodeError:
            raise BadStatement("not Shift_JIS text (an EBCDIC file? ask the bank for JIS)", number) from None
    return out


def wareki(text: str, number: int) -> date:
    """和暦 YYMMDD as 令和; ``000000`` and nonsense are refused."""
    if not text.isdigit():
        raise BadStatement(f"date {text!r} is not YYMMDD", number)
    try:
        return date(2018 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise BadStatement(f"date {text!r} is not a day", number) from None


def _account(record: str, kind: str) -> str:
    bank, branch = record[22:26], record[41:44]
    number = record[63:70] if kind == TRANSACTIONS else record[60:67]
    return f"{bank}-{branch}-{number}"


def parse(data: bytes) -> Statement:
    rows = records(data)
    if not rows or not looks_like(rows[0].encode("cp932")):
        raise BadStatement(
            "not a 全銀 statement: the first record is not a header of 振込入金通知 (01) or 入出金取引明細 (03)"
        )
    if rows[0][3] != "0":
        raise BadStatement("コード区分 1 is EBCDIC: ask the bank for the JIS file", 1)
    found: list[tuple[str, tuple[date, int, str, str]]] = []
    kind, account, counted, summed, ended = "", "", 0, 0, False
    for number, rec in enumerate(rows, 1):
        tag = rec[0]
        if ended:
            raise BadStatement("records after the end record", number)
        if tag == "1":
            kind, account, counted, summed = rec[1:3], _account(rec, rec[1:3]), 0, 0
            if kind not in (NOTICE, TRANSACTIONS):
                raise BadStatement(f"種別コード {kind} is not a statement (01 振込入金通知, 03 入出金取引明細)", number)
        elif tag == "2" and kind == NOTICE:
            if rec[127] != "1":  # 取消区分 1: a notification withdrawn
                line = (wareki(rec[7:13], number), amount(rec[19:29], number), rec[49:97], rec[1:7])
                found.append((account, line))
        elif tag == "2" and kind == TRANSACTIONS:
            if rec[21] == "1":  # 入払区分: 1 入金, 2 出金
                yen = amount(rec[24:36], number)
                found.append((account, (wareki(rec[9:15], number), yen, rec[81:129], rec[1:9])))
                counted, summed = counted + 1, summed + yen
            elif rec[21] != "2":
                raise BadStatement(f"入払区分 {rec[21]!r} is neither 1 (入金) nor 2 (出金)", number)
        elif tag == "8" and kind:
            if kind == TRANSACTIONS and (amount(rec[1:7], number), amount(rec[7:20], number)) != (counted, summed):
                raise BadStatement(
                    f"the trailer counts {int(rec[1:7])} deposits of {int(rec[7:20]):,} yen;"
                    f" the records hold {counted} of {summed:,} yen (a damaged file)",
                    number,
                )
            kind = ""
        elif tag == "9" and not kind:
            ended = True
        else:
            raise BadStatement(f"データ区分 {tag!r} out of place", number)
    if kind:
        raise BadStatement("the file ends before the trailer record (cut short?)")
    by_account: dict[str, list[tuple[date, int, str, str]]] = {}
    for acct, line in found:
        by_account.setdefault(acct, []).append(line)
    lines = tuple(line for acct, group in by_account.items() for line in numbered(acct, group))
    first = _account(rows[0], rows[0][1:3])
    return Statement("zengin", first, lines)
