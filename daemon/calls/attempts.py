"""Refused attempts put on record beside the refusal, never in its way.

The refusal goes on at once (its guidance, its cause); the row is written by a
task of its own, given the database timeout at most.  A failure (the database
down is itself a reason for refusing) is logged and counted, and the caller
never notices.  The tasks are kept here until they end, so none is collected
half-way.
"""

from __future__ import annotations

import asyncio

from daemon.calls.context import CallContext
from daemon.calls.services import Services
from daemon.logs import get_logger
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.repositories import attempts
from daemon.repositories.attempts import Attempt

_log = get_logger(__name__)

_writing: set[asyncio.Task[None]] = set()


def record(services: Services, attempt: Attempt) -> None:
    """Write ``attempt`` in the background (returns at once)."""
    task = asyncio.get_running_loop().create_task(_write(services, attempt))
    _writing.add(task)
    task.add_done_callback(_writing.discard)


async def _write(services: Services, attempt: Attempt) -> None:
    pool = services.pool
    if pool is None:  # counted where the call found it so
        _log.error("attempt_unrecorded", reason=attempt.reason, error="no database")
        return
    try:
        await within(services.settings.db_timeout_seconds, attempts.add(pool, attempt))
    except DB_ERRORS as exc:
        services.metrics.db_errors.inc()
        _log.error("attempt_unrecorded", reason=attempt.reason, error=repr(exc))


async def settled() -> None:
    """Wait for the writes under way (shutdown, tests)."""
    while _writing:
        await asyncio.gather(*list(_writing), return_exceptions=True)


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
