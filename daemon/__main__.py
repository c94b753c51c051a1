"""``python -m daemon run`` starts the daemon (so does a bare ``python -m daemon``); the rest is the admin CLI.

See :mod:`daemon.cli` (``python -m daemon --help``).  The event loop is chosen
first (:mod:`daemon.event_loop`: uvloop, else the standard one), and the garbage
collector's young generation made less eager (:mod:`daemon.gc_tuning`).
"""

from __future__ import annotations

import sys

from daemon import event_loop, gc_tuning
from daemon.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    event_loop.install()
    gc_tuning.tune()
    return cli_main(args or ["run"])


if __name__ == "__main__":
    sys.exit(main())
