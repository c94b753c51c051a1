"""Putting back the CDRs FreeSWITCH spooled while the database was away.

mod_cdr_pg_csv never retries a failed INSERT: it appends it to
``<spool-dir>/cdr-spool.sql`` (rotated to ``cdr-spool.sql.<date>`` on SIGHUP) and moves
on.  A call whose end only that spool knows would be billed by estimate after a crash
(issue 16, item 3).  So this node reads the spool of the FreeSWITCH beside it
(``CALLD_CDR_SPOOL_DIR``) before its crash reconciliation and every few seconds after,
and inserts the rows that are not in ``fs_cdr`` yet (the uuid is the key: reading a
statement twice adds nothing).

* The live file stays FreeSWITCH's: it is only read, from where the last read ended
  (an inode change or a shorter file starts it again).  Rotated files are read whole
  and then removed.
* A statement that is not one the module writes, or names a column ``fs_cdr`` lacks,
  goes to ``cdr-spool.rejected`` with its reason and is logged; it never stops the rest.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from daemon.logs import get_logger
from daemon.recovery.cdr_spool_format import Refused, SpooledRow, parse
from daemon.repositories import fs_cdr

_log = get_logger(__name__)

LIVE = "cdr-spool.sql"
REJECTED = "cdr-spool.rejected"
TABLE = "fs_cdr"


@dataclass
class Replayed:
    added: int = 0
    already_there: int = 0
    rejected: int = 0


@dataclass
class SpoolReader:
    """One node's reader of one spool directory; remembers how far the live file was read."""

    directory: Path
    _read_to: dict[tuple[int, int], int] = field(default_factory=dict)  # (device, inode) → characters read

    async def replay(self, pool: asyncpg.Pool) -> Replayed:
        """Put back every complete statement not yet in ``fs_cdr``; database errors propagate (retry later)."""
        outcome = Replayed()
        if not self.directory.is_dir():
            return outcome
        rotated = sorted(p for p in self.directory.glob(f"{LIVE}.*") if p.is_file())
        for path in rotated:
            text = (await asyncio.to_thread(path.read_bytes)).decode("utf-8", errors="surrogateescape")
            items, _ = parse(text if text.endswith("\n") else text + "\n")  # a rotated file is finished
            await self._put_back(pool, path, items, outcome)
            path.unlink()
        live = self.directory / LIVE
        try:
            stat = live.stat()
        except FileNotFoundError:
            return outcome
        key = (stat.st_dev, stat.st_ino)
        start = self._read_to.get(key, 0)
        text = (await asyncio.to_thread(live.read_bytes)).decode("utf-8", errors="surrogateescape")
        if start > len(text):  # truncated: read it again from the start
            start = 0
        items, used = parse(text[start:])
        await self._put_back(pool, live, items, outcome)
        self._read_to = {key: start + used}
        if outcome.added or outcome.rejected:
            _log.warning("cdr_spool_replayed", directory=str(self.directory), **vars(outcome))
        return outcome

    async def _put_back(
        self, pool: asyncpg.Pool, path: Path, items: list[SpooledRow | Refused], outcome: Replayed
    ) -> None:
        rows: list[dict[str, object]] = []
        for item in items:
            checked = _checked(item)
            if isinstance(checked, Refused):
                self._reject(path, checked)
                outcome.rejected += 1
            else:
                rows.append(checked)
        added = await fs_cdr.insert_missing(pool, rows) if rows else 0
        outcome.added += added
        outcome.already_there += len(rows) - added

    def _reject(self, path: Path, item: Refused) -> None:
        _log.error("cdr_spool_statement_refused", file=path.name, reason=item.reason, text=item.text[:200])
        with (self.directory / REJECTED).open("a", encoding="utf-8", errors="surrogateescape") as out:
            out.write(f"-- {path.name}: {item.reason}\n{item.text}\n")
            out.flush()
            os.fsync(out.fileno())


def _checked(item: SpooledRow | Refused) -> dict[str, object] | Refused:
    """A row ready for ``fs_cdr``, or the reason it is not one."""
    if isinstance(item, Refused):
        return item
    if item.table != TABLE:
        return Refused(str(item.values)[:200], f"table {item.table}, not {TABLE}")
    try:
        return fs_cdr.typed(item.values)
    except ValueError as exc:
        return Refused(str(item.values)[:200], str(exc))
