"""Every line logged inside a call names the call, with the caller's number masked; lines outside name none."""

from __future__ import annotations

import json

from tests.daemon_process import python_output

PROBE = """
import asyncio, logging, sys
from daemon import logs

logs.configure("info", stream=sys.stdout)
log = logs.get_logger("probe")

async def call(unique_id, caller):
    logs.bind_call(unique_id, caller, "0312345678")
    log.info("in_call")
    log.info("own_field", dialled="mine")
    logging.getLogger("library").warning("from_stdlib")
    await asyncio.create_task(child())

async def child():
    log.info("in_child_task")

async def main():
    log.info("before")
    await asyncio.gather(call("uuid-1", "09012345678"), call("uuid-2", ""))
    log.info("after")

asyncio.run(main())
"""


def lines() -> list[dict[str, object]]:
    return [json.loads(line) for line in python_output(PROBE).splitlines()]


def test_a_calls_lines_name_it_and_mask_the_caller() -> None:
    logged = lines()
    by_event: dict[object, list[dict[str, object]]] = {}
    for line in logged:
        by_event.setdefault(line["event"], []).append(line)
    for name in ("in_call", "from_stdlib", "in_child_task"):
        first, second = by_event[name]
        assert (first["call_uuid"], first["caller"], first["dialled"]) == ("uuid-1", "*******5678", "0312345678")
        assert (second["call_uuid"], second["caller"], second["dialled"]) == ("uuid-2", "", "0312345678")
    assert [line["dialled"] for line in by_event["own_field"]] == ["mine", "mine"]  # the line's own field wins
    for name in ("before", "after"):
        (line,) = by_event[name]
        assert "call_uuid" not in line and "caller" not in line and "dialled" not in line
