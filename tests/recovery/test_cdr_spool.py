"""SpoolReader: the spooled CDRs go into fs_cdr once, whatever is in the spool directory."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from daemon.recovery.cdr_spool import LIVE, REJECTED, SpoolReader
from emulator.cdr import load_schema

SCHEMA = load_schema()


def statement(leg: uuid.UUID, end_us: int, **extra: str) -> str:
    values = {
        "uuid": str(leg),
        "start_uepoch": "1765000000000000",
        "answer_uepoch": "1765000001000000",
        "bridge_uepoch": "0",
        "end_uepoch": str(end_us),
        "billsec": "3",
        "hangup_cause": "NORMAL_CLEARING",
    }
    return SCHEMA.insert(values | extra) + "\n"


async def ends(pool: asyncpg.Pool) -> dict[uuid.UUID, int]:
    return {r["uuid"]: r["end_uepoch"] for r in await pool.fetch("SELECT uuid, end_uepoch FROM fs_cdr")}


async def test_the_live_file_is_read_from_where_it_was_left_and_nothing_twice(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    live = tmp_path / LIVE
    live.write_text(statement(a, 1765000004500000))
    reader = SpoolReader(tmp_path)

    first = await reader.replay(pool)
    with live.open("a") as f:
        f.write(statement(b, 1765000009000000) + statement(c, 1)[:50])  # c: still being written
    second = await reader.replay(pool)
    with live.open("a") as f:
        f.write(statement(c, 1765000011000000)[50:])
    third = await reader.replay(pool)
    again = await SpoolReader(tmp_path).replay(pool)  # a restarted daemon reads it all again

    assert (first.added, second.added, third.added) == (1, 1, 1)
    assert (again.added, again.already_there) == (0, 3)
    assert await ends(pool) == {a: 1765000004500000, b: 1765000009000000, c: 1765000011000000}
    assert live.exists()  # FreeSWITCH's file: read, never removed


async def test_a_rotated_file_is_put_back_and_removed(pool: asyncpg.Pool, tmp_path: Path) -> None:
    leg = uuid.uuid4()
    rotated = tmp_path / f"{LIVE}.2026-12-07-01-02-03"
    rotated.write_text(statement(leg, 1765000004500000))

    outcome = await SpoolReader(tmp_path).replay(pool)

    assert outcome.added == 1 and not rotated.exists()
    assert await ends(pool) == {leg: 1765000004500000}


async def test_what_is_not_a_cdr_is_set_aside_with_its_reason_and_the_rest_goes_in(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    good = uuid.uuid4()
    (tmp_path / LIVE).write_text(
        "INSERT INTO ledger (caller_id,amount_yen) VALUES (1,-100000);\n"
        "INSERT INTO fs_cdr (uuid,secret) VALUES ('x','y');\n"
        "INSERT INTO fs_cdr (uuid,end_uepoch) VALUES ('not-a-uuid',5);\n" + statement(good, 1765000004500000)
    )

    outcome = await SpoolReader(tmp_path).replay(pool)

    assert (outcome.added, outcome.rejected) == (1, 3)
    assert await ends(pool) == {good: 1765000004500000}
    assert await pool.fetchval("SELECT count(*) FROM ledger") == 0
    rejected = (tmp_path / REJECTED).read_text()
    assert "table ledger, not fs_cdr" in rejected
    assert "fs_cdr has no column secret" in rejected
    assert "badly formed hexadecimal UUID string" in rejected


async def test_no_spool_directory_is_nothing_to_do(pool: asyncpg.Pool, tmp_path: Path) -> None:
    outcome = await SpoolReader(tmp_path / "absent").replay(pool)
    assert (outcome.added, outcome.rejected) == (0, 0)
