"""The customer guidance API through the operator route, with a real embedded database."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import numpy as np
import pytest

from daemon.app import Daemon
from daemon.audio import ingest, target
from tests.audio.measure import contents, measure, world_readable
from tests.audio.media import FORMATS, Format, encode, speech_like, stereo
from tests.conftest import DaemonFactory
from tests.http.test_coaching_api import operator
from tests.http.test_status_admin import call, url

G = "/api/v1/operator/guidance"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("uploads")
    voice = stereo(speech_like(4.0, 44100, lead=0.5))
    return {
        "mp3": encode(d / "お知らせ 1.mp3", voice, 44100, FORMATS["mp3"]),
        "wav": encode(d / "welcome.wav", voice[0] * 0.1, 44100, FORMATS["wav24"]),
        "silent": encode(d / "silent.wav", np.zeros(44100 * 2), 44100, FORMATS["wav16"]),
        "mute_video": encode(d / "mute.mp4", voice, 44100, Format("mp4", "aac", ".mp4"), video=True, audio=False),
    }


@pytest.fixture
def limits_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    ingest.limits.cache_clear()
    yield monkeypatch
    ingest.limits.cache_clear()


async def upload(
    http: aiohttp.ClientSession,
    daemon: Daemon,
    headers: dict[str, str],
    file: Path | bytes | None,
    name: str | None = "welcome",
    method: str = "POST",
    path: str = G,
    field: str = "file",
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    if name is not None:
        form.add_field("name", name)
    if file is not None:
        data = contents(file) if isinstance(file, Path) else file
        form.add_field(field, data, filename=file.name if isinstance(file, Path) else "x.bin")
    async with http.request(method, url(daemon, path), data=form, headers=headers) as resp:
        return resp.status, await resp.json()


async def on_disk(pool: asyncpg.Pool, guidance_id: int) -> Path:
    """Where the daemon keeps a guidance's 8 kHz WAV (the answers name no server path)."""
    return Path(await pool.fetchval("SELECT path FROM guidance WHERE id = $1", guidance_id))


def stored(prompts: Path) -> list[str]:
    root = prompts / "guidance"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_upload_replace_and_delete(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, tmp_path: Path, files: dict[str, Path]
) -> None:
    daemon = await start_daemon(prompts_dir=tmp_path)
    _, acme = await operator(http, daemon, "acme")
    status, made = await upload(http, daemon, acme, files["mp3"])
    assert status == 201, made
    report = made["report"]
    assert made["kind"] == "upload" and made["original_name"] == "お知らせ 1.mp3"
    assert report["source"]["codec"].startswith("mp3") and report["source"]["channels"] == 2
    assert report["source"]["sample_rate"] == 44100 and abs(report["source"]["duration_s"] - 4.0) < 0.1
    assert report["before"]["loudness_lufs"] < report["before"]["true_peak_dbtp"] < 0
    assert 0.4 < report["trimmed_lead_s"] <= 0.5 and report["target_lufs"] == target.TARGET_LUFS
    path = await on_disk(pool, made["id"])
    digest = made["digest"]
    assert path == tmp_path / "guidance" / f"{digest}.wav"
    audio = f"{G}/{made['id']}/audio"
    assert (made["audio_url"], made["wideband_audio_url"]) == (f"{audio}?rate=8000", f"{audio}?rate=16000")
    assert str(tmp_path) not in str(made)  # no server path in the answer
    assert hashlib.sha256(contents(path)).hexdigest() == digest
    assert world_readable(path)  # FreeSWITCH (another user) reads it
    for rate in target.RATES:
        m = measure(path.parent / str(rate) / path.name)
        assert m.rate == rate and abs(m.loudness_lufs - target.TARGET_LUFS) <= 1.0
        assert m.true_peak_dbtp <= target.TRUE_PEAK_CEILING_DBTP + 0.05
        assert next(o["file"] for o in report["outputs"] if o["rate"] == rate) == f"{audio}?rate={rate}"
    original = tmp_path / "guidance" / "originals" / f"{hashlib.sha256(files['mp3'].read_bytes()).hexdigest()}.mp3"
    assert original.read_bytes() == files["mp3"].read_bytes()

    async with http.get(url(daemon, f"{G}/{made['id']}/audio?rate=16000"), headers=acme) as resp:
        assert resp.status == 200 and await resp.read() == (path.parent / "16000" / path.name).read_bytes()
    status, listed = await call(http, daemon, "GET", G, headers=acme)
    assert status == 200 and [g["id"] for g in listed["guidance"]] == [made["id"]]

    # replacing: new files, the row points at them at once (the next call plays them)
    status, replaced = await upload(http, daemon, acme, files["wav"], name=None, method="PUT", path=f"{G}/{made['id']}")
    assert status == 200, replaced
    assert replaced["name"] == "welcome" and replaced["digest"] != digest
    assert replaced["report"]["source"]["codec"] == "pcm_s24le"
    assert await on_disk(pool, made["id"]) == tmp_path / "guidance" / f"{replaced['digest']}.wav"
    assert world_readable(path), "a call still playing the old file keeps it"

    assert (await call(http, daemon, "DELETE", f"{G}/{made['id']}", headers=acme))[0] == 204
    assert (await call(http, daemon, "GET", f"{G}/{made['id']}", headers=acme))[0] == 404


async def test_a_guidance_a_flow_plays_cannot_be_deleted(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, tmp_path: Path, files: dict[str, Path]
) -> None:
    daemon = await start_daemon(prompts_dir=tmp_path)
    _, acme = await operator(http, daemon, "acme")
    _, made = await upload(http, daemon, acme, files["mp3"])
    # how the IVR records what a published flow plays
    await pool.execute(
        "CREATE TABLE flow_prompts_test (flow_id int, guidance_id bigint NOT NULL"
        " REFERENCES guidance(id) ON DELETE RESTRICT)"
    )
    await pool.execute("INSERT INTO flow_prompts_test VALUES (1, $1)", made["id"])
    status, body = await call(http, daemon, "DELETE", f"{G}/{made['id']}", headers=acme)
    assert status == 409 and "published call flow" in body["error"]
    assert await pool.fetchval("SELECT count(*) FROM guidance") == 1
    await pool.execute("DELETE FROM flow_prompts_test")
    assert (await call(http, daemon, "DELETE", f"{G}/{made['id']}", headers=acme))[0] == 204


async def test_bad_uploads_are_refused_and_store_nothing(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    tmp_path: Path,
    files: dict[str, Path],
    limits_env: pytest.MonkeyPatch,
) -> None:
    limits_env.setenv("CALLD_GUIDANCE_MAX_BYTES", str(250_000))
    daemon = await start_daemon(prompts_dir=tmp_path)
    _, acme = await operator(http, daemon, "acme")
    cases: list[tuple[Any, str | None, int, str]] = [
        (np.random.default_rng(0).bytes(20_000), "noise", 415, "not an audio"),
        (files["silent"], "silence", 422, "silent"),
        (files["mute_video"], "mute", 422, "no sound track"),
        (files["mute_video"], None, 400, "'name'"),
        (files["mute_video"], "bad\nname", 422, "control characters"),
        (np.random.default_rng(1).bytes(300_000), "big", 413, "larger than the limit"),
    ]
    for file, name, want, says in cases:
        status, body = await upload(http, daemon, acme, file, name=name)
        assert (status, says in body["error"]) == (want, True), (name, status, body)
    status, body = await upload(http, daemon, acme, files["silent"], name="misnamed", field="audio")
    assert status == 400 and "no file" in body["error"]
    status, body = await call(http, daemon, "POST", G, {"name": "json"}, headers=acme)
    assert status == 415 and "multipart" in body["error"]
    assert await pool.fetchval("SELECT count(*) FROM guidance") == 0
    assert stored(tmp_path) == []


async def test_decoding_has_a_time_limit(
    start_daemon: DaemonFactory,
    http: aiohttp.ClientSession,
    pool: asyncpg.Pool,
    tmp_path: Path,
    files: dict[str, Path],
    limits_env: pytest.MonkeyPatch,
) -> None:
    limits_env.setenv("CALLD_GUIDANCE_TIMEOUT_SECONDS", "0.05")
    daemon = await start_daemon(prompts_dir=tmp_path)
    _, acme = await operator(http, daemon, "acme")
    work = asyncio.ensure_future(upload(http, daemon, acme, files["mp3"]))
    status, _ = await call(http, daemon, "GET", "/status", headers={})  # the loop keeps serving meanwhile
    assert status == 200
    status, body = await work
    assert status == 422 and "longer than" in body["error"]
    assert await pool.fetchval("SELECT count(*) FROM guidance") == 0 and stored(tmp_path) == []


async def test_typed_text_becomes_a_guidance(
    start_daemon: DaemonFactory, http: aiohttp.ClientSession, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    daemon = await start_daemon(prompts_dir=tmp_path)
    _, acme = await operator(http, daemon, "acme")
    _, other = await operator(http, daemon, "other")
    body = {"name": "closed", "text": "本日の営業は終了いたしました。", "speed": 1.2, "pitch": 2}
    status, made = await call(http, daemon, "POST", f"{G}/speech", body, headers=acme)
    assert status == 201, made
    assert made["kind"] == "speech" and made["text"] == body["text"] and made["speed"] == 1.2 and made["pitch"] == 2
    m = measure(await on_disk(pool, made["id"]))
    assert m.rate == 8000 and abs(m.loudness_lufs - target.TARGET_LUFS) <= 1.0
    slow = {**body, "name": "closed_slow", "speed": 0.8}
    status, slower = await call(http, daemon, "POST", f"{G}/speech", slow, headers=acme)
    assert status == 201 and measure(await on_disk(pool, slower["id"])).duration > m.duration * 1.2  # speed is honoured

    assert (await call(http, daemon, "POST", f"{G}/speech", body, headers=acme))[0] == 409  # name taken
    status, err = await call(http, daemon, "POST", f"{G}/speech", {"name": "dots", "text": "。。。"}, headers=acme)
    assert status == 422 and "cannot be read aloud" in err["error"]
    status, err = await call(http, daemon, "POST", f"{G}/speech", {**body, "name": "x", "speed": 5}, headers=acme)
    assert status == 422 and "speed" in err["error"]
    assert (await call(http, daemon, "GET", f"{G}/{made['id']}", headers=other))[0] == 404  # another tenant's
    assert (await call(http, daemon, "GET", G, headers={}))[0] == 401

    status, spoken = await call(
        http, daemon, "PUT", f"{G}/{made['id']}/speech", {"text": "ただいま準備中です。"}, headers=acme
    )
    assert status == 200 and spoken["name"] == "closed" and spoken["digest"] != made["digest"]
