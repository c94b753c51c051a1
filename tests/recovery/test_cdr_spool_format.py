"""Reading mod_cdr_pg_csv's spool: what the module writes parses back, nothing else runs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.recovery.cdr_spool_format import Refused, SpooledRow, parse
from emulator.cdr import load_schema

SCHEMA = load_schema()  # the shipped cdr_pg_csv.conf.xml, as the emulator's writer reads it
UUID = "4f0d6a8e-7a5b-4c3e-9d1f-2b6c8e0a1234"


def channel(**overrides: str) -> dict[str, str]:
    values = {
        "uuid": UUID,
        "caller_id_number": "09012345678",
        "destination_number": "0312345678",
        "start_uepoch": "1765000000000000",
        "answer_uepoch": "1765000001000000",
        "bridge_uepoch": "0",
        "end_uepoch": "1765000004500000",
        "billsec": "3",
        "hangup_cause": "NORMAL_CLEARING",
    }
    return values | overrides


def test_the_statement_the_module_writes_reads_back_as_its_values() -> None:
    statement = SCHEMA.insert(channel())
    [row], used = parse(statement + "\n")

    assert used == len(statement) + 1
    assert isinstance(row, SpooledRow) and row.table == "fs_cdr"
    assert row.values["uuid"] == UUID
    assert row.values["bleg_uuid"] is None  # never bridged: empty, so null
    assert row.values["end_uepoch"] == 1765000004500000
    assert row.values["billsec"] == 3
    assert row.values["hangup_cause"] == "NORMAL_CLEARING"


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40))
def test_any_caller_id_survives_the_round_trip(caller: str) -> None:
    """Quotes, commas, semicolons, ``);`` and newlines from the carrier stay data."""
    [row], _ = parse(SCHEMA.insert(channel(caller_id_number=caller)) + "\n")
    assert isinstance(row, SpooledRow)
    assert row.values["caller_id_number"] == (caller or None)


def test_sql_in_a_value_is_text_and_a_second_statement_is_refused() -> None:
    sneaky = SCHEMA.insert(channel(caller_id_number="x'); DROP TABLE ledger; --"))
    [row], _ = parse(sneaky + "\n")
    assert isinstance(row, SpooledRow) and row.values["caller_id_number"] == "x'); DROP TABLE ledger; --"

    items, _ = parse("INSERT INTO fs_cdr (uuid) VALUES ('a'); DELETE FROM ledger;\n")
    assert [type(i) for i in items] == [Refused]


def test_a_broken_line_is_refused_and_the_next_statement_still_read() -> None:
    good = SCHEMA.insert(channel())
    broken = SCHEMA.insert(channel(answer_uepoch=""))  # an unquoted empty value: the module's syntax error
    items, used = parse(f"{broken}\nDROP TABLE ledger;\n{good}\n")

    assert [type(i) for i in items] == [Refused, SpooledRow]  # everything up to the next INSERT is set aside
    assert isinstance(items[0], Refused) and "value 6" in items[0].reason
    assert items[0].text == f"{broken}\nDROP TABLE ledger;"
    assert used == len(broken) + len(good) + len("DROP TABLE ledger;\n") + 2


def test_a_statement_still_being_written_is_left_for_the_next_read() -> None:
    first = SCHEMA.insert(channel()) + "\n"
    half = SCHEMA.insert(channel(uuid="5f0d6a8e-7a5b-4c3e-9d1f-2b6c8e0a1234"))[:60]

    items, used = parse(first + half)

    assert len(items) == 1 and used == len(first)


def test_columns_and_values_must_agree() -> None:
    [item], _ = parse("INSERT INTO fs_cdr (uuid,billsec) VALUES ('a');\n")
    assert isinstance(item, Refused) and item.reason == "2 columns but 1 values"
