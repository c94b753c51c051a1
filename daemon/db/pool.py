"""Connection pools.

Line admission runs with ``synchronous_commit = off``: a line row lost in a
database crash only frees a line early, and it saves an fsync per call set-up.
Money (ledger, charges) never goes through this pool.
"""

from __future__ import annotations

import asyncpg


async def create_pool(dsn: str, *, size: int, fast_commit: bool = False) -> asyncpg.Pool:
    settings = {"application_name": "calld"}
    if fast_commit:
        settings["synchronous_commit"] = "off"
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(2, size),
        max_size=size,
        server_settings=settings,
        command_timeout=10,
    )
    assert pool is not None
    return pool
