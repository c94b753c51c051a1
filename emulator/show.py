"""The rows of ``api show channels|calls`` (inbound_show_channels), as the inbound socket sees them.

``show channels`` lists one row per leg (all values strings, no trailing newline),
``show calls`` one joined row per bridged call.  Calls whose app died mid-bridge are
still listed (backstop_crash_in_bridge.inbound).
"""

from __future__ import annotations

import time

from emulator.channel import Channel
from emulator.session import Switch


def _stamp(us: int) -> tuple[str, str]:
    second = us // 1_000_000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)), str(second)


def _row(fs: Switch, ch: Channel, call_uuid: str, sent: tuple[str, str]) -> dict[str, str]:
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


def channel_rows(fs: Switch) -> list[dict[str, str]]:
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


def call_rows(fs: Switch) -> list[dict[str, str]]:
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
