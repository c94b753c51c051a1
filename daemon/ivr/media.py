"""The one place the IVR touches the shared call code: guidance, keypad, bridge, record.

Guidance items of the ``guidance`` table are played by the shared helpers under
a name (``g<id>``) that :class:`GuidancePrompts` turns into the item's processed
WAV; stock prompts fall through to the daemon's prompt library.  A plain
``playback`` drops keys typed meanwhile, so guidance that leads to a menu is the
lead-in of the menu's question (:func:`read_keys`), where keys typed ahead count.
Forwarding rings through :func:`daemon.calls.bridge.ring` with one
:class:`Phone` per number (``Settings.forward_dial_template``); the optional
announcement to the answering person is FreeSWITCH's ``group_confirm_file`` run
with ``group_confirm_key=exec`` (the originate plays it on the answered leg
before bridging).
"""

from __future__ import annotations

import asyncio
import uuid
import wave
from collections.abc import Sequence
from dataclasses import dataclass

from daemon.calls import bridge, guidance
from daemon.calls.keypad import read_digits
from daemon.calls.services import Prompts
from daemon.esl.encoding import check_safe
from daemon.ivr.recording import Recording
from daemon.outbound.session import Session
from daemon.repositories.counsellors import dial_string

BEEP = "tone_stream://%(500,0,1000)"
SILENCE_THRESHOLD = 200  # FreeSWITCH energy level under which a frame counts as silence
_KEYS_VAR = "ivr_keys"


class GuidancePrompts:
    """:class:`~daemon.calls.services.Prompts` over one flow version's guidance paths."""

    def __init__(self, paths: dict[int, str], stock: Prompts) -> None:
        self.paths = paths
        self.stock = stock

    def path(self, name: str) -> str:
        if name == "beep":
            return BEEP
        if name.startswith("g") and name[1:].isdigit():
            return self.paths[int(name[1:])]
        return self.stock.path(name)


def name(guidance_id: int) -> str:
    """The name a guidance item is played under (see :class:`GuidancePrompts`)."""
    return f"g{guidance_id}"


async def play(session: Session, prompts: GuidancePrompts, items: Sequence[str]) -> None:
    """Play guidance (names from :func:`name`, stock prompt names) in a row, in one ``playback``."""
    await guidance.play(session, prompts, items)


async def beep(session: Session, prompts: GuidancePrompts) -> None:
    await guidance.play(session, prompts, "beep")


async def read_keys(
    session: Session,
    prompts: GuidancePrompts,
    guidance_id: int,
    *,
    max_digits: int,
    first_ms: int,
    inter_ms: int,
    lead_in: Sequence[str] = (),
) -> str | None:
    """Play ``lead_in`` and the prompt, collect up to ``max_digits`` keys (keys during either count); None: nothing."""
    return await read_digits(
        session,
        prompts,
        name(guidance_id),
        var=_KEYS_VAR,
        min_digits=1,
        max_digits=max_digits,
        timeout_ms=first_ms,
        digit_timeout_ms=inter_ms,
        lead_in=lead_in,
    )


@dataclass(frozen=True, slots=True)
class Phone:
    """A number a ``forward`` node rings, as :func:`daemon.calls.bridge.ring` dials it."""

    number: str
    dial_string: str


def phones(numbers: Sequence[str], template: str, *, international: bool = False) -> list[Phone]:
    """Each number's dial string (:func:`~daemon.repositories.counsellors.dial_string` checks it against the policy)."""
    return [Phone(n, dial_string(n, None, template, international=international)) for n in numbers]


async def ring(
    session: Session,
    calls: asyncio.TaskGroup,
    legs: Sequence[tuple[uuid.UUID, Phone]],
    *,
    ring_timeout_s: int,
    shown_number: str,
    announcement: str | None,
) -> bridge.Ring[Phone]:
    """Start ringing the numbers at once (one: sequential hunting is the caller's loop)."""
    await bridge.prepare(session)
    # copied by the originate from this channel; an empty value unsets it (no announcement).  The
    # answered caller hears nothing at all while the phone rings and hears the announcement unless
    # ``ringback`` is set (ignore_early_media: forward_announcement vs forward_announcement_ringback).
    confirm = f"playback {check_safe(announcement)}" if announcement else ""
    key, cancel = ("exec", "1") if confirm else ("", "")
    await session.execute(
        "multiset",
        f"^^|group_confirm_key={key}|group_confirm_file={confirm}|group_confirm_cancel_timeout={cancel}"
        f"|ringback={bridge.RINGBACK}",
    )
    return await bridge.ring(
        session,
        calls,
        [phone for _, phone in legs],
        ring_timeout_s=ring_timeout_s,
        shown_number=shown_number,
        leg_uuids=[leg for leg, _ in legs],
    )


async def record(session: Session, path: str, *, max_seconds: int, silence_seconds: int) -> Recording:
    """Record the caller into ``path`` until ``#``, silence or the limit.

    ``record path time_limit_secs [silence_thresh silence_hits]``; FreeSWITCH
    reports the length of what it wrote (the frames that arrived) as
    ``variable_record_ms`` on EXECUTE_COMPLETE, and ``silence_hits_exhausted`` when
    silence ended it (see :mod:`daemon.ivr.recording`).
    """
    check_safe(path)
    if any(ch.isspace() for ch in path):
        raise ValueError(f"recording path {path!r} contains white space; record splits on it")
    await session.execute("set", "playback_terminators=#")
    arg = f"{path} {max_seconds}" + (f" {SILENCE_THRESHOLD} {silence_seconds}" if silence_seconds else "")
    done = await session.execute("record", arg)
    value = done.get("variable_record_ms") or ""
    ms = int(value) if value.isdigit() else recorded_ms(path)
    return Recording(ms, silence_ended=done.get("variable_silence_hits_exhausted") == "true")


def recorded_ms(path: str) -> int:
    """Length of a WAV that FreeSWITCH wrote (0 if there is none)."""
    try:
        with wave.open(path, "rb") as w:
            return w.getnframes() * 1000 // w.getframerate()
    except (OSError, EOFError, wave.Error):
        return 0
