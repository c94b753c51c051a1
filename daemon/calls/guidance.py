"""Playing a guidance prompt to the caller, and turning a call away with one."""

from __future__ import annotations

from daemon.calls.services import Prompts
from daemon.outbound.session import Session


async def play(session: Session, prompts: Prompts, name: str) -> str:
    """Play prompt ``name``; return FreeSWITCH's Application-Response."""
    done = await session.execute("playback", prompts.path(name))
    return done.get("Application-Response") or ""


async def refuse(session: Session, prompts: Prompts, name: str, cause: str = "NORMAL_CLEARING") -> None:
    """Answer, play ``name``, hang up: how a caller hears why we cannot take the call."""
    await session.execute("answer")
    await play(session, prompts, name)
    await session.hangup(cause)
