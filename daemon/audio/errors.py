"""Why an input was refused.  Each reason is one HTTP status and a sentence for the customer."""

from __future__ import annotations

from typing import Final

# reason -> HTTP status
STATUS: Final[dict[str, int]] = {
    "too_large": 413,
    "too_long": 413,
    "not_audio": 415,
    "unsupported_codec": 415,
    "no_audio_stream": 422,
    "corrupt": 422,
    "silent": 422,
    "too_short": 422,
    "timeout": 422,
    "invalid_text": 422,
}


class AudioRejected(Exception):
    """The input cannot become a guidance; nothing was stored."""

    def __init__(self, reason: str, message: str) -> None:
        if reason not in STATUS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(reason, message)
        self.reason = reason
        self.message = message

    @property
    def status(self) -> int:
        return STATUS[self.reason]

    def __str__(self) -> str:
        return self.message
