"""Decoding and synthesis happen in a child process: the daemon stays small and cannot be stalled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from daemon.audio import isolate
from daemon.audio.errors import AudioRejected
from tests.audio.media import FORMATS, encode, speech_like

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "scipy", "av", "pyloudnorm", "pyopenjtalk")


def test_the_daemon_never_imports_the_audio_libraries() -> None:
    code = (
        "import sys, daemon.app, daemon.web, daemon.http.guidance_api;"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_child_answers_reports_and_refusals(tmp_path: Path) -> None:
    path = encode(tmp_path / "v.flac", speech_like(2.0, 16000), 16000, FORMATS["flac"])
    report = isolate.run_sync(
        "upload",
        {"path": str(path), "staging": str(tmp_path / "out"), "max_seconds": 60},
        timeout=120,
        memory_bytes=2 * 1024**3,
    )
    assert report["source"]["codec"] == "flac" and (tmp_path / "out" / "16000.wav").is_file()
    junk = tmp_path / "junk.wav"
    junk.write_bytes(np.random.default_rng(2).bytes(4096))
    with pytest.raises(AudioRejected) as info:
        isolate.run_sync(
            "upload",
            {"path": str(junk), "staging": str(tmp_path / "j"), "max_seconds": 60},
            timeout=120,
            memory_bytes=0,
        )
    assert info.value.reason == "not_audio"


def test_a_child_past_its_time_limit_is_killed(tmp_path: Path) -> None:
    path = encode(tmp_path / "v.wav", speech_like(2.0, 16000), 16000, FORMATS["wav16"])
    with pytest.raises(AudioRejected) as info:
        isolate.run_sync(
            "upload",
            {"path": str(path), "staging": str(tmp_path / "out"), "max_seconds": 60},
            timeout=0.01,
            memory_bytes=0,
        )
    assert info.value.reason == "timeout" and info.value.status == 422
    assert not (tmp_path / "out").exists()
