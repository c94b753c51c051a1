"""Content-addressed guidance files under the prompts directory, laid out the way FreeSWITCH looks.

::

    <prompts>/guidance/<digest>.wav           8 kHz: the path stored in ``guidance.path``
    <prompts>/guidance/8000/<digest>.wav      the same file (hard link)
    <prompts>/guidance/16000/<digest>.wav     16 kHz variant for wideband (G.722, Opus) calls
    <prompts>/guidance/originals/<sha256>.<ext>  the upload as received (for re-processing)

``playback /…/guidance/<digest>.wav`` is enough to get the right variant: mod_sndfile first
tries ``<dir>/<channel rate>/<file>`` (8000/ on a G.711 call, 16000/ on G.722), then the
highest of 48000/32000/16000 that exists (an Opus call at 48 kHz gets the 16 kHz file), and
only then the plain path (``sndfile_file_open`` in mod_sndfile.c).  ``<digest>`` is the
SHA-256 of the 8 kHz WAV, so the name changes whenever the sound does: a guidance replaced
while a call plays it leaves that call's file in place, and the next call plays the new one.

Files are written to a temporary name in the same directory and renamed (never half written),
mode 0644 (FreeSWITCH runs as another user).  Paths hold only ``[0-9a-f/]`` below the prompts
directory, which must itself be free of whitespace and control characters.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Final

SUBDIR: Final = "guidance"
ORIGINALS: Final = "originals"
RATES: Final = (8000, 16000)
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")
_EXT = re.compile(r"^[a-z0-9]{1,8}$")


class GuidanceStore:
    def __init__(self, prompts_dir: Path) -> None:
        self.root = Path(prompts_dir).absolute() / SUBDIR
        if _UNSAFE.search(str(self.root)):
            raise ValueError(f"the prompts directory must not contain whitespace or control characters: {self.root}")

    def path(self, digest: str, rate: int | None = None) -> Path:
        if not _DIGEST.match(digest):
            raise ValueError("not a sha256 digest")
        return self.root / f"{digest}.wav" if rate is None else self.root / str(rate) / f"{digest}.wav"

    def staging(self) -> Path:
        """A fresh private directory on the same filesystem (renames into place are atomic)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def commit(self, staging: Path, digest: str, original: Path | None = None, sha256: str = "", ext: str = "") -> Path:
        """Move ``staging/<rate>.wav`` (and the original upload) into place; return the 8 kHz path."""
        for rate in RATES:
            target = self.path(digest, rate)
            target.parent.mkdir(parents=True, exist_ok=True)
            _install(staging / f"{rate}.wav", target)
        plain = self.path(digest)
        if not plain.exists():
            tmp = plain.with_name(f".tmp-{digest}.wav")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.link(self.path(digest, 8000), tmp)
            os.replace(tmp, plain)
        if original is not None:
            self.keep_original(original, sha256, ext)
        self.discard(staging)
        _fsync_dir(self.root)
        return plain

    def original_path(self, sha256: str, ext: str) -> Path:
        if not _DIGEST.match(sha256) or not _EXT.match(ext):
            raise ValueError("bad original name")
        return self.root / ORIGINALS / f"{sha256}.{ext}"

    def keep_original(self, upload: Path, sha256: str, ext: str) -> Path:
        target = self.original_path(sha256, ext)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            _install(upload, target, mode=0o640)
        return target


def _install(source: Path, target: Path, mode: int = 0o644) -> None:
    if target.exists():  # same content, same name: already there
        return
    tmp = target.with_name(f".tmp-{target.name}")
    shutil.copyfile(source, tmp)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, target)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
