"""The daemon runs on uvloop, or on the standard loop when told to (or when uvloop is missing)."""

from __future__ import annotations

import subprocess
import sys

from tests.daemon_process import REPO, clean_environment

PROBE = (
    "import asyncio\n"
    "from daemon import event_loop\n"
    "async def main() -> str:\n"
    "    return event_loop.running()\n"
    "print(event_loop.run(main()), type(asyncio.get_event_loop_policy()).__module__)\n"
)
NO_UVLOOP = "import sys; sys.modules['uvloop'] = None\n"  # an import of it now fails, as where no wheel exists


def probe(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**clean_environment(), "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_uvloop_by_default() -> None:
    assert probe(PROBE) == "uvloop asyncio.unix_events"  # and the process's own policy left alone


def test_the_standard_loop_on_request() -> None:
    assert probe(PROBE, CALLD_EVENT_LOOP="asyncio") == "asyncio asyncio.unix_events"


def test_the_standard_loop_when_uvloop_is_missing() -> None:
    assert probe(NO_UVLOOP + PROBE) == "asyncio asyncio.unix_events"


def test_the_choice_is_a_setting() -> None:
    """``CALLD_EVENT_LOOP`` is validated like every setting (no "unknown variable" warning either)."""
    from daemon.config import Settings, unknown_variables

    assert unknown_variables({"CALLD_EVENT_LOOP": "asyncio"}) == []
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "run"],
        cwd=REPO,
        env={**clean_environment(), "PYTHONPATH": str(REPO), "CALLD_EVENT_LOOP": "trio"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "CALLD_EVENT_LOOP" in done.stderr + done.stdout
    assert Settings(event_loop="asyncio").event_loop == "asyncio"
