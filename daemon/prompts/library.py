"""The prompt directory: where each guidance WAV lives, and generating the missing ones.

Layout of ``directory``::

    busy.wav, welcome.wav, ...   generated prompts (8 kHz 16-bit mono PCM WAV)
    8000/busy.wav, ...           the same files (hard links)
    16000/busy.wav, ...          16 kHz variants, which FreeSWITCH's mod_sndfile picks by itself
                                 on wideband calls (it tries <dir>/<channel rate>/<file> first)
    guidance/                    customers' guidance (daemon.audio.store)
    manifest.json                {"synth": SYNTH_VERSION, "prompts": {name: sha256 of text}}
    .lock                        flock(2) taken by ensure(); never deleted

``ensure()`` regenerates a prompt when its files are missing or its text (or the synthesis
chain, ``SYNTH_VERSION``) changed since it was made.  Synthesis runs in the audio child
process (one for the whole batch, :mod:`daemon.audio.isolate`), through the same stage as
customer uploads (−19 LUFS, −3 dBTP); pyopenjtalk never loads into the daemon.  Each WAV is
written to a temporary name in the same directory and renamed over the old one, so
FreeSWITCH never plays a half written file. Two processes (two daemons on one host, a test run next to ``make run``)
serialise on an exclusive ``flock`` of ``.lock``; the second one finds everything fresh.

Customer recordings: pass ``overrides={"welcome": Path("/srv/acme/welcome.wav")}`` (or
call :meth:`PromptLibrary.set_override`); ``path()`` then returns the customer file and
``ensure()`` still keeps the generated one as a fallback. Overrides are not converted:
FreeSWITCH plays any WAV it can read (it resamples other rates itself), but 8 kHz 16-bit
mono avoids that work on every call.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from daemon.audio import isolate
from daemon.audio.limits import GuidanceLimits
from daemon.audio.target import RATES
from daemon.audio.voice import SYNTH_VERSION
from daemon.prompts.catalog import JOINED, PROMPTS

MANIFEST = "manifest.json"
LOCK = ".lock"
_TMP_PREFIX = ".tmp-"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class UnknownPromptError(KeyError):
    """A prompt name that is neither in the catalogue nor overridden."""

    def __str__(self) -> str:  # KeyError would repr() the message, quotes and all
        return str(self.args[0]) if self.args else "unknown prompt"


def text_hash(text: str, *, joined: bool = False) -> str:
    """What the manifest remembers of a prompt: its text, and whether it is a joined piece (rendered otherwise)."""
    return hashlib.sha256((text + ("\0joined" if joined else "")).encode("utf-8")).hexdigest()


class PromptLibrary:
    def __init__(
        self,
        directory: Path,
        *,
        prompts: Mapping[str, str] | None = None,
        overrides: Mapping[str, Path] | None = None,
    ) -> None:
        self.directory = Path(directory).absolute()
        self.prompts: dict[str, str] = dict(PROMPTS if prompts is None else prompts)
        for name in self.prompts:
            if not _NAME.match(name):
                raise ValueError(f"invalid prompt name {name!r}: use [a-z][a-z0-9_]*")
        self.overrides: dict[str, Path] = {}
        self._paths: dict[str, str] = {}  # name -> its generated WAV, made once (pathlib on every play showed)
        for name, file in (overrides or {}).items():
            self.set_override(name, file)

    # --- lookup ------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self.prompts)

    def path(self, name: str) -> str:
        """Absolute path of the WAV FreeSWITCH should play for ``name``."""
        override = self.overrides.get(name)
        if override is not None:
            return str(override)
        path = self._paths.get(name)
        if path is None:
            if name not in self.prompts:
                raise UnknownPromptError(
                    f"unknown prompt {name!r}; known prompts are defined in daemon/prompts/catalog.py"
                )
            path = self._paths[name] = str(self.directory / f"{name}.wav")
        return path

    def set_override(self, name: str, file: Path | None) -> None:
        """Play ``file`` instead of the generated ``name`` (``None`` removes the override)."""
        if file is None:
            self.overrides.pop(name, None)
            return
        if name not in self.prompts:
            raise UnknownPromptError(f"cannot override unknown prompt {name!r}")
        file = Path(file).absolute()
        if not file.is_file():
            raise FileNotFoundError(f"override for prompt {name!r} does not exist: {file}")
        self.overrides[name] = file

    # --- generation --------------------------------------------------------------------------

    def stale(self) -> list[str]:
        """Names whose WAV is missing or was made from another text / synthesis chain."""
        made = self._read_manifest()
        return [
            name
            for name, text in sorted(self.prompts.items())
            if made.get(name) != text_hash(text, joined=name in JOINED)
            or not all(p.is_file() for p in self._files(name))
        ]

    def _files(self, name: str) -> list[Path]:
        return [self.directory / f"{name}.wav", *(self.directory / str(rate) / f"{name}.wav" for rate in RATES)]

    def ensure(self) -> list[str]:
        """Generate every missing or stale prompt; return the names generated (sorted).

        Blocking (a child process synthesises, ~0.1-0.5 s per prompt): call it from a thread in
        async code.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._remove_leftovers()
            todo = self.stale()
            if not todo:
                return []
            made = self._read_manifest()  # entries of names not in this catalogue are kept as they are
            staging = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}batch-", dir=self.directory))
            try:
                self._synthesise(todo, staging)
                for name in todo:
                    self._install(name, staging / name)
                    made[name] = text_hash(self.prompts[name], joined=name in JOINED)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                self._write_manifest(made)
                _fsync_dir(self.directory)
            return todo

    def _synthesise(self, names: list[str], staging: Path) -> None:
        items = [
            {"text": self.prompts[name], "staging": str(staging / name), "joined": name in JOINED} for name in names
        ]
        limits = GuidanceLimits()
        isolate.run_sync(
            "speech_batch",
            {"items": items},
            timeout=limits.timeout_seconds + 5.0 * len(items),
            memory_bytes=limits.memory_bytes,
        )

    def _install(self, name: str, made: Path) -> None:
        """Rename the staged variants into place: 8000/ and 16000/, then the plain 8 kHz path."""
        for rate in RATES:
            target = self.directory / str(rate) / f"{name}.wav"
            target.parent.mkdir(exist_ok=True)
            _fsync_file(str(made / f"{rate}.wav"))
            os.chmod(made / f"{rate}.wav", 0o644)  # FreeSWITCH runs as another user and must read it
            os.replace(made / f"{rate}.wav", target)
        tmp = self.directory / f"{_TMP_PREFIX}{name}.wav"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.link(self.directory / "8000" / f"{name}.wav", tmp)
        os.replace(tmp, self.directory / f"{name}.wav")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _remove_leftovers(self) -> None:
        """Temporary files of a generation that crashed (safe: we hold the lock)."""
        for leftover in self.directory.glob(f"{_TMP_PREFIX}*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def _read_manifest(self) -> dict[str, str]:
        """name -> text hash of the prompts made by the current synthesis chain."""
        try:
            data = json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("synth") != SYNTH_VERSION:
            return {}
        prompts = data.get("prompts")
        if not isinstance(prompts, dict):
            return {}
        return {k: v for k, v in prompts.items() if isinstance(k, str) and isinstance(v, str)}

    def _write_manifest(self, made: dict[str, str]) -> None:
        data = {"synth": SYNTH_VERSION, "prompts": dict(sorted(made.items()))}
        fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}manifest-", suffix=".json", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.directory / MANIFEST)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Make the renames durable (best effort: some filesystems refuse fsync on a directory)."""
    with contextlib.suppress(OSError):
        _fsync_file(str(directory))
