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
        """Ten lookups in the reply's header block; its 150 lines are never split (Frame.from_block)."""

        def get(name: str) -> str:
            return frame.get(name) or ""

        created = get("Caller-Channel-Created-Time")
        return cls(
            unique_id=get("Unique-ID"),
            caller_id_number=get("Caller-Caller-ID-Number"),
            caller_id_name=get("Caller-Caller-ID-Name"),
            destination_number=get("Caller-Destination-Number"),
            channel_name=get("Channel-Name"),
            created_us=int(created) if created.isdigit() else 0,
            diversion=frame.get("variable_sip_h_Diversion"),
            core_uuid=get("Core-UUID"),
            hostname=get("FreeSWITCH-Hostname"),
        )
