"""Guidance prompt generation: telephony WAVs (8 and 16 kHz), loudness, idempotence, staleness."""

from __future__ import annotations

import math
import os
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from daemon.audio import pipeline, target
from daemon.prompts import PROMPTS, PromptLibrary, UnknownPromptError, minutes_prompt
from daemon.prompts.catalog import JOINED
from daemon.prompts.library import MANIFEST

REPO = Path(__file__).resolve().parents[2]
SHARED_PROMPTS = REPO / "var" / "test-prompts"  # the directory the daemon tests use too

SMALL = {name: PROMPTS[name] for name in ("invalid_pin", "minutes_5", "busy")}


@pytest.fixture(scope="module")
def small_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[PromptLibrary, list[str]]:
    library = PromptLibrary(tmp_path_factory.mktemp("prompts"), prompts=SMALL)
    return library, library.ensure()


def check_telephony_wav(path: Path, text: str, rate: int = 8000, *, joined: bool = False) -> None:
    """Format, loudness (pyloudnorm), true peak (scipy 4x), padding: measured independently of the stage.

    ``joined``: a number piece, no lead silence and a 30 ms breath after (catalog.JOINED).  Under
    a second, pyloudnorm's gated 400 ms blocks measure the pads more than the word: a piece's
    level is the stage's (tests/audio), its peak and padding are checked here.
    """
    lead_s, tail_s = (0.0, pipeline.JOINED_TAIL_PAD_S) if joined else (target.LEAD_PAD_S, target.TAIL_PAD_S)
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (rate, 1, 2), path
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    x = raw.astype(np.float64) / 32768.0
    speech = len(x) / rate - lead_s - tail_s
    # Measured 0.12-0.17 s of speech per character for these texts (mei_normal, speed 1.0).
    assert 0.07 * len(text) < speech < 0.3 * len(text), (path, len(x) / rate)
    if not joined:
        loudness = pyloudnorm.Meter(rate).integrated_loudness(x)
        assert abs(loudness - target.TARGET_LUFS) <= 1.0, (path, loudness)
    peak = 20 * math.log10(float(np.max(np.abs(signal.resample_poly(x, 4, 1)))))
    assert peak <= target.TRUE_PEAK_CEILING_DBTP + 0.05, (path, peak)  # headroom
    lead = round(lead_s * rate)
    tail = round(tail_s * rate)
    assert not raw[:lead].any() and not raw[-tail:].any(), "padding must be digital silence"
    assert np.abs(raw[lead : lead + rate // 2]).max() > 1000, "speech starts right after the lead-in"


def test_generated_files_are_telephony_wavs(small_library: tuple[PromptLibrary, list[str]]) -> None:
    library, made = small_library
    assert made == sorted(SMALL)
    for name, text in SMALL.items():
        path = Path(library.path(name))
        assert path.is_absolute() and path.name == f"{name}.wav"
        check_telephony_wav(path, text)
        # FreeSWITCH's mod_sndfile looks in <dir>/<channel rate>/ first: both variants are there
        assert (path.parent / "8000" / path.name).read_bytes() == path.read_bytes()
        check_telephony_wav(path.parent / "16000" / path.name, text, rate=16000)
    leftovers = [p.name for p in library.directory.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    assert "pyopenjtalk" not in sys.modules, "synthesis runs in a child process, never in the daemon"


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
    (tmp_path / ".tmp-batch-xyz" / "goodbye").mkdir(parents=True)
    library = PromptLibrary(tmp_path, prompts={"goodbye": PROMPTS["goodbye"]})
    library.ensure()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "16000", "8000", "goodbye.wav", MANIFEST]


def test_missing_variant_regenerates(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path, prompts={"goodbye": PROMPTS["goodbye"]})
    assert library.ensure() == ["goodbye"]
    (tmp_path / "16000" / "goodbye.wav").unlink()
    assert library.stale() == ["goodbye"]
    assert library.ensure() == ["goodbye"]


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
    custom.write_bytes(b"RIFF")
    library = PromptLibrary(tmp_path / "generated", overrides={"welcome": custom})
    assert library.path("welcome") == str(custom)
    assert library.path("busy") == str(tmp_path / "generated" / "busy.wav")
    library.set_override("welcome", None)
    assert library.path("welcome") == str(tmp_path / "generated" / "welcome.wav")
    with pytest.raises(FileNotFoundError):
        library.set_override("welcome", tmp_path / "missing.wav")
    with pytest.raises(UnknownPromptError):
        library.set_override("nope", custom)


def test_an_override_set_after_a_play_wins(tmp_path: Path) -> None:
    """The generated path is made once per name; an override set later still wins, and its removal falls back."""
    custom = tmp_path / "acme_welcome.wav"
    custom.write_bytes(b"RIFF")
    library = PromptLibrary(tmp_path / "generated")
    generated = str(tmp_path / "generated" / "welcome.wav")
    assert library.path("welcome") == generated
    library.set_override("welcome", custom)
    assert library.path("welcome") == str(custom)
    library.set_override("welcome", None)
    assert library.path("welcome") == generated


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


@pytest.mark.slow
def test_whole_catalogue() -> None:
    """Every prompt once (~8 s on one core), into the directory the daemon tests share.

    How long it takes is a benchmark's business (``make bench``), not an assertion here.
    """
    library = PromptLibrary(SHARED_PROMPTS)
    library.ensure()
    assert library.stale() == []
    for name, text in PROMPTS.items():
        check_telephony_wav(Path(library.path(name)), text, joined=name in JOINED)
