"""Access to the raw FreeSWITCH 1.10 transcripts in ../shared/freeswitch/transcripts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TRANSCRIPTS = Path(__file__).resolve().parents[1].parent / "shared" / "freeswitch" / "transcripts"


@dataclass(frozen=True)
class Record:
    t: float
    direction: str  # "fs>app" or "app>fs"
    data: bytes


def transcript_files() -> list[Path]:
    return sorted(TRANSCRIPTS.glob("*.jsonl"))


def load(path: Path | str) -> list[Record]:
    p = TRANSCRIPTS / path if isinstance(path, str) else path
    out = []
    for line in p.read_text().splitlines():
        rec = json.loads(line)
        out.append(Record(rec["t"], rec["dir"], rec["data"].encode("latin-1")))
    return out


def chunks(path: Path | str, direction: str) -> list[bytes]:
    """The non-empty reads/writes of one direction, as FreeSWITCH chunked them."""
    return [r.data for r in load(path) if r.direction == direction and r.data]
