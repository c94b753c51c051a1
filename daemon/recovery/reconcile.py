"""After a crash: finish every call this node left open, charging each exactly once.

A restarted node finds its unfinished call records:

* ``hunting`` — nobody answered before the crash: closed with no charge, and
  any counsellor still claimed for the call is freed;
* ``talking`` — the bridge may still run inside FreeSWITCH (it does not need
  us; the backstop ``sched_hangup`` bounds it).  Over the inbound event socket
  we subscribe to CHANNEL_HANGUP_COMPLETE first, then ask ``uuid_exists``:
  a live call is finished when its hangup arrives, from FreeSWITCH's own
  timestamps (one that arrives just after ``uuid_exists`` said ``true`` is kept:
  :mod:`daemon.recovery.hangups`); a call already gone is finished from the CDR that FreeSWITCH
  wrote into PostgreSQL (``fs_cdr``, mod_cdr_pg_csv), or, failing that, from the
  best bound we have (its armed deadline) and marked for review.

The talk ends when the first leg of the bridge ends: ``min`` of the caller
leg's and the counsellor leg's ``end_uepoch``.  ``call_records.finish`` is
idempotent, so running this twice (another crash mid-way) books nothing twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import asyncpg

from daemon.calls.services import Prompts
from daemon.inbound.client import InboundClient
from daemon.logs import get_logger
from daemon.recovery import cut, forwarding
from daemon.recovery.hangups import HANGUP_COMPLETE, Hangups, end_us
from daemon.repositories import admission, call_records, hunting

_log = get_logger(__name__)


@dataclass
class Outcome:
    closed_unanswered: int = 0
    finished_live: int = 0
    finished_from_cdr: int = 0
    estimated: int = 0


async def cdr_end(pool: asyncpg.Pool, legs: list[uuid.UUID]) -> int | None:
    """The earliest end of these legs in FreeSWITCH's CDRs, if FreeSWITCH wrote any."""
    value: int | None = await pool.fetchval(
        "SELECT min(end_uepoch) FROM fs_cdr WHERE uuid = ANY($1::uuid[]) AND end_uepoch > 0", legs
    )
    return value


async def reconcile(
    pool: asyncpg.Pool,
    node_id: str,
    client: InboundClient | None,
    *,
    wait_live_seconds: float = 3600.0,
    estimate: bool = True,
    prompts: Prompts | None = None,
) -> Outcome:
    """Finish ``node_id``'s open records.  With ``estimate=False`` a talking call
    without any evidence of its end (no hangup heard, no CDR) is left open.
    With ``prompts`` (and a client) a live call is cut at its deadline (daemon.recovery.cut)."""
    forwarded = await forwarding.begin(pool, node_id, client, wait_live_seconds=wait_live_seconds, estimate=estimate)
    try:
        outcome = await _reconcile_calls(
            pool, node_id, client, wait_live_seconds=wait_live_seconds, estimate=estimate, prompts=prompts
        )
    except BaseException:
        forwarded.cancel()
        raise
    await forwarded  # the IVR's forwarded legs still alive in FreeSWITCH (daemon.recovery.forwarding)
    return outcome


async def _reconcile_calls(
    pool: asyncpg.Pool,
    node_id: str,
    client: InboundClient | None,
    *,
    wait_live_seconds: float,
    estimate: bool,
    prompts: Prompts | None,
) -> Outcome:
    outcome = Outcome()
    records = await call_records.open_on_node(pool, node_id)
    talking = {r["call_uuid"]: r for r in records if r["state"] == "talking"}
    for r in records:
        if r["state"] == "hunting":
            await call_records.finish(
                pool, r["call_uuid"], end_us=None, hangup_cause="DAEMON_RESTART", ended_by="no_answer"
            )
            await hunting.release_all_of_call(pool, r["call_uuid"])
            outcome.closed_unanswered += 1
    if not talking:
        return outcome

    live: set[uuid.UUID] = set()
    hangups = Hangups(client.events if client is not None else asyncio.Queue())
    if client is not None:
        await client.subscribe(HANGUP_COMPLETE)
        for call in talking:
            if await client.exists(str(call)):
                live.add(call)
    heard = hangups.take_queued()
    for call, r in talking.items():
        if call in live:
            continue  # its hangup, even one heard already, is taken below
        ends = [e for leg in _legs(r) if leg in heard and (e := end_us(heard[leg])) is not None]
        end = min(ends) if ends else await cdr_end(pool, _legs(r))
        if end is None and not estimate:
            continue
        if end is None:
            end = r["deadline_us"] or time.time_ns() // 1000
            outcome.estimated += 1
            _log.error("reconcile_estimated_end", call_uuid=str(call), end_us=end)
            ended_by = "reconciled_estimate"
        else:
            outcome.finished_from_cdr += 1
            ended_by = "reconciled_cdr"
        await _close(pool, r, end, "UNKNOWN", ended_by)

    # A live call is cut at its deadline by us again, not by the backstop (daemon.recovery.cut).
    cuts = {c: cut.start(pool, client, talking[c], prompts) for c in live if client is not None and prompts is not None}
    try:
        async for call, event in hangups.each(live, wait_live_seconds):
            if (task := cuts.pop(call, None)) is not None:
                task.cancel()
            r = talking[call]
            ends = [e for leg in _legs(r) if leg in hangups.heard and (e := end_us(hangups.heard[leg])) is not None]
            talk_end = min(ends) if ends else time.time_ns() // 1000
            await _close(pool, r, talk_end, event.get("Hangup-Cause") or "", "reconciled_live")
            outcome.finished_live += 1
    finally:
        for task in cuts.values():
            task.cancel()
    return outcome


def _legs(record: asyncpg.Record) -> list[uuid.UUID]:
    """The caller's leg and the counsellor's: the talk ends when the first of them ends."""
    return [record["call_uuid"]] + ([record["counsellor_leg"]] if record["counsellor_leg"] else [])


async def _close(pool: asyncpg.Pool, record: asyncpg.Record, end_us: int, cause: str, ended_by: str) -> None:
    call = record["call_uuid"]
    result = await call_records.finish(pool, call, end_us=end_us, hangup_cause=cause, ended_by=ended_by)
    await admission.release(pool, call)  # the line was kept for the bridge that outlived us
    if record["counsellor_id"] is not None:
        await hunting.release(pool, record["counsellor_id"], call, talked=True)
    _log.info(
        "reconciled",
        call_uuid=str(call),
        billed_seconds=result.billed_seconds,
        charge_yen=result.charge_yen,
        how=ended_by,
    )


async def adopt_dead_nodes(pool: asyncpg.Pool, my_node: str, dead_after_seconds: float) -> Outcome:
    """Finish the records of nodes that died and did not come back, from evidence only.

    Their FreeSWITCH is out of our reach, but its CDRs are in the shared
    database: a talking call is charged once its CDR is there; unanswered
    records are closed.  Nothing is estimated for another node.
    """
    total = Outcome()
    dead = await pool.fetch(
        "SELECT DISTINCT r.node_id FROM call_records r LEFT JOIN nodes n ON n.node_id = r.node_id"
        " WHERE r.state <> 'ended' AND r.node_id <> $1"
        " AND (n.heartbeat_at IS NULL OR n.heartbeat_at < now() - make_interval(secs => $2))",
        my_node,
        dead_after_seconds,
    )
    for row in dead:
        done = await reconcile(pool, row["node_id"], None, estimate=False)
        total.closed_unanswered += done.closed_unanswered
        total.finished_from_cdr += done.finished_from_cdr
    await forwarding.adopt_dead_nodes(pool, my_node, dead_after_seconds)  # nodes with only forwarded legs open
    return total
