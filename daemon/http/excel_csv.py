"""CSV downloads that Excel opens as they are: UTF-8 with a BOM, CRLF, and no cell read as a formula.

Without the BOM Excel reads UTF-8 as Shift_JIS and Japanese turns to mojibake;
a cell starting with ``=``, ``+``, ``-`` or ``@`` would be run as a formula
(CSV injection), so it is quoted with a leading apostrophe.  Large exports
stream (:func:`stream`); small ones are written whole (:func:`text`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence

from aiohttp import web

from daemon.logs import get_logger

_log = get_logger(__name__)

BOM = "\ufeff"
_CHUNK = 32_768


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formulas in spreadsheets


def text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole CSV, BOM first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return BOM + buffer.getvalue()


def download(filename: str) -> dict[str, str]:
    return {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


async def stream(
    request: web.Request,
    header: Sequence[str],
    rows: AsyncIterator[Sequence[object]],
    filename: str,
    *,
    excel: bool = True,
) -> web.StreamResponse:
    """``rows`` as a CSV download, written as they come; ``excel``: BOM first (else plain UTF-8, for programs)."""
    response = web.StreamResponse(headers=download(filename))
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if excel:
        buffer.write(BOM)
    writer.writerow(header)
    try:
        async for row in rows:
            writer.writerow([cell(v) for v in row])
            if buffer.tell() > _CHUNK:
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
