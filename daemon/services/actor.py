"""Who is acting: the audit log names them, and the scope says which tenant they may act for.

A tenant's user or token acts for exactly that tenant; the admin token, a
platform admin, the CLI (run by whoever holds the server) and the daemon itself
act for every tenant.  An operation naming another tenant's object is refused as
*not found*, never as forbidden, so ids of other tenants reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from daemon.services.errors import Forbidden, NotFound


class Kind(StrEnum):
    ADMIN_TOKEN = "admin_token"
    TENANT_TOKEN = "tenant_token"
    CONSOLE = "console"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: Kind
    login: str  # the name the audit log keeps (a console login, "cli:root", "admin-api", ...)
    tenant_id: int | None  # the one tenant they may act for; None: every tenant
    user_id: int | None = None  # the console user, when it is one
    remote: str = ""  # the peer address, when it came over the network

    @classmethod
    def admin_token(cls, remote: str = "") -> Actor:
        return cls(Kind.ADMIN_TOKEN, "admin-api", None, remote=remote)

    @classmethod
    def tenant_token(cls, tenant_id: int, remote: str = "") -> Actor:
        return cls(Kind.TENANT_TOKEN, f"tenant-token:{tenant_id}", tenant_id, remote=remote)

    @classmethod
    def console(cls, user_id: int, login: str, tenant_id: int | None, remote: str = "") -> Actor:
        return cls(Kind.CONSOLE, login, tenant_id, user_id=user_id, remote=remote)

    @classmethod
    def cli(cls, user: str) -> Actor:
        return cls(Kind.CLI, f"cli:{user}", None)

    @classmethod
    def system(cls, what: str) -> Actor:
        return cls(Kind.SYSTEM, f"system:{what}", None)

    @property
    def platform(self) -> bool:
        """May act for every tenant (and on the platform itself: tenants, users, tokens)."""
        return self.tenant_id is None

    def may_act_for(self, tenant_id: int) -> bool:
        return self.tenant_id is None or self.tenant_id == tenant_id

    def scope(self, tenant_id: int) -> int:
        """``tenant_id`` if this actor may act for it; else :class:`NotFound` (nothing is revealed)."""
        if not self.may_act_for(tenant_id):
            raise NotFound(f"no tenant with id {tenant_id}")
        return tenant_id

    def require_platform(self) -> None:
        """Operations on the platform itself (tenants, users, tokens) are the platform's staff's only."""
        if not self.platform:
            raise Forbidden("only the platform's administrators may do this")
