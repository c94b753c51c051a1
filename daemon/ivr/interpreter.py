"""The IVR: the tenant's published flow, run node by node over the call.

answer
→ the live flow version (cached per node process; the call keeps it to the end)
→ the entry node for how the call arrived (diverted-from number, toll-free, direct, number, default)
→ each node's function returns the next node's name, or None to hang up:
    play       guidance items, then next; before a menu (or another play) they wait to be the
               lead-in of the menu's question, where keys typed during them count
    menu       prompt + keys (type-ahead kept); timeout / invalid: its prompt as the lead-in of the
               retry; retries used up: that prompt, then fallback
    hours      open or closed now (Asia/Tokyo, holidays, the tenant's own days)
    forward    ring external numbers (daemon.ivr.forwarding); talk; busy / no answer / failure: on_fail
    voicemail  prompt, beep, record (# / silence / limit), stored; then next or hang up
    hangup
A tenant with nothing published yet hears the stock greeting (:func:`unpublished`).
Each call's end is written once for the customer's statistics (daemon.ivr.call_log).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from daemon.calls import guidance
from daemon.calls.context import CallContext
from daemon.ivr import call_log, forwarding, media
from daemon.ivr.arrival import arrival, diverted_from
from daemon.ivr.cache import FlowCache
from daemon.ivr.call import IvrCall
from daemon.ivr.recording import Recording, is_message
from daemon.logs import get_logger
from daemon.outbound.session import CallEnded
from daemon.repositories import voicemail as voicemail_db
from daemon.rules.ivr.hours import is_open
from daemon.rules.ivr.models import ForwardNode, HangupNode, HoursNode, MenuNode, PlayNode, VoicemailNode

_log = get_logger(__name__)

MAX_STEPS = 500  # a published flow cannot loop without the caller; this is the belt to those braces
MAX_LEAD_IN = 40  # guidance items held back for the next question at most (two play nodes' worth)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@functools.cache  # resolved once per data directory (system calls on every call otherwise)
def _recordings(data_dir: Path) -> Path:
    """Where voicemail is recorded: an absolute path, as FreeSWITCH (another working directory) needs."""
    return data_dir.resolve() / "voicemail"


class Ivr:
    """The product flow given to :class:`~daemon.calls.entry.CallEntry` for ``ivr`` numbers."""

    def __init__(self, cache: FlowCache, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.cache = cache
        self.clock = clock

    async def __call__(self, call: CallContext) -> None:
        live = await self.cache.get(call.pool, call.tenant_id)
        if live is None:
            return await unpublished(call)
        original = diverted_from(call.channel.diversion)
        c = IvrCall(
            call,
            live,
            media.GuidancePrompts(live.paths, call.prompts),
            self.clock or now,
            _recordings(call.services.settings.data_dir),
        )
        start = live.flow.entry.start(arrival(call.dialled, original), call.dialled, original)
        _log.info("ivr_start", version=live.version, node=start, diverted_from=original)
        caller_hung_up = False
        try:
            await call.session.execute("answer")
            await run(c, start)
            await call.session.hangup("NORMAL_CLEARING")
        except CallEnded:
            caller_hung_up = True
            raise
        finally:
            call_log.record(c, caller_hung_up=caller_hung_up)


async def unpublished(call: CallContext) -> None:
    """A number whose tenant has published nothing yet: answer, the stock greeting, hang up."""
    await call.session.execute("answer")
    await guidance.play(call.session, call.prompts, "greeting")
    await call.session.hangup("NORMAL_CLEARING")


async def run(c: IvrCall, start: str) -> None:
    name: str | None = start
    for _ in range(MAX_STEPS):
        if name is None:
            return await flush(c)
        c.node = name
        node = c.live.flow.nodes[name]
        if not isinstance(node, PlayNode | MenuNode):
            await flush(c)
        name = await STEPS[node.kind](c, node)
    _log.error("ivr_too_many_steps", node=name)


async def flush(c: IvrCall) -> None:
    """Play the guidance still waiting for a question (the next node asks none)."""
    if c.lead_in:
        items, c.lead_in = c.lead_in, []
        await media.play(c.session, c.prompts, items)


async def play(c: IvrCall, node: PlayNode) -> str | None:
    c.lead_in += [media.name(g) for g in node.guidance]
    following = c.live.flow.nodes[node.next]
    if not isinstance(following, PlayNode | MenuNode) or len(c.lead_in) > MAX_LEAD_IN:
        await flush(c)
    return node.next


async def menu(c: IvrCall, node: MenuNode) -> str | None:
    longest = max(len(keys) for keys in node.options)
    for _ in range(node.max_retries + 1):
        lead_in, c.lead_in = c.lead_in, []
        keys = await media.read_keys(
            c.session,
            c.prompts,
            node.prompt,
            max_digits=longest,
            first_ms=node.first_digit_timeout_ms,
            inter_ms=node.inter_digit_timeout_ms,
            lead_in=lead_in,
        )
        if keys is not None and keys in node.options:
            c.choices.append((c.node, keys))
            return node.options[keys]
        again = node.timeout_prompt if keys is None else node.invalid_prompt
        _log.info("ivr_menu_retry", node=c.node, keys=keys or "", timeout=keys is None)
        if again is not None:
            c.lead_in = [media.name(again)]  # the retry's lead-in, or played before the fallback
    return node.fallback


async def hours(c: IvrCall, node: HoursNode) -> str | None:
    return node.open if is_open(node, c.clock()) else node.closed


async def forward(c: IvrCall, node: ForwardNode) -> str | None:
    return await forwarding.forward(c, node)


async def voicemail(c: IvrCall, node: VoicemailNode) -> str | None:
    if node.prompt is not None:
        await media.play(c.session, c.prompts, [media.name(node.prompt)])
    if node.beep:
        await media.beep(c.session, c.prompts)
    folder = c.recordings / str(c.tenant_id)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    path = folder / f"{c.call_uuid}-{c.node}.wav"
    recording = Recording(0)
    try:
        recording = await media.record(
            c.session, str(path), max_seconds=node.max_seconds, silence_seconds=node.silence_seconds
        )
    except CallEnded:
        recording = Recording(media.recorded_ms(str(path)))  # the caller hung up to end the message
        raise
    finally:
        await asyncio.shield(keep_message(c, path, recording, node.silence_seconds))
    return node.next


async def keep_message(c: IvrCall, path: Path, recording: Recording, silence_seconds: int) -> None:
    """List the recording as a message, or remove it if the caller said nothing (daemon/ivr/recording.py)."""
    if not is_message(recording, silence_seconds):
        await asyncio.to_thread(path.unlink, missing_ok=True)
        _log.info("ivr_voicemail_empty", node=c.node, ms=recording.ms, silence_ended=recording.silence_ended)
        return
    if not await asyncio.to_thread(path.exists):
        return
    await voicemail_db.add(
        c.pool,
        tenant_id=c.tenant_id,
        call_uuid=c.call_uuid,
        flow_node=c.node,
        caller_number=c.caller_number,
        dialled=c.dialled,
        path=str(path),
        duration_ms=recording.ms,
    )
    _log.info("ivr_voicemail", node=c.node, ms=recording.ms)


async def hangup(c: IvrCall, node: HangupNode) -> str | None:
    return None


STEPS: dict[str, Callable[[IvrCall, Any], Awaitable[str | None]]] = {
    "play": play,
    "menu": menu,
    "hours": hours,
    "forward": forward,
    "voicemail": voicemail,
    "hangup": hangup,
}
