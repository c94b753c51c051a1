"""Type aliases for asyncpg connections as they reach our functions."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy
"""A connection, bare or borrowed from a pool."""

Queryable: TypeAlias = asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool
"""Anything with fetch/fetchrow/execute."""
