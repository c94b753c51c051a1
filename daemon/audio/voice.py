"""The synthetic voice's settings (light: the daemon imports this, never pyopenjtalk itself)."""

from __future__ import annotations

from typing import Final

from daemon.audio import target

VOICE: Final = "mei_normal"  # pyopenjtalk-plus's bundled HTS voice
SPEED: Final = 1.0  # catalogue prompts; typed guidance may choose within SPEED_RANGE
SPEED_RANGE: Final = (0.5, 2.0)
PITCH_RANGE: Final = (-12.0, 12.0)  # semitones (pyopenjtalk's half_tone)

# Bump when the voice or the stage changes so that PromptLibrary regenerates every prompt.
SYNTH_VERSION: Final = f"3:{VOICE}:speed={SPEED}:{target.VERSION}"
