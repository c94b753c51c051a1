"""Live flows checked against today's destination policy: reported at start, shown on the console.

A flow published before a rule of :mod:`daemon.rules.destinations` existed (a 0990
number, a number abroad without the contract option) still loads and runs; its
``forward`` node refuses to dial and goes to ``on_fail``
(:mod:`daemon.ivr.forwarding`).  At start every such number is logged
(``ivr_published_number_refused``), and the tenant's forwarding page and the
admin's tenant page list them until the flow is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from daemon.logs import get_logger
from daemon.postgres.types import Queryable
from daemon.repositories import forwarding
from daemon.rules.destinations import Refusal
from daemon.rules.ivr.models import STORED, Flow, refused_numbers

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LiveRefusal:
    tenant_id: int
    version: int
    node: str
    refusal: Refusal


async def refused(db: Queryable, tenant_id: int | None = None) -> list[LiveRefusal]:
    """Numbers of live flows (every tenant's, or one's) that the policy refuses for the tenant's contract."""
    found = []
    for row in await forwarding.live_flows(db, tenant_id):
        try:
            flow = Flow.model_validate_json(row["definition"], context=STORED)
        except ValidationError as exc:  # not ours to stop a start over: the call path reports it too
            _log.error("ivr_live_flow_unreadable", tenant=row["tenant_id"], version=row["version"], error=str(exc))
            continue
        found += [
            LiveRefusal(row["tenant_id"], row["version"], node, r)
            for node, r in refused_numbers(flow, international=row["international"])
        ]
    return found


async def report(db: Queryable) -> int:
    """Log each refused number of a live flow (at start); how many there are."""
    found = await refused(db)
    for f in found:
        _log.warning(
            "ivr_published_number_refused",
            tenant=f.tenant_id,
            version=f.version,
            node=f.node,
            number=f.refusal.number,
            reason=f.refusal.code,
        )
    return len(found)
