"""Sans-IO codec for the FreeSWITCH event socket (ESL): bytes in, frames out.

Both roles live here: the application side (our daemon) and the FreeSWITCH side
(the emulator used by tests and benchmarks).  Nothing in this package touches a
socket or an event loop.
"""

from daemon.esl.errors import ConnectionClosed, ProtocolError, UnsafeValueError
from daemon.esl.frame import Event, Frame
from daemon.esl.parser import Parser

__all__ = ["ConnectionClosed", "Event", "Frame", "Parser", "ProtocolError", "UnsafeValueError"]
