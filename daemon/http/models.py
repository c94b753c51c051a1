"""Response bodies of the admin API and the error body every endpoint shares.

The request bodies and the value rules they are made of live below the front
doors (:mod:`daemon.services.inputs`, :mod:`daemon.services.values`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from daemon.services.values import Product


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


# Responses.


class NumberOut(_Response):
    number: str
    product: Product


class Tenant(_Response):
    id: int
    name: str
    lines: int
    live_calls: int = Field(description="calls holding a line now, on every node")
    numbers: list[NumberOut]


class TenantList(_Response):
    tenants: list[Tenant]


class LinesChanged(_Response):
    tenant_id: int
    lines: int
    previous_lines: int


class NumberAssigned(_Response):
    number: str
    tenant_id: int
    product: Product


class TenantStatus(_Response):
    tenant_id: int
    name: str
    lines: int
    live_calls: int


class Status(_Response):
    version: str
    node: str
    uptime_seconds: float
    db_reachable: bool
    esl_sessions: int = Field(description="open event-socket sessions on this node")
    tenants: list[TenantStatus] = Field(description="empty when the database is unreachable")


class AuditEntry(_Response):
    id: int
    at: datetime
    actor: str = Field(description='who: a console login, "admin-token", "tenant-token:7", "cli:root", "system:…"')
    actor_kind: str = Field(description="admin_token, tenant_token, console, cli or system")
    tenant_id: int | None
    action: str = Field(description='what was done, e.g. "ledger.deposit", "caller.update"')
    object: str = Field(description='what it was done to, e.g. "caller 12"')
    before: Any = Field(description="the object's values before the change (null: it did not exist)")
    after: Any = Field(description="the values after (null: it is gone)")
    remote: str = Field(description="the address the change came from, when over the network")


class AuditLog(_Response):
    entries: list[AuditEntry] = Field(description="newest first")
    next_before_id: int | None = Field(description="pass as before_id for the next page; null: no more")


class ErrorDetail(_Response):
    loc: list[str | int] = Field(description='where the problem is, e.g. ["body", "lines"]')
    msg: str
    type: str


class Error(_Response):
    error: str = Field(description="what went wrong, for a human")
    detail: list[ErrorDetail] = Field(default_factory=list)
