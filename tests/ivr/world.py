"""Test data for the IVR: a tenant with IVR numbers, guidance WAVs, published flows."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from daemon.app import Daemon
from daemon.repositories import ivr_flows, tenants
from daemon.rules.ivr.hours import TOKYO
from daemon.rules.ivr.models import Flow
from emulator import CallResult, FakeFreeSwitch, Keys
from tests.calls.test_admission_e2e import emulator_for, prompt_name

NUMBER = "0312345678"
TOLL_FREE = "0120123456"
TARO = "09012345678"


@dataclass
class Ivr:
    pool: asyncpg.Pool
    tenant_id: int
    folder: Path
    guidance: dict[str, int]
    daemon: Daemon | None = None
    fs: FakeFreeSwitch | None = None

    def g(self, name: str) -> int:
        return self.guidance[name]

    async def publish(self, flow: dict[str, Any]) -> int:
        saved = await ivr_flows.save(self.pool, self.tenant_id, Flow.model_validate(flow))
        await ivr_flows.publish(self.pool, self.tenant_id, saved.version)
        return saved.version

    async def start(self, start_daemon: Any, **settings: object) -> FakeFreeSwitch:
        self.daemon = await start_daemon(data_dir=self.folder / "data", **settings)
        self.fs = emulator_for(self.daemon)
        return self.fs


def write_wav(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * int(8000 * seconds))


async def add_guidance(pool: asyncpg.Pool, tenant_id: int, folder: Path, name: str, seconds: float = 0.1) -> int:
    path = folder / f"{name}.wav"
    write_wav(path, seconds)
    gid: int = await pool.fetchval(
        "INSERT INTO guidance (tenant_id, name, path) VALUES ($1, $2, $3) RETURNING id", tenant_id, name, str(path)
    )
    return gid


GUIDANCE = ("welcome", "menu", "invalid", "timeout", "closed", "sales", "support", "leave", "whisper", "sorry")


async def ivr_shop(
    pool: asyncpg.Pool,
    folder: Path,
    *,
    lines: int = 3,
    forwarding: bool = False,
    numbers: tuple[str, ...] = (NUMBER,),
    long: dict[str, float] | None = None,
) -> Ivr:
    tenant_id = await tenants.create_tenant(pool, f"ivr-{uuid.uuid4().hex[:6]}", lines)
    for number in numbers:
        await tenants.add_number(pool, tenant_id, number, "ivr")
    await pool.execute("UPDATE line_contracts SET forwarding = $2 WHERE tenant_id = $1", tenant_id, forwarding)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    ids = {n: await add_guidance(pool, tenant_id, folder, n, (long or {}).get(n, 0.1)) for n in GUIDANCE}
    return Ivr(pool, tenant_id, folder, ids)


def heard(result: CallResult) -> list[str]:
    """Guidance the caller heard, in order (playback and keypad prompts, lead-ins included), tones as 'beep'."""
    names = []
    for app, arg in result.apps:
        media = arg if app == "playback" else arg.split()[5] if app == "play_and_get_digits" and arg else ""
        names += ["beep" if name.startswith("tone_stream:") else name for name in split_media(media)]
    return names


def split_media(media: str) -> list[str]:
    """``/p/a.wav`` → ``[a]``; ``file_string:///p/a.wav!tone_stream://…`` → ``[a, tone_stream:…]``."""
    if not media:
        return []
    parts = media.removeprefix("file_string://").split("!")
    return [part if part.startswith("tone_stream:") else prompt_name(part) for part in parts]


def fast(digits: str) -> Keys:
    return Keys(digits, delay=0.05, interval=0.05)


def tokyo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TOKYO)
