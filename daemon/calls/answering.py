"""The interim product flow: answer, a neutral greeting, hang up.

Serves admitted calls until the Coaching Dial and IVR flows take over their
products; it holds the line for the length of the guidance.
"""

from __future__ import annotations

from daemon.calls import guidance
from daemon.calls.context import CallContext


async def greet_and_hang_up(call: CallContext) -> None:
    await call.session.execute("answer")
    await guidance.play(call.session, call.prompts, "greeting")
    await call.session.hangup("NORMAL_CLEARING")
