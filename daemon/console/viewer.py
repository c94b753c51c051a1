"""Who is looking at a console page, and the guard that keeps each role to its own pages.

The tenant always comes from the logged-in user, never from the URL, so an
operator of tenant A who edits a URL to name tenant B's caller gets "not found".
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from daemon.services.actor import Actor

ADMIN, OPERATOR, IVR = "admin", "operator", "ivr"
ROLE_NAMES = {ADMIN: "プラットフォーム管理者", OPERATOR: "コーチングダイヤル運営者", IVR: "IVRお客様"}
COUNSELLOR = "counsellor"  # made by their operator, never by the platform: not one of ROLE_NAMES' choices
ALL_ROLE_NAMES = {**ROLE_NAMES, COUNSELLOR: "相談員"}


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int
    login: str
    display_name: str
    role: str
    tenant_id: int | None  # None: the platform admin, who sees every tenant
    csrf_token: str
    remote: str

    @property
    def actor(self) -> Actor:
        return Actor.console(self.user_id, self.login, self.tenant_id, self.remote)

    @property
    def role_name(self) -> str:
        return ALL_ROLE_NAMES[self.role]


class Forbidden(Exception):
    """This page is not for this role."""


VIEWER: web.RequestKey[Viewer] = web.RequestKey("console_viewer", Viewer)


def viewer_of(request: web.Request) -> Viewer:
    return request[VIEWER]


def require(request: web.Request, *roles: str) -> Viewer:
    """The viewer, if their role is one of ``roles``; else a 403 page."""
    viewer = request[VIEWER]
    if viewer.role not in roles:
        raise Forbidden(f"{viewer.role_name}はこのページを開けません")
    return viewer


def tenant_scope(request: web.Request, *roles: str) -> tuple[Viewer, int]:
    """A tenant user's viewer and their own tenant (operator/IVR pages)."""
    viewer = require(request, *roles)
    if viewer.tenant_id is None:
        raise Forbidden("このページはテナントの利用者向けです")
    return viewer, viewer.tenant_id
