"""Bank statements read into incoming transfers: 全銀協 fixed-length files and net banks' CSV.

:func:`read` tells the format from the file itself and returns a
:class:`Statement` whose lines are the money that came in (date, yen,
振込依頼人名 in full-width katakana) with a key per line that a later import
of the same transfer repeats.  Pure: bytes in, values out; nothing here knows
callers, invoices or the database.  No well-kept PyPI package reads these
formats (the PyPI list has MT940/CAMT/OFX readers, none for 全銀 or the
Japanese net banks' CSV), hence our own.
"""

from __future__ import annotations

from daemon.rules.bank_statements import net_banks, zengin
from daemon.rules.bank_statements.kana import display, match_key
from daemon.rules.bank_statements.statement import BadStatement, Line, Statement

MAX_FILE_BYTES = 5 * 1024 * 1024  # years of a small business's statement; a larger upload is not one

__all__ = ["MAX_FILE_BYTES", "BadStatement", "Line", "Statement", "display", "match_key", "read"]


def read(data: bytes) -> Statement:
    """The statement in ``data``; :class:`BadStatement` says in English what is wrong and where."""
    if len(data) > MAX_FILE_BYTES:
        raise BadStatement(f"the file is {len(data):,} bytes; a statement is at most {MAX_FILE_BYTES:,}")
    if not data.strip():
        raise BadStatement("the file is empty")
    if zengin.looks_like(data):
        return zengin.parse(data)
    return net_banks.parse(data)
