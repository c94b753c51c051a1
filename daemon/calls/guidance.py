"""Playing guidance to the caller, and turning a call away with one without answering it.

A guidance is a prompt name of the library (``welcome``) or, for customer
recordings, an absolute file path.  Anything that ends up in an ESL command is
checked: no white space (``play_and_get_digits`` splits its argument on it), no
``!`` (``file_string://`` joins files with it), no CR/LF.

Refusals (``refuse``) never answer: ``pre_answer`` gives the caller 183 with early
media, the guidance plays, and the hangup cause picks the SIP final response
(mod_sofia ``hangup_cause_to_sip``): busy → USER_BUSY → 486, not in service →
UNALLOCATED_NUMBER → 404, unavailable → NORMAL_TEMPORARY_FAILURE → 503, each with
``Reason: Q.850;cause=17/1/41`` (refuse_*_early_media captures); a blocked caller:
call_declined → CALL_REJECTED → 603 Decline, Q.850 21 (the same code path; no capture).  Nothing is billed
by the caller's carrier.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Sequence
from typing import Final

from daemon.calls.services import Prompts
from daemon.esl.encoding import check_safe
from daemon.outbound.session import CallEnded, Session

#: The hangup cause of each refusal guidance (the SIP status the caller's carrier gets).
REFUSAL_CAUSES: Final[dict[str, str]] = {
    "busy": "USER_BUSY",  # 486 Busy Here, Q.850 17
    "not_in_service": "UNALLOCATED_NUMBER",  # 404 Not Found, Q.850 1
    "unavailable": "NORMAL_TEMPORARY_FAILURE",  # 503 Service Unavailable, Q.850 41
    "call_declined": "CALL_REJECTED",  # 603 Decline, Q.850 21: the tenant's block list
}

# a path FreeSWITCH's argument splitting or file_string's '!' would cut in two
_UNPLAYABLE = re.compile(r"[\s!]")


def source(prompts: Prompts, item: str) -> str:
    """The file FreeSWITCH plays for ``item``: a prompt name, or an absolute path as it is."""
    return _playable(item if item.startswith("/") else prompts.path(item))


@functools.lru_cache(maxsize=4096)  # the same few prompts play on every call; a refusal is never kept
def _playable(path: str) -> str:
    check_safe(path)
    if _UNPLAYABLE.search(path):
        raise ValueError(f"guidance path {path!r} contains white space or '!'")
    return path


def sequence(prompts: Prompts, items: Sequence[str]) -> str:
    """One playable argument for several guidances in a row (``file_string://a!b``)."""
    if not items:
        raise ValueError("no guidance to play")
    paths = [source(prompts, item) for item in items]
    return paths[0] if len(paths) == 1 else "file_string://" + "!".join(paths)


async def play(session: Session, prompts: Prompts, name: str | Sequence[str]) -> str:
    """Play prompt ``name`` (or several in a row); return FreeSWITCH's Application-Response.

    A plain ``playback``: digits keyed meanwhile are dropped (only ``*`` would stop it).
    A guidance followed by a keypad question belongs in the question's ``lead_in``
    (:func:`daemon.calls.keypad.read_digits`), where keys typed ahead are kept.
    """
    played = source(prompts, name) if isinstance(name, str) else sequence(prompts, name)
    done = await session.execute("playback", played)
    return done.get("Application-Response") or ""


async def play_early(session: Session, prompts: Prompts, name: str | Sequence[str]) -> str:
    """Early media: 183 Session Progress and the guidance, the call still unanswered."""
    await session.execute("pre_answer")
    return await play(session, prompts, name)


async def refuse(session: Session, prompts: Prompts, name: str, cause: str | None = None) -> None:
    """Tell the caller why we cannot take the call, without answering it, and end with the real cause.

    ``cause`` defaults to the refusal's own (:data:`REFUSAL_CAUSES`).  A caller who
    hangs up during the guidance simply ends the call.
    """
    cause = cause or REFUSAL_CAUSES.get(name, "NORMAL_CLEARING")
    with contextlib.suppress(CallEnded):
        await play_early(session, prompts, name)
        await session.hangup(cause)
