"""The same call on greenswitch (gevent): ``python greenswitch_app.py PORT PROMPT_PATH``.

Run with the throw-away environment's Python (``make bench-peers`` installs
greenswitch and gevent there, never into the daemon's environment).
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
from typing import Any  # noqa: E402

import greenswitch  # noqa: E402

PROMPT = sys.argv[2]


class Call:
    def __init__(self, session: Any) -> None:
        self.session = session

    def run(self) -> None:
        s = self.session
        s.myevents()
        s.linger()
        s.answer()
        s.playback(PROMPT, block=True)
        s.hangup()


greenswitch.OutboundESLServer(
    bind_address="127.0.0.1", bind_port=int(sys.argv[1]), application=Call, max_connections=100000
).listen()
