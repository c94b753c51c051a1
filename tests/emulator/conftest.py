"""The replayed captures, run once per session for every test module that compares with them."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.emulator.captures import SCENARIOS, Outcome, run


@pytest.fixture(scope="session")
async def outcomes() -> dict[str, Outcome]:
    started = time.monotonic()
    done = await asyncio.gather(*(run(s) for s in SCENARIOS))
    print(f"\nall {len(SCENARIOS)} scenarios in {time.monotonic() - started:.1f} s")
    return {s.name: o for s, o in zip(SCENARIOS, done, strict=True)}
