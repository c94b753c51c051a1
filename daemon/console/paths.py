"""Where the console lives in the daemon's URL space."""

from __future__ import annotations

PREFIX = "/console"
LOGIN = f"{PREFIX}/login"
STATIC = f"{PREFIX}/static"
INVITE = f"{PREFIX}/invite/"  # + the one-time token: sets a new user's password
OPEN = (LOGIN, STATIC + "/", INVITE)  # reachable without a session


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def is_open(path: str) -> bool:
    return path == LOGIN or path.startswith((STATIC + "/", INVITE))
