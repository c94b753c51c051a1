"""The inbound event socket (port 8021 in the captures), for the daemon's crash recovery.

inbound_show_channels: on connect FreeSWITCH sends ``auth/request``; ``auth ClueCon``
-> ``+OK accepted``; ``api show channels|calls as json`` (rows: :mod:`emulator.show`);
``event plain CHANNEL_HANGUP_COMPLETE`` delivers every channel's event (not
per call), the far-end leg's before the caller's; ``exit`` -> ``+OK bye`` and a
67-byte disconnect notice without Controlled-Session-UUID, then EOF.
"""

from __future__ import annotations

from daemon.esl import Frame
from daemon.esl.replies import auth_request, command_reply, disconnect_inbound
from emulator.listener import Listener, Switchboard


class InboundListener(Listener):
    """One inbound connection: authenticate, then api / bgapi / event / exit."""

    def __init__(self, fs: Switchboard, password: str) -> None:
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
        self.write(command_reply(text))
        self.close()

    def on_exit(self) -> None:
        self.write(disconnect_inbound())
        self.close()
