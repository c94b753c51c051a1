"""The ``calld_balance`` channel: "this caller's money picture changed".

Sent from the same transaction as the change (a ledger row, a call that starts
talking or ends), so a listener that hears it reads the committed state.  The
payload is the caller id.  :mod:`daemon.calls.balance_watcher` LISTENs.
"""

from __future__ import annotations

from daemon.postgres.types import Conn

BALANCE_CHANNEL = "calld_balance"


async def notify_balance(conn: Conn, caller_id: int) -> None:
    """Tell every node (on commit) that ``caller_id``'s money or talking calls changed."""
    await conn.execute("SELECT pg_notify($1, $2)", BALANCE_CHANNEL, str(caller_id))
