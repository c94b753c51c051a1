"""What we keep of CHANNEL_DATA: a handful of fields, not 150 headers."""

from __future__ import annotations

from dataclasses import dataclass

from daemon.esl import Frame


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    unique_id: str
    caller_id_number: str
    caller_id_name: str
    destination_number: str
    channel_name: str
    created_us: int  # Caller-Channel-Created-Time, µs since the epoch (FreeSWITCH's clock)
    diversion: str | None  # raw Diversion header of a carrier-forwarded call
    core_uuid: str
    hostname: str

    @classmethod
    def from_connect_reply(cls, frame: Frame) -> ChannelInfo:
        headers = dict(reversed(frame.headers()))  # first occurrence wins
        created = headers.get("Caller-Channel-Created-Time", "0")
        return cls(
            unique_id=headers.get("Unique-ID", ""),
            caller_id_number=headers.get("Caller-Caller-ID-Number", ""),
            caller_id_name=headers.get("Caller-Caller-ID-Name", ""),
            destination_number=headers.get("Caller-Destination-Number", ""),
            channel_name=headers.get("Channel-Name", ""),
            created_us=int(created) if created.isdigit() else 0,
            diversion=headers.get("variable_sip_h_Diversion"),
            core_uuid=headers.get("Core-UUID", ""),
            hostname=headers.get("FreeSWITCH-Hostname", ""),
        )
