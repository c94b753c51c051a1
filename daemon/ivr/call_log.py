"""What an IVR call did, written once as it ends, for the customer's statistics.

Where the call ended (node and kind), whether the caller hung up there (a
caller gone in a menu is a caller the menu lost), and the menu keys chosen.
Queued for the daemon's background writer (``daemon.postgres.batch_writer``),
which writes the rows of many calls in one statement on one pool connection:
the call is over by then and its line goes back at once, and a missing row
costs a statistic, never a call.  Forwarded legs and voicemails
have rows of their own (``forward_legs``, ``voicemails``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.ivr.call import IvrCall
from daemon.postgres.batch_writer import Kind
from daemon.repositories import ivr_call_log
from daemon.repositories.ivr_call_log import IvrCallEnd

CALL_LOG: Kind[IvrCallEnd] = Kind("ivr_call_log", ivr_call_log.add_many)
_EPOCH = datetime.fromtimestamp(0, UTC)


def record(c: IvrCall, *, caller_hung_up: bool) -> None:
    """Queue the call's row (returns at once)."""
    node = c.live.flow.nodes.get(c.node)
    created_us = c.call.channel.created_us
    started = _EPOCH + timedelta(microseconds=created_us) if created_us else datetime.now(UTC)
    end = IvrCallEnd(
        call_uuid=c.call_uuid,
        tenant_id=c.tenant_id,
        flow_version=c.live.version,
        dialled=c.dialled,
        caller_number=c.caller_number,
        started_at=started,
        last_node=c.node,
        last_kind=node.kind if node is not None else "",
        caller_hung_up=caller_hung_up,
        choices=list(c.choices),
        ended_at=datetime.now(UTC),
    )
    c.call.services.writer.put(CALL_LOG, end)
