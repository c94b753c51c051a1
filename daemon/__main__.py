"""``python -m daemon run`` starts the daemon (so does a bare ``python -m daemon``); the rest is the admin CLI.

See :mod:`daemon.cli` (``python -m daemon --help``).
"""

from __future__ import annotations

import sys

from daemon.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return cli_main(args or ["run"])


if __name__ == "__main__":
    sys.exit(main())
