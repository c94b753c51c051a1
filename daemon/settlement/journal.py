"""A durable local journal of call ends the database has not taken yet.

One JSON object per line, appended and fsync'd before :meth:`Journal.add`
returns, so an entry survives a crash or a power cut of this node the moment it
is written.  ``{"settle": {...}}`` lines record a call's end; ``{"done": uuid}``
lines record that the database has it.  Opening the journal replays it and
rewrites it with only what is still pending (atomically: a temporary file and a
rename), so it never grows beyond the calls of one outage.  A torn last line
(the crash came mid-write) is skipped: its call is still open in the database
and crash recovery settles it from FreeSWITCH.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from daemon.logs import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CallEnd:
    """Everything ``call_records.finish`` needs, from FreeSWITCH's timestamps."""

    call_uuid: uuid.UUID
    end_us: int | None
    hangup_cause: str
    ended_by: str

    def to_json(self) -> dict[str, object]:
        return asdict(self) | {"call_uuid": str(self.call_uuid)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> CallEnd:
        end = data.get("end_us")
        return cls(
            uuid.UUID(str(data["call_uuid"])),
            int(str(end)) if end is not None else None,
            str(data["hangup_cause"]),
            str(data["ended_by"]),
        )


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: dict[uuid.UUID, CallEnd] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._replay()
        self._compact()

    def _replay(self) -> None:
        for number, line in enumerate(self.path.read_text(errors="replace").splitlines(), 1):
            try:
                entry = json.loads(line)
                if "settle" in entry:
                    end = CallEnd.from_json(entry["settle"])
                    self.pending[end.call_uuid] = end
                elif "done" in entry:
                    self.pending.pop(uuid.UUID(str(entry["done"])), None)
            except (ValueError, KeyError, TypeError):
                _log.warning("settlement_journal_bad_line", line=number)

    def _compact(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as out:
            for end in self.pending.values():
                out.write(json.dumps({"settle": end.to_json()}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        os.chmod(self.path, 0o600)

    def _append(self, entry: dict[str, object]) -> None:
        with self.path.open("a") as out:
            out.write(json.dumps(entry) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def add(self, end: CallEnd) -> None:
        """Keep ``end`` until :meth:`done`; durable when this returns."""
        self._append({"settle": end.to_json()})
        self.pending[end.call_uuid] = end

    def done(self, call_uuid: uuid.UUID) -> None:
        if self.pending.pop(call_uuid, None) is not None:
            self._append({"done": str(call_uuid)})
