"""``-n 2 --dist loadfile`` with one change: test files that share a costly session fixture go to one worker.

A session fixture runs once per xdist worker.  The emulator's capture replay
(``outcomes`` in tests/emulator/conftest.py, ~20 s of real call timing) is used by
six files; spread over both workers, it ran twice.  Scheduled as one unit, it runs
once, and each file still runs whole on one worker as ``loadfile`` promises.
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer  # type: ignore[import-untyped]
from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

# Files sharing one session fixture (the first name is the unit's name), as paths from the repository root.
SHARED_SETUP = (
    (
        "tests/emulator/test_transcripts.py",  # outcomes: the replayed captures
        "tests/emulator/test_captures_billing.py",
        "tests/emulator/test_captures_forward.py",
        "tests/emulator/test_captures_recording.py",
        "tests/emulator/test_captures_timing.py",
        "tests/emulator/test_captures_waiting.py",
    ),
)
_UNIT = {path: group[0] for group in SHARED_SETUP for path in group}


class SharedSetupFileScheduling(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no types
    """A file is a unit of work, except that the files of one ``SHARED_SETUP`` group are one unit."""

    def _split_scope(self, nodeid: str) -> str:
        path: str = super()._split_scope(nodeid)
        return _UNIT.get(path, path)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadFileScheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None  # any other distribution asked for on the command line is xdist's own
    return SharedSetupFileScheduling(config, log)
