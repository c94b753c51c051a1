"""What a database failure looks like to the daemon (down, restarting, slow, or refusing)."""

from __future__ import annotations

import asyncpg

# InternalClientError: a pooled connection the server terminated under us ("cannot switch to
# state …; another operation is in progress") is a database failure like any other.
DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)
