"""After a crash: finish the forwarded IVR legs this node left open, each charged once.

Called from :func:`daemon.recovery.reconcile.reconcile`, on the same inbound
event socket.  For each open ``forward_legs`` row of the node:

* the leg still lives in FreeSWITCH (``uuid_exists``; the bridge goes on
  without us): it is finished when its CHANNEL_HANGUP_COMPLETE arrives, from
  FreeSWITCH's ``answer_uepoch`` / ``end_uepoch``;
* the leg is gone: finished from the hangup heard meanwhile or its CDR
  (``fs_cdr``, mod_cdr_pg_csv);
* no evidence at all: a leg never marked answered closes without a charge; an
  answered one is charged up to now and flagged ``estimate``.  With
  ``estimate=False`` (the legs of another node that died, whose FreeSWITCH is out
  of reach) only CDRs count: the rest stay open until their CDR arrives.

``daemon.repositories.forwarding.finish`` is idempotent, so a second crash or a second
run books nothing twice.  Hangup events are shared with the Coaching Dial
reconciliation: the client's event queue is teed, both see every event.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg

from daemon.esl import Event
from daemon.inbound.client import InboundClient
from daemon.ivr.forwarding import outcome
from daemon.logs import get_logger
from daemon.recovery.hangups import HANGUP_COMPLETE, Hangups, positive_us
from daemon.repositories import admission
from daemon.repositories import forwarding as legs_db

_log = get_logger(__name__)


class _Tee(asyncio.Queue[Event]):
    """The client's event queue, also copying every event into ``copy``."""

    def __init__(self, original: asyncio.Queue[Event], copy: asyncio.Queue[Event]) -> None:
        super().__init__()
        self.copy = copy
        while not original.empty():
            self.put_nowait(original.get_nowait())

    def put_nowait(self, item: Event) -> None:
        super().put_nowait(item)
        self.copy.put_nowait(item)


async def pending(pool: asyncpg.Pool, node_id: str) -> bool:
    return bool(await legs_db.open_on_node(pool, node_id))


async def begin(
    pool: asyncpg.Pool, node_id: str, client: InboundClient | None, *, wait_live_seconds: float, estimate: bool
) -> asyncio.Task[int]:
    """Finish what can be finished now; the returned task waits for the legs still alive."""
    legs = {r["leg_uuid"]: r for r in await legs_db.open_on_node(pool, node_id)}
    hangups = Hangups(asyncio.Queue())
    live: dict[uuid.UUID, asyncpg.Record] = {}
    if legs and client is not None:
        client.events = _Tee(client.events, hangups.queue)
        await client.subscribe(HANGUP_COMPLETE)
        live = {leg: r for leg, r in legs.items() if await client.exists(str(leg))}
    ended = hangups.take_queued()
    for leg, r in legs.items():
        if leg not in live:  # a live leg's hangup, even one heard already, is taken by _wait
            await _from_evidence(pool, r, ended.get(leg), estimate)
    return asyncio.get_running_loop().create_task(_wait(pool, hangups, live, wait_live_seconds))


async def _from_evidence(pool: asyncpg.Pool, r: asyncpg.Record, event: Event | None, estimate: bool) -> None:
    leg = r["leg_uuid"]
    if event is not None:
        await _close_heard(pool, r, event)
        return
    cdr = await pool.fetchrow("SELECT answer_uepoch, end_uepoch, hangup_cause FROM fs_cdr WHERE uuid = $1", leg)
    if cdr is not None and positive_us(cdr["end_uepoch"]) is not None:
        await _close(pool, r, cdr["answer_uepoch"], cdr["end_uepoch"], cdr["hangup_cause"] or "", "cdr")
    elif not estimate:
        return  # another node's leg: its CDR comes when it ends
    elif r["answer_us"] is None:
        await legs_db.finish(pool, leg, outcome="failed", end_us=None, reconciled="no_evidence")
        await _release_if_done(pool, r["call_uuid"])
    else:
        _log.error("forward_reconcile_estimated", leg=str(leg))
        await _close(pool, r, r["answer_us"], time.time_ns() // 1000, "", "estimate")


async def _close_heard(pool: asyncpg.Pool, r: asyncpg.Record, event: Event) -> None:
    """Finished from the leg's own CHANNEL_HANGUP_COMPLETE (FreeSWITCH's answer and end times)."""
    answer, end = event.get("variable_answer_uepoch"), event.get("variable_end_uepoch")
    await _close(pool, r, answer, end, event.get("Hangup-Cause") or "", "live")


async def _close(
    pool: asyncpg.Pool, r: asyncpg.Record, answer: str | int | None, end: str | int | None, cause: str, how: str
) -> None:
    answer_us = positive_us(answer) or r["answer_us"]
    how_it_went = "answered" if answer_us is not None else outcome(cause, False)
    done = await legs_db.finish(
        pool, r["leg_uuid"], outcome=how_it_went, answer_us=answer_us, end_us=positive_us(end), reconciled=how
    )
    await _release_if_done(pool, r["call_uuid"])
    _log.info("forward_reconciled", leg=str(r["leg_uuid"]), billsec=done.billsec, charge_yen=done.charge_yen, how=how)


async def _release_if_done(pool: asyncpg.Pool, call_uuid: uuid.UUID) -> None:
    """The caller's line, kept while a forwarded bridge outlived us, goes back with its last leg."""
    if not any(r["state"] != "ended" for r in await legs_db.legs_of_call(pool, call_uuid)):
        await admission.release(pool, call_uuid)


async def _wait(pool: asyncpg.Pool, hangups: Hangups, live: dict[uuid.UUID, asyncpg.Record], limit: float) -> int:
    done = 0
    async for leg, event in hangups.each(live, limit):
        await _close_heard(pool, live[leg], event)
        done += 1
    return done


async def adopt_dead_nodes(pool: asyncpg.Pool, my_node: str, dead_after_seconds: float) -> int:
    """Finish the legs of nodes that died and did not come back, from their CDRs only (nothing estimated)."""
    dead = await pool.fetch(
        "SELECT DISTINCT f.node_id FROM forward_legs f LEFT JOIN nodes n ON n.node_id = f.node_id"
        " WHERE f.state <> 'ended' AND f.node_id <> $1"
        " AND (n.heartbeat_at IS NULL OR n.heartbeat_at < now() - make_interval(secs => $2))",
        my_node,
        dead_after_seconds,
    )
    for row in dead:
        await (await begin(pool, row["node_id"], None, wait_live_seconds=0.0, estimate=False))
    return len(dead)
