"""Call records as CSV, for accounting: one writer for the operator API and the console.

Times in Asia/Tokyo beside FreeSWITCH's microseconds; no cell starts a
spreadsheet formula.  The rows stream from the database's cursor, so a large
export never sits in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from daemon.http.coaching_models import CallOut
from daemon.logs import get_logger
from daemon.services.values import TOKYO

_log = get_logger(__name__)

# Beside FreeSWITCH's microsecond timestamps, the same instants for people: ISO 8601 in Japan time.
_READABLE = {"answer_us": "answer_time", "end_us": "end_time"}
CSV_FIELDS = [name for field in CallOut.model_fields for name in (field, _READABLE.get(field)) if name]

_EPOCH = datetime.fromtimestamp(0, TOKYO)


def _readable_us(value: int | None) -> str | None:
    return None if value is None else (_EPOCH + timedelta(microseconds=value)).isoformat()  # exact, no float


def _csv_row(row: Any) -> list[str]:
    values = dict(row)
    values["created_at"] = values["created_at"].astimezone(TOKYO).isoformat()
    for micros, readable in _READABLE.items():
        values[readable] = _readable_us(values[micros])
    return [_cell(values[name]) for name in CSV_FIELDS]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formulas in spreadsheets


async def stream_calls(
    request: web.Request, rows: AsyncIterator[asyncpg.Record], filename: str = "calls.csv"
) -> web.StreamResponse:
    """``rows`` (from :func:`daemon.repositories.operator_queries.calls`) as a CSV download."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    try:
        async for row in rows:
            writer.writerow(_csv_row(row))
            if buffer.tell() > 32_768:
                await response.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
    except Exception:
        # the status line is gone already: cut the stream so the client sees a broken download
        _log.exception("csv_export_failed")
        if request.transport is not None:
            request.transport.abort()
        raise
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response
