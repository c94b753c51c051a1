"""Where every call starts: identify the channel, take a line, hand over to the product.

connect → myevents → linger
→ dialled number → tenant and product, and one of the tenant's lines (PostgreSQL, atomic)
    unknown number     → "not in service" as early media, UNALLOCATED_NUMBER (404)
    blocked caller     → "cannot be connected" as early media, CALL_REJECTED (603); no line taken
    all lines in use   → "busy" as early media, USER_BUSY (486)
    database trouble   → "temporarily unavailable" as early media, NORMAL_TEMPORARY_FAILURE (503)
    (a refused call is never answered: nothing is billed to the caller; each refusal is put
    on record beside it, daemon.calls.attempts)
→ the call's context, built once → the product's flow (Coaching Dial, IVR)
→ the line is given back, however the call ended
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from daemon.calls import attempts, guidance
from daemon.calls.context import CallContext, ProductFlow
from daemon.calls.services import Services
from daemon.logs import bind_call, get_logger
from daemon.outbound.channel import ChannelInfo
from daemon.outbound.session import Session
from daemon.postgres.deadline import within
from daemon.postgres.errors import DB_ERRORS
from daemon.postgres.pool import reserve_of
from daemon.repositories import admission
from daemon.repositories.admission import Admission, Outcome
from daemon.repositories.attempts import Attempt
from daemon.rules.attempt_reasons import ENTRY_REASONS
from daemon.rules.numbers import national

_log = get_logger(__name__)

__all__ = ["CallEntry", "ProductFlow"]


class CallEntry:
    """The call handler given to :class:`~daemon.outbound.server.OutboundServer`."""

    def __init__(self, services: Services, products: dict[str, ProductFlow]) -> None:
        self.services = services
        self.products = products
        # Admission and release batches take their connections from the pool's reserve
        # (daemon.postgres.pool.ReservingPool): the admitter leaves the releaser's batches theirs.  Calls
        # arriving while its batches are on the database join the next batch.
        reserve = reserve_of(services.settings.db_pool_size)
        self.admitter = admission.BatchAdmitter(asyncio.Semaphore(max(1, reserve - admission.BatchReleaser.BATCHES)))
        self.releaser = admission.BatchReleaser()
        self._late: set[asyncio.Task[None]] = set()

    async def __call__(self, session: Session, calls: asyncio.TaskGroup) -> None:
        svc = self.services
        channel = await session.start(svc.settings.linger_seconds)
        bind_call(channel.unique_id, channel.caller_id_number, channel.destination_number)

        number = national(channel.destination_number)
        try:
            call_uuid = uuid.UUID(channel.unique_id)
        except ValueError:
            _log.warning("call_bad_uuid", unique_id=channel.unique_id[:64])
            await self._reject(session, "unavailable", "protocol", channel)
            return
        if number is None:
            await self._reject(session, "not_in_service", "not_in_service", channel, call_uuid)
            return

        pool = svc.pool
        if pool is None:
            svc.metrics.db_errors.inc()
        caller = national(channel.caller_id_number)
        decision = await self._admit(pool, call_uuid, number, caller) if pool is not None else None
        if pool is None or decision is None:
            await self._reject(session, "unavailable", "unavailable", channel, call_uuid)
            return
        if decision.outcome is Outcome.NOT_IN_SERVICE:
            await self._reject(session, "not_in_service", "not_in_service", channel, call_uuid)
            return
        if decision.outcome is Outcome.BLOCKED:
            await self._reject(session, "call_declined", "blocked", channel, call_uuid, decision)
            return
        if decision.outcome is Outcome.BUSY:
            _log.info("call_busy", lines=decision.lines, in_use=decision.in_use)
            await self._reject(session, "busy", "busy", channel, call_uuid, decision)
            return

        if decision.tenant_id is None:  # admit_call names the tenant of every admitted call
            await self._release(call_uuid)
            await self._reject(session, "unavailable", "unavailable", channel, call_uuid)
            return
        tenant_id = decision.tenant_id
        counted = svc.metrics.tenant_calls(tenant_id)
        counted.admitted.inc()
        counted.live.inc()
        svc.live_calls[channel.unique_id] = tenant_id
        _log.info("call_admitted", tenant_id=tenant_id, lines=decision.lines, in_use=decision.in_use)
        try:
            flow = self.products.get(decision.product or "")
            if flow is None:
                await self._reject(session, "unavailable", "unavailable", channel, call_uuid, decision)
                return
            await flow(CallContext(session, channel, calls, svc, pool, tenant_id, decision.product or "", call_uuid))
        finally:
            svc.live_calls.pop(channel.unique_id, None)
            counted.live.dec()
            await self._release(call_uuid)

    async def _admit(
        self, pool: asyncpg.Pool, call_uuid: uuid.UUID, number: str, caller: str | None
    ) -> Admission | None:
        svc = self.services
        try:
            return await within(
                svc.settings.db_timeout_seconds,
                self.admitter.admit(pool, call_uuid, number, svc.node_id, caller),
                abandoned=lambda: self._release_late(call_uuid),
            )
        except DB_ERRORS as exc:
            svc.metrics.db_errors.inc()
            _log.error("admission_db_error", error=repr(exc))
            return None

    def _release_late(self, call_uuid: uuid.UUID) -> None:
        """An admission given up on (the database hung) has ended; it may have taken a line
        after all.  The call was refused meanwhile: give the line back now rather than at
        housekeeping's orphan sweep (which waits out a grace period)."""
        task = asyncio.get_running_loop().create_task(self._release(call_uuid))
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _release(self, call_uuid: uuid.UUID) -> None:
        """Give the line back.  If the database is down now, the node's housekeeping
        frees it later (lines of this node that no live session owns).

        Shielded: a call task cancelled meanwhile (a failed background task of the call,
        the daemon stopping) does not stop the release, which keeps its deadline.
        """
        pool = self.services.pool
        if pool is None:
            return
        try:
            await within(
                self.services.settings.db_timeout_seconds, self.releaser.release(pool, call_uuid), shielded=True
            )
        except DB_ERRORS as exc:
            self.services.metrics.db_errors.inc()
            _log.error("release_db_error", error=repr(exc))

    async def _reject(
        self,
        session: Session,
        prompt: str,
        reason: str,
        channel: ChannelInfo,
        call_uuid: uuid.UUID | None = None,
        decision: Admission | None = None,
    ) -> None:
        """Early media and the refusal's own cause (guidance.REFUSAL_CAUSES); never answered.

        The attempt goes on record in the background (daemon.calls.attempts): the
        guidance starts at once, whatever the database does.
        """
        self.services.metrics.calls_rejected.labels(reason).inc()
        _log.info("call_rejected", reason=reason)
        attempt = Attempt(
            ENTRY_REASONS[reason],
            call_uuid,
            dialled=national(channel.destination_number) or channel.destination_number[:32],
            caller_number=national(channel.caller_id_number) or "",
            tenant_id=decision.tenant_id if decision is not None else None,
            product=decision.product if decision is not None else None,
        )
        attempts.record(self.services, attempt)
        await guidance.refuse(session, self.services.prompts, prompt)
