"""mod_cdr_pg_csv's configuration against the table it writes (sql/003_fs_cdr.sql).

How the module turns the configuration into SQL (src/mod/event_handlers/mod_cdr_pg_csv/
mod_cdr_pg_csv.c, FreeSWITCH 1.10): at the end of each channel it runs
``INSERT INTO <db-table> (<columns>) VALUES (<values>);``. Each value is the channel variable
named in ``var``, escaped with PQescapeString. A quoted field (the default) gives ``'value'``,
or ``null`` when the value is empty (unless ``not-null="true"``). A field with
``quote="false"`` gives the raw value, so an empty one breaks the statement. A failed
INSERT is spooled to disk and never retried, so a mismatch between this file and the table
loses every CDR to the spool.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from daemon.esl import Event, Parser
from daemon.recovery.reconcile import cdr_end
from tests.transcripts import chunks

ROOT = Path(__file__).resolve().parents[2]
CDR_CONF = ROOT / "freeswitch" / "conf" / "autoload_configs" / "cdr_pg_csv.conf.xml"
README = ROOT / "freeswitch" / "conf" / "README.md"
FS_CDR_SQL = ROOT / "sql" / "003_fs_cdr.sql"
PLACEHOLDER = "@CALLD_CDR_DSN@"

# config_settings[] of mod_cdr_pg_csv.c. An unknown name is only warned about.
SETTINGS = {"db-info", "db-table", "legs", "spool-format", "spool-dir", "rotate-on-hup", "debug"}
# config_opt_cdr_leg_enum: any other value logs "Invalid value" and falls back to "a".
LEGS = {"a", "b", "ab"}
FIELD_ATTRIBUTES = {"var", "column", "quote", "not-null"}
# Set by switch_channel_set_timestamps() at every hangup, before the reporting state in which
# the module runs: "0" when the moment never came (unanswered, never bridged), never empty.
ALWAYS_SET_NUMBERS = {
    "start_uepoch",
    "profile_start_uepoch",
    "answer_uepoch",
    "bridge_uepoch",
    "progress_uepoch",
    "progress_media_uepoch",
    "end_uepoch",
    "duration",
    "billsec",
    "mduration",
    "billmsec",
    "uduration",
    "billusec",
}
NUMERIC_TYPES = {"bigint", "integer", "smallint"}
# Never empty: every channel has its uuid (a caller-profile field).
ALWAYS_SET_TEXT = {"uuid"}
# Caller-profile fields: a channel-variable lookup falls back to them (switch_channel_get_variable).
PROFILE_HEADERS = {
    "uuid": "Unique-ID",
    "caller_id_number": "Caller-Caller-ID-Number",
    "destination_number": "Caller-Destination-Number",
}


@dataclass(frozen=True)
class Column:
    type: str
    not_null: bool
    has_default: bool


@dataclass(frozen=True)
class Field:
    var: str
    column: str
    quote: bool
    not_null: bool


def table() -> tuple[str, dict[str, Column]]:
    """The CREATE TABLE of sql/003_fs_cdr.sql: its name and its columns."""
    text = re.sub(r"--[^\n]*", "", FS_CDR_SQL.read_text(encoding="utf-8"))
    match = re.search(r"CREATE\s+TABLE\s+(\w+)\s*\((.*)\)\s*;", text, re.S | re.I)
    assert match is not None, "one CREATE TABLE in sql/003_fs_cdr.sql"
    name, body = match.groups()
    parts, depth, current = [], 0, ""
    for char in body:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    columns: dict[str, Column] = {}
    for part in parts:
        words = part.split()
        if not words or words[0].upper() in {"PRIMARY", "UNIQUE", "CONSTRAINT", "CHECK", "FOREIGN"}:
            continue
        rest = " ".join(words[1:]).lower()
        column_type = re.split(r"\s+(?:primary|not|null|default|references|unique|check)\b", rest)[0]
        columns[words[0]] = Column(
            type=column_type.strip(),
            not_null="not null" in rest or "primary key" in rest,
            has_default="default" in rest,
        )
    return name, columns


def config() -> ET.Element:
    root = ET.parse(CDR_CONF).getroot()
    assert root.tag == "configuration" and root.get("name") == "cdr_pg_csv.conf"
    return root


def settings() -> dict[str, str]:
    params = [(p.get("name", ""), p.get("value", "")) for p in config().findall("./settings/param")]
    assert len({name for name, _ in params}) == len(params), "each setting once"
    return dict(params)


def fields() -> list[Field]:
    """<schema> read the way load_config() reads it."""
    schema = config().find("schema")
    assert schema is not None, "without <schema> the module dereferences a NULL schema at the first hangup"
    out = []
    for element in schema.findall("field"):
        assert set(element.attrib) <= FIELD_ATTRIBUTES, element.attrib
        var = element.get("var")
        assert var, "a field without var is skipped"
        # Only the exact strings count: strncmp(attr, "false", 5) and strncmp(attr, "true", 4).
        assert element.get("quote") in {None, "false"}, f"{var}: quote is either absent or 'false'"
        assert element.get("not-null") in {None, "true", "false"}, var
        out.append(
            Field(var, element.get("column", var), element.get("quote") != "false", element.get("not-null") == "true")
        )
    assert out, "an empty schema writes nothing"
    return out


def test_settings() -> None:
    params = settings()
    assert set(params) <= SETTINGS, set(params) - SETTINGS
    name, _ = table()
    assert params["db-table"] == name == "fs_cdr"
    assert params["legs"] in LEGS
    assert set(params["legs"]) == {"a", "b"}, "both legs: the caller's and the counsellor's"
    assert params["spool-format"] == "sql", "whole INSERT statements, replayable with psql"
    spool = Path(params["spool-dir"])
    assert spool.is_absolute() and spool == Path("/var/lib/freeswitch/cdr-pg-csv")
    assert spool.as_posix() in README.read_text(encoding="utf-8"), "the install step creates the spool directory"
    assert params["rotate-on-hup"] == "true"
    assert params.get("debug", "false") == "false", "debug logs every channel's variables"


def test_dsn_is_a_placeholder_not_a_password() -> None:
    dsn = settings()["db-info"]
    placeholder, *extra = dsn.split()
    assert placeholder == PLACEHOLDER, "the install step replaces it (README: CDRs into PostgreSQL)"
    assert "$${" not in dsn, "an undefined pre-processor variable gives an empty DSN: libpq's defaults"
    keywords = dict(item.split("=", 1) for item in extra)
    assert "password" not in keywords and "user" not in keywords and "host" not in keywords
    # After the placeholder, so they override the same keywords in the replaced DSN.
    assert keywords["connect_timeout"] == "2"
    assert int(keywords["tcp_user_timeout"]) <= 10_000
    readme = README.read_text(encoding="utf-8")
    assert f"s|{PLACEHOLDER}|" in readme and f"grep -c '{PLACEHOLDER}'" in readme


def test_every_column_exists_with_a_compatible_type() -> None:
    _, columns = table()
    written = fields()
    names = [f.column for f in written]
    assert len(set(names)) == len(names), "each column once"
    for field in written:
        assert field.column in columns, f"{field.column}: not in fs_cdr, every INSERT would fail"
        column = columns[field.column]
        if not field.quote:
            assert field.var in ALWAYS_SET_NUMBERS, f"{field.var}: unquoted and possibly unset breaks the INSERT"
            assert column.type in NUMERIC_TYPES, f"{field.column}: unquoted number into {column.type}"
        elif not field.not_null:
            assert not column.not_null or field.var in ALWAYS_SET_TEXT, f"{field.column}: empty is written as NULL"
        else:
            assert column.type == "text", f"{field.column}: not-null writes '' for an empty value"
        if field.var.endswith("_uepoch"):
            assert column.type == "bigint", f"{field.column}: microseconds since 1970 overflow integer"
    missing = {name for name, c in columns.items() if not c.has_default} - set(names)
    assert not missing, f"columns FreeSWITCH leaves empty: {missing}"


def test_the_columns_reconciliation_reads() -> None:
    by_column = {f.column: f for f in fields()}
    assert by_column["uuid"].var == "uuid"
    assert by_column["end_uepoch"].var == "end_uepoch" and not by_column["end_uepoch"].quote
    # bridge_uuid is set on both legs by the bridge; ${bleg_uuid} exists only on the caller leg.
    assert by_column["bleg_uuid"].var == "bridge_uuid"


def channel_variable(event: Event, name: str) -> str | None:
    value = event.get(f"variable_{name}")
    return value if value is not None or name not in PROFILE_HEADERS else event.get(PROFILE_HEADERS[name])


def module_insert(variables: dict[str, str]) -> str:
    """The statement mod_cdr_pg_csv's my_on_reporting() builds for one channel."""
    values = []
    for field in fields():
        value = variables.get(field.var)
        if value is not None:
            value = value.replace("'", "''")  # PQescapeString, standard_conforming_strings on
        if not field.quote:
            values.append(value or "")
        elif not field.not_null and not value:
            values.append("null")
        else:
            values.append(f"'{value or ''}'")
    columns = ",".join(f.column for f in fields())
    return f"INSERT INTO {settings()['db-table']} ({columns}) VALUES ({','.join(values)});"


def crash_in_bridge_legs() -> list[dict[str, str]]:
    """Both legs' variables at hangup, from the real crash (backstop_crash_in_bridge.inbound):
    the daemon died during the bridge and sched_hangup ended the caller leg."""
    parser = Parser()
    frames = [
        frame for chunk in chunks("backstop_crash_in_bridge.inbound.jsonl", "fs>app") for frame in parser.feed(chunk)
    ]
    events = [f.event() for f in frames if f.content_type == "text/event-plain"]
    complete = [e for e in events if e.name == "CHANNEL_HANGUP_COMPLETE"]
    assert len(complete) == 2
    legs = []
    for event in complete:
        values = {f.var: channel_variable(event, f.var) for f in fields()}
        legs.append({name: value for name, value in values.items() if value is not None})
    return legs


async def test_freeswitch_rows_land_and_give_the_real_end(pool: asyncpg.Pool) -> None:
    counsellor, caller = crash_in_bridge_legs()
    assert caller["hangup_cause"] == "ALLOTTED_TIMEOUT" and caller["bridge_uuid"] == counsellor["uuid"]
    # A counsellor who was rung in parallel and never answered: never bridged, times "0".
    unanswered = {
        "uuid": str(uuid.uuid4()),
        "caller_id_number": caller["caller_id_number"],
        "destination_number": "08099998888",
        "start_uepoch": caller["start_uepoch"],
        "answer_uepoch": "0",
        "bridge_uepoch": "0",
        "end_uepoch": caller["bridge_uepoch"],
        "billsec": "0",
        "hangup_cause": "LOSE_RACE",
    }
    for leg in (counsellor, caller, unanswered):
        await pool.execute(module_insert(leg))

    rows = {str(r["uuid"]): r for r in await pool.fetch("SELECT * FROM fs_cdr")}
    assert str(rows[caller["uuid"]]["bleg_uuid"]) == counsellor["uuid"]
    assert str(rows[counsellor["uuid"]]["bleg_uuid"]) == caller["uuid"]
    assert rows[caller["uuid"]]["destination_number"] == "0312345678"
    lost = rows[unanswered["uuid"]]
    assert lost["bleg_uuid"] is None and lost["answer_uepoch"] == 0 and lost["billsec"] == 0

    legs = [uuid.UUID(caller["uuid"]), uuid.UUID(counsellor["uuid"])]
    end = min(int(caller["end_uepoch"]), int(counsellor["end_uepoch"]))
    assert await cdr_end(pool, legs) == end


async def test_quoted_text_is_escaped_and_unset_numbers_would_break(pool: asyncpg.Pool) -> None:
    leg = crash_in_bridge_legs()[1] | {"uuid": str(uuid.uuid4()), "caller_id_number": "0'); DROP TABLE fs_cdr; --"}
    await pool.execute(module_insert(leg))
    assert await pool.fetchval("SELECT caller_id_number FROM fs_cdr") == leg["caller_id_number"]
    # Why only always-set variables are unquoted: an unset one leaves ",," in VALUES.
    unset = dict(leg, uuid=str(uuid.uuid4()))
    del unset["bridge_uepoch"]
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await pool.execute(module_insert(unset))


def readme_role_sql() -> list[str]:
    readme = README.read_text(encoding="utf-8")
    block = re.search(r"<<SQL\n(.*?)\nSQL\n", readme, re.S)
    assert block is not None, "README: the role's SQL"
    return [line for line in block.group(1).splitlines() if line.strip()]


async def test_the_readme_role_may_insert_and_nothing_else(pool: asyncpg.Pool, db_dsn: str) -> None:
    statements = readme_role_sql()
    assert statements[0].startswith("CREATE ROLE freeswitch_cdr LOGIN PASSWORD '$pw'")
    assert "GRANT INSERT ON TABLE fs_cdr TO freeswitch_cdr;" in statements
    assert not any(word in " ".join(statements) for word in ("SELECT", "UPDATE", "DELETE", "ALL"))
    role, password = f"fs_cdr_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    database = await pool.fetchval("SELECT current_database()")
    for statement in statements:
        sql = statement.replace("freeswitch_cdr", role).replace("$pw", password)
        await pool.execute(sql.replace("DATABASE calld ", f'DATABASE "{database}" '))
    try:
        conn = await asyncpg.connect(db_dsn, user=role, password=password)
        try:
            for leg in crash_in_bridge_legs():
                await conn.execute(module_insert(leg))
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT * FROM fs_cdr")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM fs_cdr")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SELECT * FROM call_records")
        finally:
            await conn.close()
        assert await pool.fetchval("SELECT count(*) FROM fs_cdr") == 2
    finally:
        await pool.execute(f'REVOKE ALL ON fs_cdr FROM "{role}"')
        await pool.execute(f'REVOKE ALL ON SCHEMA public FROM "{role}"')
        await pool.execute(f'REVOKE ALL ON DATABASE "{database}" FROM "{role}"')
        await pool.execute(f'DROP ROLE "{role}"')
