"""A change made in the console: the service layer's one transaction, with the logged-in user as the actor.

    async with audited(request) as change:
        await callers.update(change.pool, tenant, caller_id, **values)
        await change.record("caller.update", tenant_id=tenant, target=f"caller {caller_id}",
                            before=old, after=values)

The transaction, the savepoints and the audit row are
:func:`daemon.services.change.change`'s; pages that call a service function
pass :func:`actor_of` instead and need no block of their own.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from daemon.console.viewer import viewer_of
from daemon.http.context import pool_of
from daemon.services.actor import Actor
from daemon.services.change import Change, change


def actor_of(request: web.Request) -> Actor:
    return viewer_of(request).actor


def audited(request: web.Request) -> contextlib.AbstractAsyncContextManager[Change]:
    return change(pool_of(request), actor_of(request))
