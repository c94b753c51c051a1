"""Errors raised by the ESL codec."""


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid event-socket frame.

    The connection cannot be trusted after this: the caller closes it.
    """


class UnsafeValueError(ValueError):
    """A value to be written into a command holds a byte that could inject a command."""


class ConnectionClosed(Exception):
    """A command was made after the event socket closed; it cannot be sent."""
