"""The live board of one tenant: lines, live calls, counsellor states, read in one statement.

The database is the truth across nodes: lines in use are the tenant's
``active_calls`` rows (what admission counts, and ``/status``); a live call is
such a row, with its call record once the caller reached the hunt.

A counsellor's state comes from the columns the hunt writes
(:mod:`daemon.repositories.hunting`): ``current_call`` is set by the claim before their
phone rings and cleared when the attempt ends, ``wrapup_until`` after a talk.
"Ringing" is not stored: a counsellor claimed for a call whose record is not
(yet) talking to them is being rung (with ``ring_all`` several are, for one
call); once the record is ``talking`` with their id they are talking.

A caller from a waiting line stays on the board while the member handed to
them rings (``hunting``, with the group), and is ``waiting`` again when that
member did not answer and they are back at their place, though their call
record (opened for the first ring) says ``hunting``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

FREE, RINGING, TALKING, WRAPUP, OFF = "free", "ringing", "talking", "wrapup", "off"
MENU, HUNTING = "menu", "hunting"  # call states besides call_records' 'talking'
WAITING = "waiting"  # in a group's waiting line (no record yet: nothing is billed while waiting)


@dataclass(frozen=True, slots=True)
class LiveCall:
    call_uuid: uuid.UUID
    state: str  # menu (no record yet: at the guidance or keypad), waiting, hunting, talking
    caller_number: str
    billing: str | None
    group_name: str | None
    counsellor_name: str | None  # talking: who answered
    ringing: tuple[str, ...]  # hunting: whose phones ring now
    answer_us: int | None
    deadline_us: int | None  # the armed cutoff (limited callers)
    balance_yen: int | None  # prepaid callers: their balance (this call is charged when it ends)


@dataclass(frozen=True, slots=True)
class CounsellorState:
    id: int
    name: str
    state: str  # free, ringing, talking, wrapup, off
    on_duty: bool


@dataclass(frozen=True, slots=True)
class Board:
    contracted_lines: int
    lines_in_use: int
    calls: tuple[LiveCall, ...]
    counsellors: tuple[CounsellorState, ...]


_BOARD = """
SELECT
  (SELECT lines FROM line_contracts WHERE tenant_id = $1) AS contracted,
  (SELECT count(*) FROM active_calls WHERE tenant_id = $1) AS in_use,
  (SELECT COALESCE(json_agg(json_build_object(
      'call_uuid', a.call_uuid,
      'state', CASE
        WHEN r.state = 'talking' THEN 'talking'
        WHEN q.call_uuid IS NOT NULL AND q.offered_to IS NULL THEN 'waiting'
        WHEN r.state IS NOT NULL OR q.call_uuid IS NOT NULL
          OR EXISTS (SELECT 1 FROM counsellors c WHERE c.current_call = a.call_uuid) THEN 'hunting'
        ELSE 'menu' END,
      'caller_number', COALESCE(r.caller_number, ''),
      'billing', r.billing,
      'group_name', COALESCE(g.name, qg.name),
      'counsellor_name', CASE WHEN r.state = 'talking' THEN t.name END,
      'ringing', ARRAY(SELECT c.name FROM counsellors c
                       WHERE c.current_call = a.call_uuid AND c.tenant_id = $1
                         AND r.state IS DISTINCT FROM 'talking' ORDER BY c.id),
      'answer_us', r.answer_us,
      'deadline_us', r.deadline_us,
      'balance_yen', CASE WHEN p.billing = 'prepaid' THEN p.balance_yen END
    ) ORDER BY a.started_at, a.call_uuid), '[]')
   FROM active_calls a
   LEFT JOIN call_records r ON r.call_uuid = a.call_uuid AND r.state <> 'ended'
   LEFT JOIN counsellor_groups g ON g.id = r.group_id
   LEFT JOIN counsellors t ON t.id = r.counsellor_id
   LEFT JOIN callers p ON p.id = r.caller_id
   LEFT JOIN waiting_calls q ON q.call_uuid = a.call_uuid
   LEFT JOIN counsellor_groups qg ON qg.id = q.group_id
   WHERE a.tenant_id = $1) AS calls,
  (SELECT COALESCE(json_agg(json_build_object(
      'id', c.id,
      'name', c.name,
      'on_duty', c.on_duty,
      'state', CASE
        WHEN c.current_call IS NOT NULL AND r.state = 'talking' AND r.counsellor_id = c.id THEN 'talking'
        WHEN c.current_call IS NOT NULL THEN 'ringing'
        WHEN NOT c.on_duty THEN 'off'
        WHEN c.wrapup_until > now() THEN 'wrapup'
        ELSE 'free' END
    ) ORDER BY c.id), '[]')
   FROM counsellors c
   LEFT JOIN call_records r ON r.call_uuid = c.current_call
   WHERE c.tenant_id = $1) AS counsellors
"""


def _call(d: dict[str, Any]) -> LiveCall:
    return LiveCall(
        uuid.UUID(d["call_uuid"]),
        d["state"],
        d["caller_number"],
        d["billing"],
        d["group_name"],
        d["counsellor_name"],
        tuple(d["ringing"]),
        d["answer_us"],
        d["deadline_us"],
        d["balance_yen"],
    )


async def board(pool: asyncpg.Pool, tenant_id: int) -> Board:
    """The tenant's board now (one round trip, one snapshot)."""
    row = await pool.fetchrow(_BOARD, tenant_id)
    assert row is not None  # a SELECT without FROM always answers one row
    return Board(
        row["contracted"] or 0,
        row["in_use"],
        tuple(_call(d) for d in json.loads(row["calls"])),
        tuple(CounsellorState(d["id"], d["name"], d["state"], d["on_duty"]) for d in json.loads(row["counsellors"])),
    )
