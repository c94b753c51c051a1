"""The brain behind our FreeSWITCH phone lines: outbound event-socket daemon."""

__version__ = "0.1.0"
