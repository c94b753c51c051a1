"""Secrets kept in files of the data directory: mode 0600, written once, reused afterwards."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def read_secret(path: Path) -> str | None:
    """The secret in ``path`` (its mode tightened to 0600), or None when there is none."""
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    if not value:
        return None
    path.chmod(0o600)
    return value


def write_secret(path: Path, value: str) -> None:
    """Replace ``path`` with ``value``, never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    os.chmod(partial, 0o600)
    os.replace(partial, path)


def read_or_create_secret(path: Path, make: str | None = None) -> str:
    """The secret in ``path``, or ``make`` (default: 48 random hex digits) written there first."""
    value = read_secret(path)
    if value is None:
        value = make or secrets.token_hex(24)
        write_secret(path, value)
    return value
