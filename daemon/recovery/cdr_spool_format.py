"""Reading mod_cdr_pg_csv's spool: the INSERT statements FreeSWITCH could not run.

When the database cannot be reached or refuses an INSERT, mod_cdr_pg_csv (1.10,
``spool-format`` sql) appends the statement it built to ``<spool-dir>/cdr-spool.sql``
and never retries it::

    INSERT INTO fs_cdr (uuid,bleg_uuid,...,hangup_cause) VALUES ('4f…',null,...,'NORMAL_CLEARING');

followed by a newline.  A quoted value is escaped with PQescapeString (quotes doubled;
under ``standard_conforming_strings`` backslashes are plain characters) and an empty one
is ``null``; an unquoted value (the µs times, billsec) is written as the channel had it.
A value may hold a newline of its own (the caller ID comes from the carrier), so a
statement ends at ``);`` plus newline outside quotes, not at every newline.

The file is never executed as SQL: anybody who can write into the spool directory
could otherwise run SQL as the daemon.  Each statement is parsed into a table, columns
and values (strings, integers or NULL), and anything else is refused with the reason;
the caller inserts the values with parameters, into columns it knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Value = str | int | None

_HEAD = re.compile(r"INSERT INTO ([a-z_][a-z0-9_]*) \(([a-z_][a-z0-9_]*(?:,[a-z_][a-z0-9_]*)*)\) VALUES \(")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_NUMBER = re.compile(r"-?[0-9]{1,19}")
_NULL = re.compile(r"null", re.IGNORECASE)
_NEXT = re.compile(r"\nINSERT INTO ")


@dataclass(frozen=True, slots=True)
class SpooledRow:
    table: str
    values: dict[str, Value]


@dataclass(frozen=True, slots=True)
class Refused:
    """A statement that is not one mod_cdr_pg_csv writes: its text and why."""

    text: str
    reason: str


def parse(text: str) -> tuple[list[SpooledRow | Refused], int]:
    """The complete statements in ``text`` and how many characters they took.

    The module writes a statement and its newline in one ``write()``; text after the last
    newline is one still being written, left for the next read (the length stops before it).
    """
    out: list[SpooledRow | Refused] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "\n":  # a blank line
            pos += 1
            continue
        parsed = _statement(text, pos)
        if not isinstance(parsed, str):
            row, pos = parsed
            out.append(row)
            continue
        following = _NEXT.search(text, pos)
        end = following.start() + 1 if following else (len(text) if text.endswith("\n") else None)
        if end is None:
            break
        out.append(Refused(text[pos:end].rstrip("\n"), parsed))
        pos = end
    return out, pos


def _statement(text: str, pos: int) -> tuple[SpooledRow | Refused, int] | str:
    """The statement at ``pos`` and where the next begins, or why it cannot be read."""
    head = _HEAD.match(text, pos)
    if head is None:
        return "not an INSERT INTO <table> (<columns>) VALUES (...) statement"
    columns = head.group(2).split(",")
    values: list[Value] = []
    at = head.end()
    while True:
        if m := _QUOTED.match(text, at):
            values.append(m.group(1).replace("''", "'"))
        elif m := _NULL.match(text, at):
            values.append(None)
        elif m := _NUMBER.match(text, at):
            values.append(int(m.group(0)))
        else:
            return f"value {len(values) + 1} is not a quoted string, a whole number or null"
        at = m.end()
        if text.startswith(",", at):
            at += 1
        elif text.startswith(");\n", at):
            break
        else:
            return f"unexpected text after value {len(values)}"
    end = at + 3
    if len(values) != len(columns):
        return Refused(text[pos:at], f"{len(columns)} columns but {len(values)} values"), end
    if len(set(columns)) != len(columns):
        return Refused(text[pos:at], "a column is named twice"), end
    return SpooledRow(head.group(1), dict(zip(columns, values, strict=True))), end
