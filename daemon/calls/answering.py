"""The interim product flow: answer, a neutral greeting, hang up.

Serves admitted calls until the Coaching Dial and IVR flows take over their
products; it holds the line for the length of the guidance.
"""

from __future__ import annotations

import asyncio

from daemon.calls import guidance
from daemon.calls.services import Services
from daemon.db.admission import Admission
from daemon.outbound.session import Session


async def greet_and_hang_up(
    session: Session, calls: asyncio.TaskGroup, services: Services, decision: Admission
) -> None:
    await session.execute("answer")
    await guidance.play(session, services.prompts, "greeting")
    await session.hangup("NORMAL_CLEARING")
