"""Finding a free counsellor, and claiming them so nobody else can.

A counsellor is free when on duty, not claimed by a call, and out of wrap-up.
:func:`claim` is one conditional UPDATE: of two nodes racing for the same
counsellor exactly one wins, so a counsellor is never bridged to two callers.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import asyncpg

from daemon.logs import get_logger
from daemon.repositories.counsellors import DEFAULT_DIAL_TEMPLATE, dial_string
from daemon.rules import destinations
from daemon.rules.billing.charges import Tariff

_log = get_logger(__name__)

_FREE = "c.on_duty AND c.current_call IS NULL AND (c.wrapup_until IS NULL OR c.wrapup_until <= now())"


@dataclass(frozen=True, slots=True)
class Counsellor:
    """A counsellor as the hunt sees them: whom to ring (``dial_string``, ready to use) and at what rate."""

    id: int
    name: str
    dial_string: str
    rate_yen_per_min: int | None


async def free_members(
    pool: asyncpg.Pool, group_id: int, strategy: str, *, dial_template: str = DEFAULT_DIAL_TEMPLATE
) -> list[Counsellor]:
    """The group's free members, in the order the strategy tries them.

    Each one's dial string is the admin's override, or ``dial_template``
    (``Settings.counsellor_dial_template``) filled with their phone number.
    """
    order = {
        "longest_idle": "c.last_call_end ASC NULLS FIRST, m.position, c.id",
        "sequential": "m.position, c.id",
        "round_robin": "m.position, c.id",
        "random": "c.id",
        "ring_all": "m.position, c.id",
    }[strategy]
    rows = await pool.fetch(
        "SELECT c.id, c.name, c.phone_number, c.dial_string, c.rate_yen_per_min, m.position"
        " FROM group_members m JOIN counsellors c ON c.id = m.counsellor_id"
        f" WHERE m.group_id = $1 AND {_FREE} ORDER BY {order}",
        group_id,
    )
    members = []
    for r in rows:
        try:
            dial = dial_string(r["phone_number"], r["dial_string"], dial_template)
        except destinations.Refused as exc:  # stored before a rule existed: never rung
            _log.error("counsellor_number_refused", counsellor=r["id"], reason=exc.refusal.code)
            continue
        members.append(Counsellor(r["id"], r["name"], dial, r["rate_yen_per_min"]))
    if strategy == "random":
        random.shuffle(members)
    elif strategy == "round_robin" and members:
        turn: int = await pool.fetchval(
            "UPDATE counsellor_groups SET rr_position = rr_position + 1 WHERE id = $1 RETURNING rr_position - 1",
            group_id,
        )
        start = turn % len(members)
        members = members[start:] + members[:start]
    return members


@dataclass(frozen=True, slots=True)
class GroupRates:
    """A group as a caller's money sees it: its tariff, minimum talk, and its members' rates."""

    id: int
    code: str
    tariff: Tariff
    minimum_talk_seconds: int
    rates: tuple[int, ...]  # each member on duty (free or talking): their own rate, else the group's
    every_rate: tuple[int, ...] = ()  # each member, on duty or not (whom a waiting line waits for)


# A group's money as the queries below read it: its tariff and minimum talk (columns of ``g``),
# and each member's rate (``c``: their own, else the group's), members in their order.
_MONEY_COLUMNS = "g.rate_yen_per_min, g.free_seconds, g.minimum_charge_yen, g.minimum_talk_seconds"
_MEMBER_RATES = "array_agg(COALESCE(c.rate_yen_per_min, g.rate_yen_per_min) ORDER BY m.position)"
_MEMBERS = "FROM group_members m JOIN counsellors c ON c.id = m.counsellor_id WHERE m.group_id = g.id"


def _tariff(row: asyncpg.Record) -> Tariff:
    return Tariff(row["rate_yen_per_min"], row["free_seconds"], row["minimum_charge_yen"])


async def group_rates(pool: asyncpg.Pool, tenant_id: int, group_id: int | None = None) -> list[GroupRates]:
    """Every group of the tenant (or the one ``group_id``), by code: which of them a limited caller could
    afford, and at what rate."""
    rows = await pool.fetch(
        f"SELECT g.id, g.code, {_MONEY_COLUMNS}, r.on_duty, r.every FROM counsellor_groups g, LATERAL ("
        f"  SELECT COALESCE({_MEMBER_RATES} FILTER (WHERE c.on_duty), '{{}}') AS on_duty,"
        f"  COALESCE({_MEMBER_RATES}, '{{}}') AS every {_MEMBERS}) r"
        " WHERE g.tenant_id = $1 AND ($2::bigint IS NULL OR g.id = $2) ORDER BY length(g.code), g.code",
        tenant_id,
        group_id,
    )
    return [
        GroupRates(r["id"], r["code"], _tariff(r), r["minimum_talk_seconds"], tuple(r["on_duty"]), tuple(r["every"]))
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class MoneyShape:
    """Groups alike in money (tariff, minimum talk, the rates of the members on duty), and the first of their codes."""

    tariff: Tariff
    minimum_talk_seconds: int
    rates: tuple[int, ...]  # each member on duty, in order: their own rate, else the group's
    codes: tuple[str, ...]  # the first ``first`` of these groups' codes, in menu order


async def money_shapes(pool: asyncpg.Pool, tenant_id: int, other_than: int, first: int) -> list[MoneyShape]:
    """The tenant's groups with someone on duty, but ``other_than``, gathered by money: what a caller
    short of money for the group ``other_than`` could be offered instead.

    A tenant's groups are alike in money by the hundreds (1,000 one-member groups
    at a handful of rates in the load benchmarks): the database gathers them, so
    the call's loop reads a few rows instead of a row per group.
    """
    rows = await pool.fetch(
        f"SELECT {_MONEY_COLUMNS}, r.on_duty, (array_agg(g.code ORDER BY length(g.code), g.code))[1:$3] AS codes"
        f" FROM counsellor_groups g, LATERAL (SELECT {_MEMBER_RATES} AS on_duty {_MEMBERS} AND c.on_duty) r"
        " WHERE g.tenant_id = $1 AND g.id <> $2 AND r.on_duty IS NOT NULL"
        f" GROUP BY {_MONEY_COLUMNS}, r.on_duty",
        tenant_id,
        other_than,
        first,
    )
    return [MoneyShape(_tariff(r), r["minimum_talk_seconds"], tuple(r["on_duty"]), tuple(r["codes"])) for r in rows]


async def claim(pool: asyncpg.Pool, counsellor_id: int, call_uuid: uuid.UUID) -> bool:
    """Reserve the counsellor for this call if still free (atomic across nodes).

    Already claimed for this very call (the waiting line's claim, daemon.calls.waiting) counts as claimed.
    """
    status = await pool.execute(
        f"UPDATE counsellors c SET current_call = $2, claimed_at = now() WHERE c.id = $1"
        f" AND (c.current_call = $2 OR {_FREE})",
        counsellor_id,
        call_uuid,
    )
    return bool(status == "UPDATE 1")


async def release(
    pool: asyncpg.Pool,
    counsellor_id: int,
    call_uuid: uuid.UUID,
    *,
    talked: bool,
    wrapup_seconds: int = 0,
    max_missed: int = 3,
) -> None:
    """Free the counsellor after an attempt.

    After a talk: reset the missed counter, start the wrap-up.  After a missed
    call (no answer, busy, failure): count it, and take the counsellor off duty
    after ``max_missed`` in a row.
    """
    if talked:
        await pool.execute(
            "UPDATE counsellors SET current_call = NULL, claimed_at = NULL, missed_in_row = 0,"
            " last_call_end = now(), calls_taken = calls_taken + 1,"
            " wrapup_until = now() + make_interval(secs => $3)"
            " WHERE id = $1 AND current_call = $2",
            counsellor_id,
            call_uuid,
            float(wrapup_seconds),
        )
    else:
        await pool.execute(
            "UPDATE counsellors SET current_call = NULL, claimed_at = NULL, missed_in_row = missed_in_row + 1,"
            " on_duty = on_duty AND missed_in_row + 1 < $3"
            " WHERE id = $1 AND current_call = $2",
            counsellor_id,
            call_uuid,
            max_missed,
        )


async def release_all_of_call(pool: asyncpg.Pool, call_uuid: uuid.UUID) -> int:
    """Crash clean-up: free every counsellor still claimed for this call."""
    status: str = await pool.execute(
        "UPDATE counsellors SET current_call = NULL, claimed_at = NULL WHERE current_call = $1", call_uuid
    )
    return int(status.rsplit(maxsplit=1)[-1])
