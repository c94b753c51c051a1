"""The one target every prompt is made to (light: no numpy, the daemon imports it)."""

from __future__ import annotations

from typing import Final

TARGET_LUFS: Final = -19.0  # EBU R128 integrated loudness of every prompt, ±1 LU
TRUE_PEAK_CEILING_DBTP: Final = -3.0  # headroom for the G.711/G.722 encoders and trunk gain
LEAD_PAD_S: Final = 0.200  # digital silence before (media set-up never clips the first syllable)
TAIL_PAD_S: Final = 0.300  # and after (prompts played back to back get a natural gap)
RATES: Final = (8000, 16000)  # narrowband (G.711, the default) and wideband (G.722) variants

# Bump when the stage changes, so generated prompts are remade (and uploads can be re-processed).
VERSION: Final = f"2:lufs={TARGET_LUFS}:tp={TRUE_PEAK_CEILING_DBTP}:pad={LEAD_PAD_S},{TAIL_PAD_S}:rates=8000,16000"
