"""After a crash: finish every call this node left open, charging each exactly once.

A restarted node finds its unfinished call records:

* ``hunting`` — nobody answered before the crash: closed with no charge, and
  any counsellor still claimed for the call is freed;
* ``talking`` — the bridge may still run inside FreeSWITCH (it does not need
  us; the backstop ``sched_hangup`` bounds it).  Over the inbound event socket
  we subscribe to CHANNEL_HANGUP_COMPLETE first, then ask ``uuid_exists``:
  a live call is finished when its hangup arrives, from FreeSWITCH's own
  timestamps; a call already gone is finished from the CDR that FreeSWITCH
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

from daemon.db import admission, call_records, hunting
from daemon.inbound.client import InboundClient
from daemon.logs import get_logger
from daemon.recovery import forwarding

_log = get_logger(__name__)


@dataclass
class Outcome:
    closed_unanswered: int = 0
    finished_live: int = 0
    finished_from_cdr: int = 0
    estimated: int = 0


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) > 0 else None


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
) -> Outcome:
    """Finish ``node_id``'s open records.  With ``estimate=False`` a talking call
    without any evidence of its end (no hangup heard, no CDR) is left open."""
    forwarded = await forwarding.begin(pool, node_id, client, wait_live_seconds=wait_live_seconds, estimate=estimate)
    try:
        outcome = await _reconcile_calls(pool, node_id, client, wait_live_seconds=wait_live_seconds, estimate=estimate)
    except BaseException:
        forwarded.cancel()
        raise
    await forwarded  # the IVR's forwarded legs still alive in FreeSWITCH (daemon.recovery.forwarding)
    return outcome


async def _reconcile_calls(
    pool: asyncpg.Pool, node_id: str, client: InboundClient | None, *, wait_live_seconds: float, estimate: bool
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
    if client is not None:
        await client.subscribe("CHANNEL_HANGUP_COMPLETE")
        for call in talking:
            if await client.exists(str(call)):
                live.add(call)
    heard = _drain_hangups(client) if client is not None else {}
    for call, r in talking.items():
        if call in live:
            continue
        legs = [call] + ([r["counsellor_leg"]] if r["counsellor_leg"] else [])
        ends = [heard[leg] for leg in legs if leg in heard]
        end = min(ends) if ends else await cdr_end(pool, legs)
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

    if live and client is not None:
        outcome.finished_live = await _wait_for_hangups(pool, client, {c: talking[c] for c in live}, wait_live_seconds)
    return outcome


def _drain_hangups(client: InboundClient) -> dict[uuid.UUID, int]:
    """Hangups that arrived while we were asking: leg uuid → end_uepoch."""
    heard: dict[uuid.UUID, int] = {}
    while not client.events.empty():
        event = client.events.get_nowait()
        end = _int(event.get("variable_end_uepoch"))
        if event.name == "CHANNEL_HANGUP_COMPLETE" and end is not None:
            try:
                heard[uuid.UUID(event.unique_id)] = end
            except ValueError:
                continue
    return heard


async def _wait_for_hangups(
    pool: asyncpg.Pool, client: InboundClient, live: dict[uuid.UUID, asyncpg.Record], limit: float
) -> int:
    by_b_leg = {r["counsellor_leg"]: call for call, r in live.items() if r["counsellor_leg"]}
    b_ends: dict[uuid.UUID, int] = {}
    done = 0
    loop = asyncio.get_running_loop()
    until = loop.time() + limit
    while live and loop.time() < until:
        try:
            event = await asyncio.wait_for(client.events.get(), until - loop.time())
        except TimeoutError:
            break
        if event.name != "CHANNEL_HANGUP_COMPLETE":
            continue
        try:
            leg = uuid.UUID(event.unique_id)
        except ValueError:
            continue
        end = _int(event.get("variable_end_uepoch"))
        if leg in by_b_leg and end is not None:
            b_ends[by_b_leg[leg]] = end
        if leg in live and end is not None:
            record = live.pop(leg)
            talk_end = min(end, b_ends.get(leg, end))
            await _close(pool, record, talk_end, event.get("Hangup-Cause") or "", "reconciled_live")
            done += 1
    return done


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
