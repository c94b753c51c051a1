"""What a database operation can fail with, defined once.

* :class:`NotFound` -- the row does not exist (or belongs to another tenant): 404.
* :class:`Conflict` -- the request clashes with what is stored (a name or number
  taken, a balance that cannot cover it): 409.
* ``DB_UNAVAILABLE`` -- the database is down, restarting, out of connections or
  too slow: try again later (503).
* ``DB_ERRORS`` -- any failure of the database, refusals included (what a
  background task survives and retries).
"""

from __future__ import annotations

import asyncpg


class NotFound(LookupError):
    """The row does not exist, or belongs to another tenant."""


class Conflict(ValueError):
    """The request clashes with what is stored (taken name or number, money that does not allow it)."""


DB_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    # a pooled connection the server terminated under us ("cannot switch to state …;
    # another operation is in progress") is a database that went away like any other
    asyncpg.InternalClientError,
)

DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
