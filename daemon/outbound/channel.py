"""What we keep of CHANNEL_DATA: a handful of fields, not 150 headers."""

from __future__ import annotations

from dataclasses import dataclass

from daemon.esl import Frame
from daemon.esl.encoding import url_decode


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
        raw = dict(reversed(frame.raw_headers))  # first occurrence wins; values still encoded

        def get(name: str) -> str:
            return url_decode(raw.get(name, ""))

        created = get("Caller-Channel-Created-Time")
        diversion = raw.get("variable_sip_h_Diversion")
        return cls(
            unique_id=get("Unique-ID"),
            caller_id_number=get("Caller-Caller-ID-Number"),
            caller_id_name=get("Caller-Caller-ID-Name"),
            destination_number=get("Caller-Destination-Number"),
            channel_name=get("Channel-Name"),
            created_us=int(created) if created.isdigit() else 0,
            diversion=None if diversion is None else url_decode(diversion),
            core_uuid=get("Core-UUID"),
            hostname=get("FreeSWITCH-Hostname"),
        )
