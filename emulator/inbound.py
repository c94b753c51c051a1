"""The inbound event socket (port 8021 in the captures), for the daemon's crash recovery.

inbound_show_channels: on connect FreeSWITCH sends ``auth/request``; ``auth ClueCon``
-> ``+OK accepted``; ``api show channels as json`` lists one row per leg (all values
strings, no trailing newline), ``api show calls as json`` one joined row per bridged
call; ``event plain CHANNEL_HANGUP_COMPLETE`` delivers every channel's event (not
per call), the far-end leg's before the caller's; ``exit`` -> ``+OK bye`` and a
67-byte disconnect notice without Controlled-Session-UUID, then EOF.
Calls whose app died mid-bridge are still listed (backstop_crash_in_bridge.inbound).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from daemon.esl import Frame
from daemon.esl.replies import auth_request, disconnect_inbound
from emulator.channel import Channel
from emulator.listener import Listener

if TYPE_CHECKING:
    from emulator.switch import FakeFreeSwitch


class InboundListener(Listener):
    """One inbound connection: authenticate, then api / bgapi / event / exit."""

    def __init__(self, fs: FakeFreeSwitch, password: str) -> None:
        super().__init__(fs)
        self.password = password
        self.authed = False

    def connection_made(self, transport: object) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.write(auth_request())

    def handle(self, line: str, frame: Frame) -> tuple[str, list[tuple[str, str]]] | None:
        if not self.authed:
            low = line.lower()
            if low.startswith(("exit", "...")):
                return self.handle_common(line, frame)
            if low.startswith("auth "):
                if line[5:].strip() == self.password:
                    self.authed = True
                    return "+OK accepted", []
                self.write_reply_and_close("-ERR invalid")
                return None
            return "-ERR command not found", []
        return self.handle_common(line, frame)

    def write_reply_and_close(self, text: str) -> None:
        from daemon.esl.replies import command_reply

        self.write(command_reply(text))
        self.close()

    def on_exit(self) -> None:
        self.write(disconnect_inbound())
        self.close()


def _stamp(us: int) -> tuple[str, str]:
    second = us // 1_000_000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)), str(second)


def _row(fs: FakeFreeSwitch, ch: Channel, call_uuid: str, sent: tuple[str, str]) -> dict[str, str]:
    """One ``show channels`` row, keys in the order of inbound_show_channels."""
    p = ch.profile
    created, created_epoch = _stamp(p.created)
    codec = ("PCMU", "8000", "64000") if ch.media else ("", "", "")
    callee = p.callee or ("", "")
    inbound = ch.direction == "inbound"
    return {
        "uuid": ch.uuid,
        "direction": ch.direction,
        "created": created,
        "created_epoch": created_epoch,
        "name": ch.name,
        "state": ch.state,
        "cid_name": p.cid_name,
        "cid_num": p.cid_number,
        "ip_addr": "127.0.0.1",
        "dest": p.destination,
        "application": (ch.get_var("current_application") or "") if inbound else "",
        "application_data": (ch.get_var("current_application_data") or "") if inbound else "",
        "dialplan": "XML",
        "context": "public",
        "read_codec": codec[0],
        "read_rate": codec[1],
        "read_bit_rate": codec[2],
        "write_codec": codec[0],
        "write_rate": codec[1],
        "write_bit_rate": codec[2],
        "secure": "",
        "hostname": fs.factory.hostname,
        "presence_id": "",
        "presence_data": "",
        "accountcode": "",
        "callstate": ch.call_state,
        "callee_name": callee[0],
        "callee_num": callee[1],
        "callee_direction": "SEND" if p.callee else "",
        "call_uuid": call_uuid,
        "sent_callee_name": sent[0],
        "sent_callee_num": sent[1],
        "initial_cid_name": p.cid_name,
        "initial_cid_num": p.cid_number,
        "initial_ip_addr": "127.0.0.1",
        "initial_dest": p.destination,
        "initial_dialplan": "XML",
        "initial_context": "public",
    }


def channel_rows(fs: FakeFreeSwitch) -> list[dict[str, str]]:
    """Every live leg: callers (sessions), then far ends."""
    rows = []
    for session in fs.sessions.values():
        ch = session.ch
        callee = ch.profile.callee or ("", "")
        rows.append(_row(fs, ch, ch.uuid, callee))
    for leg in fs.b_legs.values():
        a = leg.session.ch.profile
        rows.append(_row(fs, leg.channel, leg.session.ch.uuid, (a.cid_name, a.cid_number)))
    return rows


_CALL_A_KEYS = (
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
    "sent_callee_num",
)
# The B-leg half of a `show calls` row: the same columns, without the call's own ids.
_CALL_B_KEYS = tuple(key for key in _CALL_A_KEYS if key not in {"call_uuid", "hostname"})


def call_rows(fs: FakeFreeSwitch) -> list[dict[str, str]]:
    """``show calls``: one joined row per bridged call (A fields, ``b_*`` fields, call_created_epoch)."""
    rows = []
    for leg in fs.b_legs.values():
        a_ch = leg.session.ch
        a = _row(fs, a_ch, a_ch.uuid, a_ch.profile.callee or ("", ""))
        b = _row(fs, leg.channel, a_ch.uuid, (a_ch.profile.cid_name, a_ch.profile.cid_number))
        row = {key: a[key] for key in _CALL_A_KEYS}
        row.update({f"b_{key}": b[key] for key in _CALL_B_KEYS})
        row["call_created_epoch"] = str((a_ch.profile.bridged or a_ch.profile.created) // 1_000_000)
        rows.append(row)
    return rows
