"""A voicemail as the IVR's voicemail node leaves it: a real WAV on disk and its row."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from daemon.repositories import voicemail
from tests.audio.media import FORMATS, encode, speech_like


async def left(pool: asyncpg.Pool, tenant_id: int, folder: Path, *, duration_ms: int = 12_400) -> tuple[int, Path]:
    """A one-second message from 09011112222 to 0312345678 (the row's id, the recording)."""
    recording = encode(folder / f"vm-{uuid.uuid4().hex[:8]}.wav", speech_like(1.0, 8000), 8000, FORMATS["wav16"])
    vm = await voicemail.add(
        pool,
        tenant_id=tenant_id,
        call_uuid=uuid.uuid4(),
        flow_node="vm",
        caller_number="09011112222",
        dialled="0312345678",
        path=str(recording),
        duration_ms=duration_ms,
    )
    return vm, recording
