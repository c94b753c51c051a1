"""``python -m daemon run`` starts the daemon; other subcommands are the admin CLI."""

from __future__ import annotations

import asyncio
import sys

from daemon.config import Settings
from daemon.logs import configure


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] == "run":
        from daemon.app import serve

        settings = Settings()
        configure(settings.log_level)
        asyncio.run(serve(settings))
        return 0
    from daemon.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
