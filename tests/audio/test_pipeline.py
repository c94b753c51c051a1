"""The guidance stage on real files of every format PyAV makes, checked by independent measures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daemon.audio import target
from daemon.audio.errors import AudioRejected
from daemon.audio.pipeline import process_file
from daemon.audio.report import Report
from tests.audio.measure import measure
from tests.audio.media import FORMATS, Format, encode, speech_like, stereo

LEAD = 0.7  # seconds of silence before the first syllable in every generated file
SECONDS = 6.0

CASES = {
    "mp3_44k_stereo": ("mp3", 44100, 2),
    "m4a_aac_44k_stereo": ("m4a", 44100, 2),
    "wav_8bit_44k_stereo": ("wav8", 44100, 2),
    "wav_16bit_48k_stereo": ("wav16", 48000, 2),
    "wav_16bit_8k_mono": ("wav16", 8000, 1),
    "wav_24bit_44k_stereo": ("wav24", 44100, 2),
    "wav_24bit_48k_stereo": ("wav24", 48000, 2),
    "wav_float_96k_stereo": ("wav_float", 96000, 2),
    "flac_48k_stereo": ("flac", 48000, 2),
    "ogg_opus_48k_stereo": ("ogg_opus", 48000, 2),
    "webm_opus_48k_stereo": ("webm_opus", 48000, 2),
    "amr_nb_8k_mono": ("amr", 8000, 1),
}


#: Files made once, with an encoder the PyAV wheels no longer carry: PyAV 18.1.1 decodes AMR-NB
#: (FFmpeg's own ``amrnb``, what the daemon reads) but dropped ``libopencore_amrnb``, which made it.
#: ``speech_like_8k.amr`` is ``encode(path, _signal(8000, 1), 8000, FORMATS["amr"])`` under PyAV 18.1.0.
RECORDED = {"amr_nb_8k_mono": Path(__file__).parents[1] / "fixtures" / "audio" / "speech_like_8k.amr"}


def _signal(rate: int, channels: int, level: float = 0.3) -> np.ndarray:
    mono = speech_like(SECONDS, rate, level=level, lead=LEAD)
    return stereo(mono) if channels == 2 else mono


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def check_outputs(report: Report, staging: Path) -> None:
    """What FreeSWITCH will play, measured without the stage's own code."""
    for rate in target.RATES:
        m = measure(staging / f"{rate}.wav")
        assert (m.rate, m.channels, m.width) == (rate, 1, 2)
        assert abs(m.loudness_lufs - target.TARGET_LUFS) <= 1.0, (rate, m.loudness_lufs)
        assert m.true_peak_dbtp <= target.TRUE_PEAK_CEILING_DBTP + 0.05, (rate, m.true_peak_dbtp)
        lead, tail = round(target.LEAD_PAD_S * rate), round(target.TAIL_PAD_S * rate)
        assert not m.samples[:lead].any() and not m.samples[-tail:].any(), "fixed pads of digital silence"
        # the leading silence was cut down to the pad: sound starts within 50 ms of it
        assert np.abs(m.samples[lead : lead + round(0.05 * rate)]).max() > 0.01
        content = SECONDS - LEAD
        assert content - 0.3 < m.duration - target.LEAD_PAD_S - target.TAIL_PAD_S < content + 0.1, m.duration
        out = next(o for o in report.outputs if o.rate == rate)
        assert out.loudness_lufs is not None and abs(out.loudness_lufs - m.loudness_lufs) < 0.05
        assert abs(out.duration_s - m.duration) < 0.002
    assert LEAD - 0.1 < report.trimmed_lead_s <= LEAD


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_format_becomes_telephony_audio(case: str, media: Path) -> None:
    kind, rate, channels = CASES[case]
    fmt = FORMATS[kind]
    path = RECORDED.get(case) or encode(media / f"{case}{fmt.suffix}", _signal(rate, channels), rate, fmt)
    staging = media / f"out-{case}"
    report = process_file(path, staging, max_seconds=600)
    check_outputs(report, staging)
    assert report.source.channels == channels
    assert report.source.sample_rate == (fmt.rate or rate)
    assert abs(report.source.duration_s - SECONDS) < 0.1
    assert report.source.bytes == path.stat().st_size
    assert report.before.loudness_lufs is not None and report.before.clipping is False


def test_video_file_gives_its_sound_track(media: Path) -> None:
    path = encode(media / "clip.mp4", _signal(44100, 2), 44100, Format("mp4", "aac", ".mp4"), video=True)
    report = process_file(path, media / "out-clip", max_seconds=600)
    assert report.source.had_video and report.source.codec == "aac" and "mp4" in str(report.source.container)
    check_outputs(report, media / "out-clip")


def test_quiet_and_loud_inputs_end_equally_loud(media: Path) -> None:
    levels = []
    for name, level in (("quiet", 0.01), ("hot", 0.9)):
        path = encode(media / f"{name}.wav", _signal(48000, 1, level), 48000, FORMATS["wav16"])
        report = process_file(path, media / f"out-{name}", max_seconds=600)
        levels.append(measure(media / f"out-{name}" / "8000.wav").loudness_lufs)
        assert report.before.loudness_lufs is not None
    assert abs(levels[0] - levels[1]) < 0.5
    assert abs(levels[0] - target.TARGET_LUFS) <= 1.0


def test_clipping_is_reported(media: Path) -> None:
    x = np.clip(_signal(44100, 1, level=2.0), -1.0, 1.0)
    path = encode(media / "clipped.wav", x, 44100, FORMATS["wav16"])
    report = process_file(path, media / "out-clipped", max_seconds=600)
    assert report.before.clipping and report.before.clipped_samples > 100
    assert report.before.sample_peak_dbfs is not None and report.before.sample_peak_dbfs > -0.01
    check_outputs(report, media / "out-clipped")


def test_room_noise_is_trimmed_like_silence(media: Path) -> None:
    rng = np.random.default_rng(5)
    x = _signal(16000, 1) + rng.standard_normal(round(SECONDS * 16000)) * 10 ** (-55 / 20)
    path = encode(media / "noisy.flac", x, 16000, FORMATS["flac"])
    report = process_file(path, media / "out-noisy", max_seconds=600)
    assert LEAD - 0.1 < report.trimmed_lead_s <= LEAD


# --- refused: a clear reason, nothing written -----------------------------------------------


def _refused(path: Path, reason: str, media: Path, **kw: float) -> AudioRejected:
    staging = media / f"refused-{path.name}"
    with pytest.raises(AudioRejected) as info:
        process_file(path, staging, max_seconds=kw.get("max_seconds", 600))
    assert info.value.reason == reason, info.value
    assert 400 <= info.value.status < 500
    assert not staging.exists() or not any(staging.iterdir())
    return info.value


def test_random_bytes_are_not_audio(media: Path) -> None:
    path = media / "random.mp3"
    path.write_bytes(np.random.default_rng(0).bytes(50_000))
    assert _refused(path, "not_audio", media).status == 415


def test_text_file_is_not_audio(media: Path) -> None:
    path = media / "notes.wav"
    path.write_text("これは音声ではありません\n" * 100, encoding="utf-8")
    _refused(path, "not_audio", media)


@pytest.mark.parametrize(("kind", "says"), [("mp3", "ends early"), ("wav16", "ends early"), ("flac", "damaged")])
def test_truncated_files_are_refused(kind: str, says: str, media: Path) -> None:
    fmt = FORMATS[kind]
    whole = encode(media / f"whole-{kind}{fmt.suffix}", _signal(44100, 2), 44100, fmt).read_bytes()
    cut = media / f"cut-{kind}{fmt.suffix}"
    cut.write_bytes(whole[: len(whole) // 2])
    assert says in str(_refused(cut, "corrupt", media))


def test_truncated_m4a_without_its_index_is_refused(media: Path) -> None:
    whole = encode(media / "whole.m4a", _signal(44100, 2), 44100, FORMATS["m4a"]).read_bytes()
    cut = media / "cut.m4a"
    cut.write_bytes(whole[: len(whole) // 2])
    _refused(cut, "not_audio", media)


def test_video_without_sound_is_refused(media: Path) -> None:
    path = encode(media / "mute.mp4", _signal(44100, 2), 44100, Format("mp4", "aac", ".mp4"), video=True, audio=False)
    assert "no sound track" in str(_refused(path, "no_audio_stream", media))


def test_silent_and_near_silent_recordings_are_refused(media: Path) -> None:
    silent = encode(media / "silent.wav", np.zeros(48000 * 3), 48000, FORMATS["wav16"])
    _refused(silent, "silent", media)
    hiss = np.random.default_rng(1).standard_normal(48000 * 3) * 10 ** (-75 / 20)
    _refused(encode(media / "hiss.wav", hiss, 48000, FORMATS["wav24"]), "silent", media)


def test_a_click_is_too_short(media: Path) -> None:
    x = np.zeros(48000 * 2)
    x[48000 : 48000 + 240] = 0.5
    _refused(encode(media / "click.wav", x, 48000, FORMATS["wav16"]), "too_short", media)


def test_longer_than_the_limit_is_refused(media: Path) -> None:
    path = encode(media / "long.mp3", _signal(44100, 2), 44100, FORMATS["mp3"])
    assert _refused(path, "too_long", media, max_seconds=3).status == 413
    raw = encode(media / "long.ogg", _signal(48000, 1), 48000, FORMATS["ogg_opus"])  # no duration in the header
    _refused(raw, "too_long", media, max_seconds=3)
