"""The plain verdict beside a guidance's loudness report: what the customer can do something about."""

from __future__ import annotations

from typing import Any

from daemon.audio.report import Report
from daemon.audio.verdict import verdict


def report(*, lufs: float | None = -24.0, clipped: int = 0, gain: float = 5.0, limited: bool = False) -> Report:
    levels: dict[str, Any] = {"loudness_lufs": lufs, "true_peak_dbtp": -6.0}
    return Report.model_validate(
        {
            "source": {"kind": "upload", "sample_rate": 16000, "channels": 1, "duration_s": 3.0},
            "before": {**levels, "sample_peak_dbfs": -6.0, "clipped_samples": clipped, "clipping": clipped > 0},
            "target_lufs": -19.0,
            "true_peak_ceiling_dbtp": -3.0,
            "gain_db": gain,
            "limited": limited,
            "trimmed_lead_s": 0.0,
            "trimmed_tail_s": 0.0,
            "lead_pad_s": 0.2,
            "tail_pad_s": 0.3,
            "steps": [],
            "outputs": [],
            "digest": "0" * 64,
        }
    )


def test_an_ordinary_recording_is_easy_to_hear() -> None:
    found = verdict(report())
    assert (found.level, found.words, found.advice) == ("good", "聞き取りやすい", "")


def test_clipping_is_told_first_even_when_the_recording_was_also_quiet() -> None:
    found = verdict(report(clipped=40, gain=25.0))
    assert (found.level, found.words) == ("bad", "割れています")
    assert "録音し直して" in found.advice


def test_a_recording_that_needed_more_than_18_db_is_too_quiet() -> None:
    assert verdict(report(lufs=-38.0, gain=19.0)).words == "小さすぎる"
    assert verdict(report(lufs=-36.0, gain=17.0)).words == "聞き取りやすい"


def test_a_loud_recording_held_by_the_limiter_is_too_loud_and_silence_is_said_so() -> None:
    assert verdict(report(lufs=-8.0, gain=-11.0, limited=True)).words == "大きすぎる"
    assert verdict(report(lufs=-8.0, gain=-11.0, limited=False)).words == "聞き取りやすい"
    assert verdict(report(lufs=None)).level == "bad"
