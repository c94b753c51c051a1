"""What an upload may be: size, duration, decode time (settings ``CALLD_GUIDANCE_*``).

Kept apart from :class:`daemon.config.Settings` so the guidance feature owns its knobs;
the names follow the same ``CALLD_`` convention.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GuidanceLimits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLD_GUIDANCE_", extra="ignore", frozen=True)

    max_bytes: int = Field(50 * 1024 * 1024, ge=1024, description="largest upload accepted (bytes)")
    max_seconds: float = Field(600.0, gt=0, description="longest recording accepted (seconds)")
    max_text_chars: int = Field(1000, ge=1, description="longest typed text for speech synthesis")
    timeout_seconds: float = Field(60.0, gt=0, description="decode/synthesis time limit; the child is killed")
    memory_bytes: int = Field(2 * 1024**3, ge=256 * 1024**2, description="address-space limit of the child")
