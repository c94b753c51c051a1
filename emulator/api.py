"""``api`` commands (mod_commands), with the reply texts of api_commands and inbound_show_channels.

Bodies are returned as FreeSWITCH writes them: ``uuid_exists`` answers ``true`` /
``false`` without a newline, errors end in ``\\n``, an unknown command gives
``-ERR <name> Command not found!\\n``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Protocol

from emulator.channel import Channel
from emulator.scheduler import Scheduler
from emulator.session import Session, Switch
from emulator.show import call_rows, channel_rows
from emulator.templates import STATUS_TEMPLATE, cause_or_default


class ApiSwitch(Switch, Protocol):
    """What the api commands need of the switch beyond what its calls do (it hands itself in)."""

    scheduler: Scheduler
    started_at: float
    total_sessions: int
    peak_sessions: int

    def find_channel(self, uuid: str) -> Channel | None: ...

    def kill(self, uuid: str, cause: str) -> bool: ...

    def broadcast(self, session: Session, path: str, leg: str, *, scheduled: bool) -> None: ...


NO_SUCH_CHANNEL = "-ERR No such channel!\n"
Handler = Callable[[ApiSwitch, str], str]


def uuid_exists(fs: ApiSwitch, arg: str) -> str:
    return "true" if fs.find_channel(arg.strip()) is not None else "false"


def uuid_kill(fs: ApiSwitch, arg: str) -> str:
    """``uuid_kill <uuid> [cause]``: CHANNEL_HANGUP in the same ms as the ``+OK`` (api_commands)."""
    uuid, _, cause = arg.strip().partition(" ")
    if not uuid:
        return "-USAGE: <uuid> [cause]\n"
    return "+OK\n" if fs.kill(uuid, cause_or_default(cause.strip() or None)) else NO_SUCH_CHANNEL


def live_session(fs: ApiSwitch, uuid: str) -> Session | None:
    """The caller leg with this UUID, unless it is gone or hanging up."""
    session = fs.sessions.get(uuid)
    return None if session is None or session.is_down else session


def on_channel(fs: ApiSwitch, arg: str, uuid_at: int, usage: str, act: Callable[[Session, list[str]], None]) -> str:
    """An api command of two words or more acting on the live channel named at ``uuid_at``."""
    parts = arg.split()
    if len(parts) < 2:
        return usage
    session = live_session(fs, parts[uuid_at])
    if session is None:
        return NO_SUCH_CHANNEL
    act(session, parts)
    return "+OK\n"


def uuid_break(fs: ApiSwitch, arg: str) -> str:
    """``uuid_break <uuid> [all]``: ``+OK\n``; see :meth:`emulator.session.Session.break_media`."""
    uuid, _, flag = arg.strip().partition(" ")
    if not uuid:
        return "-USAGE: <uuid> [all]\n"
    session = live_session(fs, uuid)
    if session is None:
        return "-ERR No Such Channel!\n"  # break_function's own spelling
    session.break_media(flush="all" in flag)
    return "+OK\n"


def uuid_transfer(fs: ApiSwitch, arg: str) -> str:
    """``uuid_transfer <uuid> <app:arg[,app:arg]> inline`` (the only form modelled): ``+OK\n``."""
    usage = "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
    return on_channel(fs, arg, 0, usage, lambda s, parts: s.transfer(parts[1], parts[2] if len(parts) > 2 else "XML"))


def sched_hangup(fs: ApiSwitch, arg: str) -> str:
    """``sched_hangup [+]<time> <uuid> [<cause>]`` (+OK, or -ERR No such channel!)."""

    def arm(session: Session, parts: list[str]) -> None:
        cause = cause_or_default(parts[2] if len(parts) > 2 else None, "ALLOTTED_TIMEOUT")
        fs.schedule_hangup(session, parts[0], cause)

    return on_channel(fs, arg, 1, "-USAGE: [+]<time> <uuid> [<cause>]\n", arm)


def sched_del(fs: ApiSwitch, arg: str) -> str:
    """``sched_del <task id|group>``: the group of sched_hangup/sched_broadcast is the channel UUID."""
    target = arg.strip()
    if not target:
        return "-ERR Invalid syntax\n"
    count = fs.scheduler.delete_id(int(target)) if target.isdigit() else fs.scheduler.delete_group(target)
    return f"+OK Deleted: {count}\n"


def uuid_broadcast(fs: ApiSwitch, arg: str) -> str:
    """``uuid_broadcast <uuid> <path> [aleg|bleg|both]``: ``+OK Message sent`` (queued on the leg)."""
    parts = arg.split()
    if len(parts) < 2:
        return "-USAGE: <uuid> <path> [aleg|bleg|both]\n"
    session = fs.sessions.get(parts[0])
    if session is not None:
        fs.broadcast(session, parts[1], parts[2] if len(parts) > 2 else "aleg", scheduled=False)
    return "+OK Message sent\n"


def sched_broadcast(fs: ApiSwitch, arg: str) -> str:
    """``sched_broadcast [+]<time> <uuid> <path> [leg]``: whole-second scheduler (api_commands: 0.71 s for +1)."""
    parts = arg.split()
    if len(parts) < 3:
        return "-USAGE: [+]<time> <uuid> <path> [aleg|bleg|both]\n"
    when, uuid, path = parts[:3]
    leg = parts[3] if len(parts) > 3 else "aleg"
    session = fs.sessions.get(uuid)
    seconds, relative = _when(when)

    def fire() -> None:
        if session is not None and not session.is_down:
            fs.broadcast(session, path, leg, scheduled=True)

    fs.scheduler.add(seconds, uuid, "broadcast", fire, relative=relative)
    return "+OK Message scheduled\n"


def _when(text: str) -> tuple[int, bool]:
    if text.startswith("+"):
        return (int(text[1:]) if text[1:].isdigit() else 0), True
    return (int(text) if text.isdigit() else 0), False


def uuid_setvar(fs: ApiSwitch, arg: str) -> str:
    uuid, _, rest = arg.strip().partition(" ")
    name, _, value = rest.strip().partition(" ")
    if not uuid or not name:
        return "-USAGE: <uuid> <var> [value]\n"
    channel = fs.find_channel(uuid)
    if channel is None:
        return NO_SUCH_CHANNEL
    channel.set_var(name, value or None)
    return "+OK\n"


def uuid_getvar(fs: ApiSwitch, arg: str) -> str:
    uuid, _, name = arg.strip().partition(" ")
    if not uuid or not name.strip():
        return "-USAGE: <uuid> <var>\n"
    channel = fs.find_channel(uuid)
    if channel is None:
        return NO_SUCH_CHANNEL
    value = channel.get_var(name.strip())
    return "_undef_" if value is None else value


def status(fs: ApiSwitch, arg: str) -> str:
    up = time.time() - fs.started_at
    return STATUS_TEMPLATE.format(
        hours=int(up // 3600) % 24,
        minutes=int(up // 60) % 60,
        seconds=int(up) % 60,
        ms=int(up * 1000) % 1000,
        us=int(up * 1_000_000) % 1000,
        total=fs.total_sessions,
        current=len(fs.sessions) + len(fs.b_legs),
        peak=fs.peak_sessions,
    )


def version(fs: ApiSwitch, arg: str) -> str:
    return "FreeSWITCH Version 1.10.12-release+git~20240802T210227Z~a88d069~64bit (-release 64bit)\n"


def show(fs: ApiSwitch, arg: str) -> str:
    """``show channels|calls [as json]`` (inbound_show_channels)."""
    words = arg.split()
    what = words[0].lower() if words else ""
    as_json = len(words) >= 3 and words[1].lower() == "as" and words[2].lower() == "json"
    if what == "channels":
        rows = channel_rows(fs)
    elif what == "calls":
        rows = call_rows(fs)
    else:
        return "-USAGE: show channels|calls [as json]\n"
    if as_json:
        if not rows:
            return json.dumps({"row_count": 0}, separators=(",", ":"))
        return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"), ensure_ascii=False)
    if not rows:
        return "\n0 total.\n"
    lines = [",".join(rows[0].keys())] + [",".join(row.values()) for row in rows]
    return "\n".join(lines) + f"\n\n{len(rows)} total.\n"


COMMANDS: dict[str, Handler] = {
    "uuid_exists": uuid_exists,
    "uuid_kill": uuid_kill,
    "uuid_break": uuid_break,
    "uuid_transfer": uuid_transfer,
    "sched_hangup": sched_hangup,
    "sched_del": sched_del,
    "uuid_broadcast": uuid_broadcast,
    "sched_broadcast": sched_broadcast,
    "uuid_setvar": uuid_setvar,
    "uuid_getvar": uuid_getvar,
    "status": status,
    "version": version,
    "show": show,
}


def execute(fs: ApiSwitch, command: str) -> str:
    name, _, arg = command.strip().partition(" ")
    handler = COMMANDS.get(name.lower())
    if handler is None:
        return f"-ERR {name} Command not found!\n"
    return handler(fs, arg)
