"""The one way an operation writes: check → write → audit, in one transaction.

``change(pool, actor)`` opens a transaction on one connection and hands out a
:class:`Change`: ``c.pool`` is that connection dressed as a pool (the
repositories' own transactions become savepoints of this one), ``c.conn`` the
connection itself, and ``c.record(...)`` writes the audit row.  Nothing commits
unless the whole block succeeds, audit row included; a block that ends without
recording anything is a programming error and rolls back, so no change slips
through unaudited.

Refusals the repositories raise (``daemon.postgres.errors``, and the plain
``ValueError`` of a broken rule) and validation errors leave the block as the
domain errors of :mod:`daemon.services.errors`, so every front door catches one
family.  A refusal with a type of its own (``ivr_flows.PublishRefused``,
``console_users.Refused``) leaves as it is: its callers handle it by name.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import ValidationError

from daemon.postgres import errors as db_errors
from daemon.postgres.one_connection import one_connection
from daemon.postgres.types import Conn
from daemon.repositories import audit
from daemon.services.actor import Actor
from daemon.services.errors import RULE, Conflict, Invalid, NotFound, Problem, ServiceError

# A constraint name at the end of a repository's message: "... (caller_numbers_pkey)".
_CONSTRAINT = re.compile(r"\(([a-z][a-z0-9_]*)\)\s*$")


class Unaudited(RuntimeError):
    """A change block ended without an audit row: the code is wrong, the change is rolled back."""


@dataclass(slots=True)
class Change:
    conn: Conn
    pool: asyncpg.Pool
    actor: Actor
    recorded: int = field(default=0)

    def unchanged(self) -> None:
        """Nothing was changed, on purpose (a replayed request): no audit row, and no :class:`Unaudited`."""
        self.recorded += 1

    async def record(
        self, action: str, *, tenant_id: int | None, target: str = "", before: Any = None, after: Any = None
    ) -> None:
        """The audit row of this change: ``action`` like ``caller.update``, before → after as JSON values."""
        await audit.record(
            self.conn, self.actor, action, tenant_id=tenant_id, target=target, before=before, after=after
        )
        self.recorded += 1


# ValueError: a repository's rule ("a counsellor has a phone number or a dial string").
Refusal = db_errors.NotFound | db_errors.Conflict | ValueError


def domain_error(exc: Refusal) -> ServiceError:
    """The domain error a lower layer's refusal stands for."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, db_errors.NotFound):
        return NotFound(str(exc))
    if isinstance(exc, db_errors.Conflict):
        found = _CONSTRAINT.search(str(exc))
        return Conflict(str(exc), code=found.group(1) if found else None)
    if isinstance(exc, ValidationError):
        return Invalid.of(exc)
    return Invalid([Problem((), str(exc), RULE)])


@contextlib.asynccontextmanager
async def change(pool: asyncpg.Pool, actor: Actor) -> AsyncIterator[Change]:
    async with pool.acquire() as conn, conn.transaction():
        made = Change(conn, one_connection(conn), actor)
        try:
            yield made
        except ServiceError:
            raise
        except (db_errors.NotFound, db_errors.Conflict, ValidationError) as exc:
            raise domain_error(exc) from exc
        except ValueError as exc:
            if type(exc) is not ValueError:  # a refusal with a type of its own is its caller's to handle
                raise
            raise domain_error(exc) from exc
        if not made.recorded:
            raise Unaudited("a change ended without an audit row")
