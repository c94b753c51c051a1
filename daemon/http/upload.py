"""A recording sent as ``multipart/form-data`` (fields ``file`` and ``name``), streamed to a private file.

Shared by the guidance API and the console's upload page.  The app's 64 KiB
body limit is for forms and JSON: this reads the body itself, part by part,
with the guidance size limit, so a large recording never sits in memory.  The
file is removed when the ``with`` block ends, whatever happened.  Refusals are
:class:`UploadRefused` (the form) or ``AudioRejected("too_large")`` (the
limit); each front door words them its own way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import unicodedata
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from aiohttp import BodyPartReader, web

from daemon.audio.errors import AudioRejected
from daemon.audio.ingest import Upload, limits
from daemon.audio.store import GuidanceStore

CHUNK: Final = 64 * 1024
NAME_LIMIT: Final = 4096

Problem = Literal["not_multipart", "nested", "no_file", "name_too_long"]


class UploadRefused(Exception):
    """The form is not one we can take a recording from; nothing was kept."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True, slots=True)
class Received:
    upload: Upload
    name: str | None  # the ``name`` field as sent (not checked yet)


def too_large(max_bytes: int) -> AudioRejected:
    return AudioRejected("too_large", f"the file is larger than the limit of {max_bytes / (1024 * 1024):g} MB")


def _filename(value: str | None) -> str | None:
    if not value:
        return None
    value = urllib.parse.unquote(value)  # aiohttp's client (and some others) percent-encode non-ASCII names
    name = "".join(ch for ch in unicodedata.normalize("NFC", value) if unicodedata.category(ch)[0] != "C")
    return Path(name.replace("\\", "/")).name[-255:] or None


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def _stream_part(part: BodyPartReader, into: Path, max_bytes: int) -> tuple[int, str]:
    """Copy one part to ``into`` chunk by chunk (64 KiB writes to the page cache: no thread needed)."""
    digest = hashlib.sha256()
    size = 0
    with into.open("wb") as f:
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
            digest.update(chunk)
            f.write(chunk)
    return size, digest.hexdigest()


async def _small_text(part: BodyPartReader, limit: int = NAME_LIMIT) -> str:
    """A text field, read no further than ``limit`` bytes (a huge 'name' part is refused, not buffered)."""
    raw = bytearray()
    while chunk := await part.read_chunk(1024):
        raw += chunk
        if len(raw) > limit:
            raise UploadRefused("name_too_long", f"name: at most {limit} bytes")
    return bytes(raw).decode("utf-8", "replace")


@contextlib.asynccontextmanager
async def received(request: web.Request, store: GuidanceStore) -> AsyncIterator[Received]:
    """Stream the body's ``file`` to a private file beside the store's (renames stay on one filesystem)."""
    max_bytes = limits().max_bytes
    if request.content_length is not None and request.content_length > max_bytes + CHUNK:
        raise too_large(max_bytes)
    if not request.content_type.startswith("multipart/"):
        raise UploadRefused(
            "not_multipart", "send the recording as multipart/form-data with a 'file' field (and 'name')"
        )
    store.root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=store.root)
    os.close(fd)
    path = Path(tmp)
    try:
        reader = await request.multipart()
        upload: Upload | None = None
        name: str | None = None
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise UploadRefused("nested", "nested multipart bodies are not accepted")
            if part.name == "file" and upload is None:
                size, sha = await _stream_part(part, path, max_bytes)
                upload = Upload(path, size, sha, _filename(part.filename))
            elif part.name == "name":
                name = await _small_text(part)
            else:
                await part.release()
        if upload is None or upload.size == 0:
            raise UploadRefused(
                "no_file", "the request has no file: send the recording in a multipart field named 'file'"
            )
        yield Received(upload, name)
    finally:
        _remove(path)
