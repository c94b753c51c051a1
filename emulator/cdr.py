"""mod_cdr_pg_csv: one ``INSERT INTO fs_cdr`` per destroyed channel (caller and far-end legs).

What the module does (src/mod/event_handlers/mod_cdr_pg_csv/mod_cdr_pg_csv.c, 1.10) with our
configuration (freeswitch/conf/autoload_configs/cdr_pg_csv.conf.xml, read here, so the
emulator writes exactly the configured fields): at CS_REPORTING of every leg (``legs`` = ab)
it builds ``INSERT INTO <db-table> (<columns>) VALUES (<values>);`` from the channel's
variables (a variable lookup falls back to the caller profile: ``uuid``,
``caller_id_number``, ``destination_number``), escaped like PQescapeString; a quoted field's
empty value becomes ``null`` (``''`` with ``not-null="true"``), an unquoted one is written as
it is.  It runs the statements one at a time on one connection, under one module-wide lock.
A failed INSERT is not retried: like the real module (``spool-format`` sql), the writer
appends the statement and a newline to ``<spool_dir>/cdr-spool.sql`` when it has a spool
directory, and keeps it in :attr:`CdrWriter.failed` either way.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from emulator.channel import Channel

CONF = Path(__file__).resolve().parents[1] / "freeswitch" / "conf" / "autoload_configs" / "cdr_pg_csv.conf.xml"


@dataclass(frozen=True, slots=True)
class CdrField:
    var: str
    column: str
    quote: bool
    not_null: bool


@dataclass(frozen=True, slots=True)
class CdrSchema:
    table: str
    fields: tuple[CdrField, ...]

    def insert(self, variables: dict[str, str]) -> str:
        """The statement my_on_reporting() builds for one channel."""
        values = []
        for f in self.fields:
            value = variables.get(f.var) or ""
            value = value.replace("'", "''")  # PQescapeString, standard_conforming_strings on
            if not f.quote:
                values.append(value)
            elif not value and not f.not_null:
                values.append("null")
            else:
                values.append(f"'{value}'")
        columns = ",".join(f.column for f in self.fields)
        return f"INSERT INTO {self.table} ({columns}) VALUES ({','.join(values)});"


def load_schema(path: Path = CONF) -> CdrSchema:
    """``<settings>`` db-table and ``<schema>`` fields, as load_config() reads them."""
    root = ET.parse(path).getroot()
    table = next(p.get("value", "") for p in root.findall("./settings/param") if p.get("name") == "db-table")
    fields = tuple(
        CdrField(
            var=e.get("var", ""),
            column=e.get("column", e.get("var", "")),
            quote=e.get("quote") != "false",
            not_null=e.get("not-null") == "true",
        )
        for e in root.findall("./schema/field")
        if e.get("var")
    )
    return CdrSchema(table, fields)


def channel_values(ch: Channel, schema: CdrSchema) -> dict[str, str]:
    """Each field's variable on this channel (``switch_channel_get_variable``, profile fallback)."""
    p = ch.profile
    profile = {"uuid": ch.uuid, "caller_id_number": p.cid_number, "destination_number": p.destination}
    values: dict[str, str] = {}
    for f in schema.fields:
        value = ch.get_var(f.var)
        if value is None:
            value = profile.get(f.var)
        if value is not None:
            values[f.var] = value
    return values


class CdrWriter:
    """Writes the CDRs of one emulated FreeSWITCH, in channel-end order, on one lazily opened connection."""

    def __init__(self, dsn: str, schema: CdrSchema | None = None, *, spool_dir: Path | None = None) -> None:
        self.dsn = dsn
        self.schema = schema or load_schema()
        self.spool_dir = spool_dir
        self.written = 0
        self.failed: list[tuple[str, str]] = []  # (statement, error): the real module's spool
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def channel_ended(self, ch: Channel) -> None:
        """Called at the end of a leg, with its billing variables already set."""
        self._queue.put_nowait(self.schema.insert(channel_values(ch, self.schema)))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while (statement := await self._queue.get()) is not None:
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self.dsn, timeout=2)
                    await conn.execute(statement)
                    self.written += 1
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                    self.failed.append((statement, repr(exc)))
                    self._spool(statement)
        finally:
            if conn is not None:
                await conn.close()

    def _spool(self, statement: str) -> None:
        """spool_cdr(): the statement and a newline, in one write, appended to cdr-spool.sql."""
        if self.spool_dir is None:
            return
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        with (self.spool_dir / "cdr-spool.sql").open("a", encoding="utf-8") as spool:
            spool.write(statement + "\n")

    async def flush(self, within: float = 10.0) -> None:
        """Write what is queued, then close the connection (the next CDR opens a new one)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._queue.put_nowait(None)
        await asyncio.wait_for(task, within)
