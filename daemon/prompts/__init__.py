"""Guidance prompts: the catalogue of texts, offline synthesis, and the WAV directory.

``PromptLibrary(settings.prompts_path).ensure()`` at start generates whatever is missing;
``library.path(name)`` is what the call flows hand to FreeSWITCH's ``playback``.
"""

from daemon.prompts.catalog import PROMPTS, minutes_prompt
from daemon.prompts.library import PromptLibrary, UnknownPromptError

__all__ = ["PROMPTS", "PromptLibrary", "UnknownPromptError", "minutes_prompt"]
