"""Refused attempts put on record beside the refusal, never in its way.

The refusal goes on at once (its guidance, its cause); the row is queued for
the daemon's background writer (``daemon.postgres.batch_writer``), which writes
the rows of many refusals in one statement on one pool connection, within the
database timeout.  A row lost there (the database down is itself a reason for
refusing, a queue full at a flood of refusals) is logged and counted
(``calld_background_rows_*_total{kind="attempt"}``), and the caller never
notices.  Once the calls are gone the daemon flushes the queue before the pool
closes.
"""

from __future__ import annotations

from daemon.calls.context import CallContext
from daemon.calls.services import Services
from daemon.postgres.batch_writer import Kind
from daemon.repositories import attempts
from daemon.repositories.attempts import Attempt

ATTEMPTS: Kind[Attempt] = Kind("attempt", attempts.add_many)


def record(services: Services, attempt: Attempt) -> None:
    """Write ``attempt`` in the background (returns at once)."""
    services.writer.put(ATTEMPTS, attempt)


def note(call: CallContext, reason: str, *, caller_id: int | None = None, group_id: int | None = None) -> None:
    """An admitted call the product turns away (Coaching Dial: unknown caller, no money …), on record."""
    record(
        call.services,
        Attempt(
            reason,
            call.call_uuid,
            dialled=call.dialled,
            caller_number=call.caller_number or "",
            tenant_id=call.tenant_id,
            product=call.product,
            caller_id=caller_id,
            group_id=group_id,
        ),
    )
