"""Call records as CSV: for programs (the operator API) and for people (the console's call history).

The API's ``calls.csv`` keeps its machine columns (English names, ids, ISO 8601
times in Asia/Tokyo beside FreeSWITCH's microseconds): accounting programs read
it by those names.  The console's is for a person opening it in Excel
(:mod:`daemon.http.excel_csv`): Japanese headers, names instead of ids, Japan
times, refused attempts with their reason, and a BOM.  Both stream from the
database's cursor, so a large export never sits in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from daemon.http import excel_csv
from daemon.http.coaching_models import CallOut
from daemon.rules.attempt_reasons import words
from daemon.services.values import TOKYO

# Beside FreeSWITCH's microsecond timestamps, the same instants for people: ISO 8601 in Japan time.
_READABLE = {"answer_us": "answer_time", "end_us": "end_time"}
CSV_FIELDS = [name for field in CallOut.model_fields for name in (field, _READABLE.get(field)) if name]

_EPOCH = datetime.fromtimestamp(0, TOKYO)


def _readable_us(value: int | None) -> str | None:
    return None if value is None else (_EPOCH + timedelta(microseconds=value)).isoformat()  # exact, no float


def _csv_row(row: Any) -> list[object]:
    values = dict(row)
    values["created_at"] = values["created_at"].astimezone(TOKYO).isoformat()
    for micros, readable in _READABLE.items():
        values[readable] = _readable_us(values[micros])
    return [values[name] for name in CSV_FIELDS]


async def _machine_rows(rows: AsyncIterator[asyncpg.Record]) -> AsyncIterator[list[object]]:
    async for row in rows:
        yield _csv_row(row)


async def stream_calls(
    request: web.Request, rows: AsyncIterator[asyncpg.Record], filename: str = "calls.csv"
) -> web.StreamResponse:
    """``rows`` (from :func:`daemon.repositories.operator_queries.calls`) as the API's CSV download."""
    return await excel_csv.stream(request, CSV_FIELDS, _machine_rows(rows), filename, excel=False)


# -- the console's call history, for people -------------------------------------------------

HISTORY_HEADER = (
    "受付日時",
    "区分",
    "拒否の理由",
    "利用者",
    "発信番号",
    "相談員",
    "グループ",
    "状態",
    "応答日時",
    "終了日時",
    "通話秒数",
    "料金（円）",
    "通話ID",
)
KINDS = {"call": "通話", "refused": "拒否"}


@dataclass(frozen=True, slots=True)
class Names:
    """Ids → the names people know (the tenant's callers, counsellors, groups) and the states' words."""

    callers: Mapping[int, str] = field(default_factory=dict)
    counsellors: Mapping[int, str] = field(default_factory=dict)
    groups: Mapping[int, str] = field(default_factory=dict)
    states: Mapping[str, str] = field(default_factory=dict)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(TOKYO).strftime("%Y/%m/%d %H:%M:%S")


def _when_us(value: int | None) -> str:
    return "" if value is None else _when(_EPOCH + timedelta(microseconds=value))


def history_row(row: asyncpg.Record | Mapping[str, Any], names: Names) -> Sequence[object]:
    """One row of :func:`daemon.repositories.attempts.history` as a person reads it."""
    return (
        _when(row["created_at"]),
        KINDS.get(row["kind"], row["kind"]),
        words(row["reason"]) if row["reason"] else "",
        names.callers.get(row["caller_id"], "") if row["caller_id"] else "",
        row["caller_number"] or "非通知",
        names.counsellors.get(row["counsellor_id"], "") if row["counsellor_id"] else "",
        names.groups.get(row["group_id"], "") if row["group_id"] else "",
        names.states.get(row["state"], row["state"]),
        _when_us(row["answer_us"]),
        _when_us(row["end_us"]),
        row["billed_seconds"],
        row["charge_yen"],
        row["call_uuid"],
    )


async def _people_rows(rows: AsyncIterator[asyncpg.Record], names: Names) -> AsyncIterator[Sequence[object]]:
    async for row in rows:
        yield history_row(row, names)


async def stream_history(
    request: web.Request, rows: AsyncIterator[asyncpg.Record], names: Names, filename: str = "calls.csv"
) -> web.StreamResponse:
    """The console's call history (calls and refused attempts) as a CSV Excel opens."""
    return await excel_csv.stream(request, HISTORY_HEADER, _people_rows(rows, names), filename)
