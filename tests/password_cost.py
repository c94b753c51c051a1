"""argon2id with a small work factor in the test process, unless a test is about the work factor itself.

The daemon hashes console passwords and duty PINs with argon2-cffi's defaults
(3 passes over 64 MiB, 4 lanes): ~0.3 s of CPU for every hash and every check,
measured on the 2-core CI machine.  The console fixture alone makes five users
per test, and every login checks one: minutes of the suite's CPU spent on a
cost no test measures.  Here the same algorithm (argon2id, the same library,
the same code paths in daemon/repositories) runs with 1 pass over 1 MiB: a
right password still verifies, a wrong one still fails, a hash is still an
``$argon2id$`` string.

Daemons started as child processes (tests.daemon_process) keep the real
parameters.  A test marked ``production_password_cost`` (one that compares
parameters, such as the dummy hash an unknown login is checked against) runs
with the daemon's own hasher and dummy hash, untouched.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from daemon.repositories import console_users, duty_pins

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# console_users makes its dummy hash with its own hasher at import: the same rule, with the cheap one.
CHEAP_DUMMY_HASH = CHEAP.hash("calld: no such user")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "production_password_cost: argon2 with the daemon's own parameters (see tests/password_cost.py)"
    )


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("production_password_cost") is None:
        monkeypatch.setattr(console_users, "_hasher", CHEAP)
        monkeypatch.setattr(console_users, "DUMMY_HASH", CHEAP_DUMMY_HASH)
        monkeypatch.setattr(duty_pins, "_hasher", CHEAP)
