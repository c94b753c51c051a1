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
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

CHOICES = ("uvloop", "asyncio")
VARIABLE = "CALLD_EVENT_LOOP"


def loop_factory(environ: Mapping[str, str] = os.environ) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop maker, or None for the standard loop (asked for, or uvloop missing).

    A value that is neither is left to the settings' validation (a clear start-up error).
    """
    if environ.get(VARIABLE, "uvloop").lower() != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], environ: Mapping[str, str] = os.environ) -> T:
    """``asyncio.run(main)`` on the chosen loop.

    The choice is this run's alone: no process-wide event-loop policy is set, so
    an admin command run inside another program (the tests call the CLI in
    process) leaves that program's own loops as they were.
    """
    with asyncio.Runner(loop_factory=loop_factory(environ)) as runner:
        return runner.run(main)


def running() -> str:
    """The loop running now, by name (for /status and logs)."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
