"""The same call on genesis (asyncio): ``python genesis_app.py PORT PROMPT_PATH``.

Run with the throw-away environment's Python (``make bench-peers`` installs genesis
there, never into the daemon's environment).
"""

import asyncio
import sys

from genesis import Outbound, Session

PROMPT = sys.argv[2]


async def call(session: Session) -> None:
    channel = session.channel
    assert channel is not None
    await channel.answer()
    await channel.playback(PROMPT)
    await channel.hangup()


asyncio.run(Outbound(call, "127.0.0.1", int(sys.argv[1]), events=True, linger=True).start())
