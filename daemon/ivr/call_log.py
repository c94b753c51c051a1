"""What an IVR call did, written once as it ends, for the customer's statistics.

Where the call ended (node and kind), whether the caller hung up there (a
caller gone in a menu is a caller the menu lost), and the menu keys chosen.
Best effort within the database timeout: the call is over by then, and a
missing row costs a statistic, never a call.  Forwarded legs and voicemails
have rows of their own (``forward_legs``, ``voicemails``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.ivr.call import IvrCall
from daemon.logs import get_logger
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.repositories import ivr_call_log
from daemon.repositories.ivr_call_log import IvrCallEnd

_log = get_logger(__name__)
_EPOCH = datetime.fromtimestamp(0, UTC)


async def write(c: IvrCall, *, caller_hung_up: bool) -> None:
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
    )
    try:
        await within(c.call.services.settings.db_timeout_seconds, ivr_call_log.add(c.pool, end))
    except DB_ERRORS as exc:
        _log.error("ivr_call_log_unwritten", error=repr(exc))
