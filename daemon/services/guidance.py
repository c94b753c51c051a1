"""Guidance operations: make one from a recording or typed text, give it new sound, delete it.

The order is the same for every front door: the name is checked (and refused
while taken) before the expensive work; the sound is made and filed by
:mod:`daemon.audio.ingest` (refusals are its ``AudioRejected``); then the row
and its audit row are written in one transaction.  Files are
content-addressed, so a sound filed for a change that is then refused harms
nothing (a call playing the old one keeps its file).
"""

from __future__ import annotations

import dataclasses

import asyncpg
from pydantic import TypeAdapter, ValidationError

from daemon.audio import ingest
from daemon.audio.store import GuidanceStore
from daemon.audio.target import VERSION
from daemon.config import Settings
from daemon.postgres import errors as db_errors
from daemon.repositories import guidance as db
from daemon.repositories import guidance_senders
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.errors import Conflict, Invalid, coded
from daemon.services.guidance_models import GuidanceName, SpeechIn
from daemon.services.notifications import addresses as checked_addresses

NAME_TAKEN = "guidance_name_taken"
IN_USE = "guidance_in_use"
SENDER_TAKEN = "guidance_sender_taken"
MAX_SENDERS = 10
_NAME = TypeAdapter(GuidanceName)


def store(settings: Settings) -> GuidanceStore:
    return GuidanceStore(settings.prompts_path)


def checked_name(value: str) -> str:
    """A name as sent (a form field): the API's rules, refused as :class:`Invalid` at ``name``."""
    try:
        name: str = _NAME.validate_python(value)
    except ValidationError as exc:
        problems = Invalid.of(exc).problems
        raise Invalid([dataclasses.replace(p, loc=("name", *p.loc)) for p in problems]) from None
    return name


def _taken(name: str) -> Conflict:
    return Conflict(f"a guidance named {name!r} exists already; replace it with PUT", code=NAME_TAKEN)


async def _check_free(pool: asyncpg.Pool, tenant_id: int, name: str | None, but: int | None = None) -> None:
    """Refuse a taken name before the expensive work (the UNIQUE constraint still decides)."""
    if name is not None and await db.name_taken(pool, tenant_id, name, but):
        raise _taken(name)


def _made(filed: ingest.Filed, upload: ingest.Upload | None, speech: SpeechIn | None = None) -> db.Made:
    return db.Made(
        kind="upload" if upload else "speech",
        path=str(filed.path),
        wideband_path=str(filed.wideband_path),
        digest=filed.report.digest,
        stage_version=VERSION,
        report=filed.report.model_dump(mode="json"),
        original_path=str(filed.original) if filed.original else None,
        original_sha256=upload.sha256 if upload else None,
        original_name=upload.filename if upload else None,
        speech_text=speech.text if speech else None,
        speech_speed=speech.speed if speech else None,
        speech_pitch=speech.pitch if speech else None,
    )


def _audited(row: db.Guidance) -> dict[str, object]:
    """What the audit log keeps of a guidance: enough to tell which sound it was."""
    return {"name": row.name, "kind": row.kind, "original_name": row.original_name, "digest": row.digest}


async def _create(pool: asyncpg.Pool, actor: Actor, tenant_id: int, name: str, made: db.Made) -> db.Guidance:
    try:
        async with change(pool, actor) as c:
            row = await db.create(c.pool, tenant_id, name, made)
            await c.record("ivr.guidance.create", tenant_id=tenant_id, target=f"guidance {row.id}", after=_audited(row))
    except db_errors.Conflict:  # named meanwhile by someone else
        raise _taken(name) from None
    return row


async def _replace(
    pool: asyncpg.Pool, actor: Actor, tenant_id: int, guidance_id: int, made: db.Made, name: str | None
) -> db.Guidance:
    try:
        async with change(pool, actor) as c:
            old = await db.get(c.pool, tenant_id, guidance_id)
            row = await db.replace(c.pool, tenant_id, guidance_id, made, name)
            await c.record(
                "ivr.guidance.replace",
                tenant_id=tenant_id,
                target=f"guidance {row.id}",
                before=_audited(old),
                after=_audited(row),
            )
    except db_errors.Conflict:  # named meanwhile by someone else
        if name is None:
            raise
        raise _taken(name) from None
    return row


async def listing(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> list[db.Guidance]:
    return await db.all_of(pool, actor.scope(tenant_id))


async def get(pool: asyncpg.Pool, actor: Actor, tenant_id: int, guidance_id: int) -> db.Guidance:
    return await db.get(pool, actor.scope(tenant_id), guidance_id)


async def original(pool: asyncpg.Pool, actor: Actor, tenant_id: int, guidance_id: int) -> db.Original:
    """The file as it was uploaded (speech guidance has none: not found)."""
    return await db.original(pool, actor.scope(tenant_id), guidance_id)


async def upload(
    pool: asyncpg.Pool, actor: Actor, files: GuidanceStore, tenant_id: int, name: str, recording: ingest.Upload
) -> db.Guidance:
    """A new guidance from an uploaded recording (converted and loudness-tuned)."""
    tenant_id = actor.scope(tenant_id)
    name = checked_name(name)
    await _check_free(pool, tenant_id, name)
    filed = await ingest.recording(files, recording)
    return await _create(pool, actor, tenant_id, name, _made(filed, recording))


async def speak(pool: asyncpg.Pool, actor: Actor, files: GuidanceStore, tenant_id: int, text: SpeechIn) -> db.Guidance:
    """A new guidance read aloud from typed Japanese text."""
    tenant_id = actor.scope(tenant_id)
    if text.name is None:
        raise Invalid.field("name", "a new guidance needs a name")
    await _check_free(pool, tenant_id, text.name)
    filed = await ingest.speech(files, text.text, speed=text.speed, pitch=text.pitch)
    return await _create(pool, actor, tenant_id, text.name, _made(filed, None, text))


async def replace(
    pool: asyncpg.Pool,
    actor: Actor,
    files: GuidanceStore,
    tenant_id: int,
    guidance_id: int,
    recording: ingest.Upload,
    name: str | None = None,
) -> db.Guidance:
    """New sound (and optionally a new name) for a guidance: the next call plays it."""
    tenant_id = actor.scope(tenant_id)
    name = None if name is None else checked_name(name)
    await get(pool, actor, tenant_id, guidance_id)
    await _check_free(pool, tenant_id, name, but=guidance_id)
    filed = await ingest.recording(files, recording)
    return await _replace(pool, actor, tenant_id, guidance_id, _made(filed, recording), name)


async def respeak(
    pool: asyncpg.Pool, actor: Actor, files: GuidanceStore, tenant_id: int, guidance_id: int, text: SpeechIn
) -> db.Guidance:
    """A guidance read aloud from new text (and optionally renamed): the next call plays it."""
    tenant_id = actor.scope(tenant_id)
    await get(pool, actor, tenant_id, guidance_id)
    await _check_free(pool, tenant_id, text.name, but=guidance_id)
    filed = await ingest.speech(files, text.text, speed=text.speed, pitch=text.pitch)
    return await _replace(pool, actor, tenant_id, guidance_id, _made(filed, None, text), text.name)


async def hear(files: GuidanceStore, actor: Actor, tenant_id: int, text: SpeechIn) -> bytes:
    """Typed text as a call would play it (16 kHz WAV), before anything is saved: a preview stores nothing."""
    actor.scope(tenant_id)
    return await ingest.heard(files, text.text, speed=text.speed, pitch=text.pitch)


async def used_by(pool: asyncpg.Pool, actor: Actor, tenant_id: int, guidance_id: int) -> list[int]:
    """The published flow versions that play a guidance (it cannot be deleted while there are any)."""
    return await db.used_by(pool, actor.scope(tenant_id), guidance_id)


async def delete(pool: asyncpg.Pool, actor: Actor, tenant_id: int, guidance_id: int) -> None:
    """Remove a guidance (refused while a published flow plays it); its files stay for calls playing them."""
    tenant_id = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        old = await db.get(c.pool, tenant_id, guidance_id)
        try:
            await db.delete(c.pool, tenant_id, guidance_id)
        except db.InUse as exc:
            raise Conflict(str(exc), code=IN_USE) from None
        await c.record(
            "ivr.guidance.delete", tenant_id=tenant_id, target=f"guidance {guidance_id}", before=_audited(old)
        )


async def senders(pool: asyncpg.Pool, actor: Actor, tenant_id: int) -> list[str]:
    """The addresses whose mail becomes this tenant's guidance."""
    return await guidance_senders.of_tenant(pool, actor.scope(tenant_id))


async def set_senders(pool: asyncpg.Pool, actor: Actor, tenant_id: int, addresses: list[str]) -> list[str]:
    """Replace the tenant's sender addresses (an address serves one tenant only)."""
    tenant_id = actor.scope(tenant_id)
    kept = checked_addresses(addresses, "addresses", MAX_SENDERS)
    async with change(pool, actor) as c:
        old = await guidance_senders.of_tenant(c.pool, tenant_id)
        with coded(SENDER_TAKEN):
            await guidance_senders.replace(c.pool, tenant_id, kept)
        await c.record(
            "ivr.guidance_senders.save",
            tenant_id=tenant_id,
            target="guidance mail",
            before={"addresses": old},
            after={"addresses": kept},
        )
    return kept


async def sender_tenant(pool: asyncpg.Pool, address: str) -> tuple[int, str] | None:
    """The tenant (id, name) whose guidance mail from ``address`` becomes, if it is registered."""
    return await guidance_senders.tenant_of(pool, address)


async def from_mail(
    pool: asyncpg.Pool, actor: Actor, files: GuidanceStore, tenant_id: int, name: str, recording: ingest.Upload
) -> tuple[db.Guidance, bool]:
    """A mailed recording: a new guidance, or new sound for the one of that name (True: replaced)."""
    tenant_id = actor.scope(tenant_id)
    name = checked_name(name)
    existing = next((g for g in await db.all_of(pool, tenant_id) if g.name == name), None)
    if existing is None:
        return await upload(pool, actor, files, tenant_id, name, recording), False
    return await replace(pool, actor, files, tenant_id, existing.id, recording), True
