"""Run the crash reconciliation (daemon.recovery.reconcile) until it has finished once.

It needs the database and FreeSWITCH's inbound event socket; either may not be
up yet when the daemon starts, so it retries with a growing pause (0.5 s up to
10 s).  Nothing to finish (no open call record, no open forwarded leg of the
IVR): done at once, without asking FreeSWITCH.
"""

from __future__ import annotations

import asyncio

import asyncpg

from daemon.calls.services import Prompts
from daemon.config import Settings
from daemon.inbound.client import InboundClient, InboundError
from daemon.logs import get_logger
from daemon.postgres.errors import DB_ERRORS
from daemon.recovery import forwarding
from daemon.recovery.cdr_spool import SpoolReader
from daemon.recovery.reconcile import reconcile
from daemon.repositories import call_records

_log = get_logger(__name__)

CONNECT_TIMEOUT = 5.0


async def recover(
    pool: asyncpg.Pool, settings: Settings, done: asyncio.Event, prompts: Prompts, spool: SpoolReader | None = None
) -> None:
    """Finish the calls a previous life of this node left open (cutting live ones on time); set ``done`` after.

    The CDRs our FreeSWITCH spooled are put back first: a call whose end only the spool
    knows is then finished from it, not estimated.
    """
    s = settings
    delay = 0.5
    while True:
        client = InboundClient()
        try:
            if spool is not None:
                await spool.replay(pool)
            if not await call_records.open_on_node(pool, s.node_id) and not await forwarding.pending(pool, s.node_id):
                done.set()
                return
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await client.connect(s.fs_esl_host, s.fs_esl_port, s.fs_esl_password.get_secret_value())
            outcome = await reconcile(pool, s.node_id, client, prompts=prompts)
            _log.warning("recovered_calls", **vars(outcome))
            done.set()
            return
        except (*DB_ERRORS, InboundError) as exc:
            _log.error("recovery_retry", error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
        finally:
            await client.close()
