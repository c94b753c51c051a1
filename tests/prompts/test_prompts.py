"""Guidance prompt generation: telephony WAV format, loudness, idempotence, staleness."""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from daemon.prompts import PROMPTS, PromptLibrary, UnknownPromptError, minutes_prompt, synth
from daemon.prompts.library import MANIFEST

REPO = Path(__file__).resolve().parents[2]
SHARED_PROMPTS = REPO / "var" / "test-prompts"  # the directory the daemon tests use too

SMALL = {name: PROMPTS[name] for name in ("invalid_pin", "minutes_5", "busy")}


@pytest.fixture(scope="module")
def small_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[PromptLibrary, list[str]]:
    library = PromptLibrary(tmp_path_factory.mktemp("prompts"), prompts=SMALL)
    return library, library.ensure()


def check_telephony_wav(path: Path, text: str) -> None:
    info = synth.inspect_wav(path)
    assert (info.rate, info.channels, info.sample_width) == (8000, 1, 2), path
    speech = info.duration - synth.LEAD_SILENCE_S - synth.TAIL_SILENCE_S
    # Measured 0.12-0.17 s of speech per character for these texts (mei_normal, speed 1.0).
    assert 0.07 * len(text) < speech < 0.3 * len(text), (path, info.duration)
    assert -19.0 < info.rms_dbfs < -17.0, (path, info.rms_dbfs)  # loud enough, not hot
    assert info.peak_dbfs <= synth.PEAK_CEILING_DBFS + 0.01, (path, info.peak_dbfs)  # headroom
    raw = np.frombuffer(path.read_bytes()[44:], dtype="<i2")
    lead = round(synth.LEAD_SILENCE_S * 8000)
    tail = round(synth.TAIL_SILENCE_S * 8000)
    assert not raw[:lead].any() and not raw[-tail:].any(), "padding must be digital silence"
    assert np.abs(raw[lead : lead + 4000]).max() > 1000, "speech starts right after the lead-in"


def test_generated_files_are_telephony_wavs(small_library: tuple[PromptLibrary, list[str]]) -> None:
    library, made = small_library
    assert made == sorted(SMALL)
    for name, text in SMALL.items():
        path = Path(library.path(name))
        assert path.is_absolute() and path.name == f"{name}.wav"
        check_telephony_wav(path, text)
    leftovers = [p.name for p in library.directory.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_ensure_is_idempotent(small_library: tuple[PromptLibrary, list[str]]) -> None:
    library, _ = small_library
    before = {n: os.stat(library.path(n)).st_mtime_ns for n in SMALL}
    assert library.ensure() == []
    assert library.stale() == []
    # A second library (another process, a restart) agrees.
    assert PromptLibrary(library.directory, prompts=SMALL).ensure() == []
    assert {n: os.stat(library.path(n)).st_mtime_ns for n in SMALL} == before


def test_changed_text_or_missing_file_regenerates(tmp_path: Path) -> None:
    first = PromptLibrary(tmp_path, prompts={"invalid_pin": "暗証番号が違います。"})
    assert first.ensure() == ["invalid_pin"]
    old = Path(first.path("invalid_pin")).read_bytes()

    changed = PromptLibrary(tmp_path, prompts={"invalid_pin": "暗証番号が正しくありません。"})
    assert changed.stale() == ["invalid_pin"]
    assert changed.ensure() == ["invalid_pin"]
    assert Path(changed.path("invalid_pin")).read_bytes() != old
    assert changed.ensure() == []

    Path(changed.path("invalid_pin")).unlink()
    assert changed.ensure() == ["invalid_pin"]

    (tmp_path / MANIFEST).write_text("{not json", encoding="utf-8")  # corrupt manifest: redo
    assert changed.ensure() == ["invalid_pin"]


def test_concurrent_ensure_generates_once(tmp_path: Path) -> None:
    prompts = {"goodbye": PROMPTS["goodbye"]}
    results: list[list[str]] = []

    def run() -> None:
        results.append(PromptLibrary(tmp_path, prompts=prompts).ensure())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [[], ["goodbye"]]


def test_crash_leftovers_are_cleaned(tmp_path: Path) -> None:
    (tmp_path / ".tmp-goodbye-abc.wav").write_bytes(b"half a file")
    library = PromptLibrary(tmp_path, prompts={"goodbye": PROMPTS["goodbye"]})
    library.ensure()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "goodbye.wav", MANIFEST]


def test_unknown_prompt_is_a_clear_error(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path)
    with pytest.raises(UnknownPromptError, match="unknown prompt 'no_such_prompt'") as info:
        library.path("no_such_prompt")
    assert isinstance(info.value, KeyError)
    assert "'no_such_prompt'" in str(info.value) and not str(info.value).startswith('"')
    with pytest.raises(ValueError, match="invalid prompt name"):
        PromptLibrary(tmp_path, prompts={"../evil": "x"})


def test_override_hook(tmp_path: Path) -> None:
    custom = tmp_path / "acme_welcome.wav"
    synth.write_wav(custom, np.zeros(800))
    library = PromptLibrary(tmp_path / "generated", overrides={"welcome": custom})
    assert library.path("welcome") == str(custom)
    assert library.path("busy") == str(tmp_path / "generated" / "busy.wav")
    library.set_override("welcome", None)
    assert library.path("welcome") == str(tmp_path / "generated" / "welcome.wav")
    with pytest.raises(FileNotFoundError):
        library.set_override("welcome", tmp_path / "missing.wav")
    with pytest.raises(UnknownPromptError):
        library.set_override("nope", custom)


def test_catalogue() -> None:
    required = {
        "busy", "not_in_service", "unavailable", "welcome", "not_registered", "enter_pin",
        "invalid_pin", "insufficient_balance", "choose_group", "invalid_code", "goodbye",
        "all_counsellors_busy", "connecting", "balance_warning", "balance_exhausted",
    }  # fmt: skip
    assert required <= PROMPTS.keys()
    assert all(text.strip() and "\n" not in text for text in PROMPTS.values())
    for minutes in (-1.0, 0.0, 0.99, 1.0, 5.9, 59.99, 60.0, 600.0, math.nan):
        assert minutes_prompt(minutes) in PROMPTS
    assert minutes_prompt(0.5) == "minutes_0"
    assert minutes_prompt(5.9) == "minutes_5"  # rounded down: never promise more than is left
    assert minutes_prompt(59.99) == "minutes_59"
    assert minutes_prompt(60) == "minutes_60plus"


# --- signal processing, without the synthesiser -------------------------------------------------


def _level_db(x: np.ndarray) -> float:
    return 20 * math.log10(math.sqrt(2 * float(np.mean(x**2))) + 1e-30)


@pytest.mark.parametrize(("freq", "low", "high"), [(1000, -0.1, 0.1), (3300, -0.1, 0.1), (4200, -200, -70)])
def test_resampler_passband_and_alias_rejection(freq: float, low: float, high: float) -> None:
    x = np.sin(2 * np.pi * freq * np.arange(48000) / 48000)
    y = synth.resample(x, 48000, 8000)
    assert len(y) == 8000
    assert low <= _level_db(y[500:-500]) <= high


def test_resampler_keeps_timing() -> None:
    x = np.sin(2 * np.pi * 1000 * np.arange(22050) / 22050)
    y = synth.resample(x, 22050, 8000)
    ideal = np.sin(2 * np.pi * 1000 * np.arange(len(y)) / 8000)
    assert np.max(np.abs(y[300:-300] - ideal[300:-300])) < 1e-3


def test_limiter_bounds_peaks() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal(8000) * 0.5
    ceiling = 10 ** (-3 / 20)
    y = synth.limit_peaks(x, ceiling, 8000)
    assert np.max(np.abs(y)) <= ceiling + 1e-12
    quiet = np.abs(x) < 0.05
    assert np.mean(np.abs(y[quiet] - x[quiet])) < 0.02  # gain returns to 1 between peaks


@pytest.mark.slow
def test_whole_catalogue() -> None:
    """Every prompt once (~8 s on one core), into the directory the daemon tests share."""
    library = PromptLibrary(SHARED_PROMPTS)
    started = time.perf_counter()
    library.ensure()
    assert time.perf_counter() - started < 60
    assert library.stale() == []
    for name, text in PROMPTS.items():
        check_telephony_wav(Path(library.path(name)), text)
