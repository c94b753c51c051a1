"""Which event loop runs the daemon: uvloop where it is installed, the standard library's otherwise.

uvloop (libuv underneath) runs the same asyncio code with less CPU per socket
read, write and timer: the daemon's work per call is mostly those.  It is a
dependency, but a wheel may be missing for a platform, so its absence is no
error: the standard loop runs everything the same way, a little slower.
``CALLD_EVENT_LOOP=asyncio`` chooses the standard loop on purpose (to compare,
or to rule the loop out when hunting a bug).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

CHOICES = ("uvloop", "asyncio")
VARIABLE = "CALLD_EVENT_LOOP"


def install(environ: Mapping[str, str] = os.environ) -> str:
    """Make ``asyncio.run`` use the chosen loop; returns the one that will run ("uvloop" or "asyncio").

    A value that is neither is left to the settings' validation (a clear start-up error).
    """
    if environ.get(VARIABLE, "uvloop").lower() != "uvloop":
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def running() -> str:
    """The loop running now, by name (for /status and logs)."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
