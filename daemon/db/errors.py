"""What a database failure looks like to the daemon (down, restarting, slow, or refusing)."""

from __future__ import annotations

import asyncpg

DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
