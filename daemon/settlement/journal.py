"""A durable local journal of call ends the database has not taken yet.

One JSON object per line, appended and fsync'd before :meth:`Journal.add`
returns, so an entry survives a crash or a power cut of this node the moment it
is written.  ``{"settle": {...}, "kind": ...}`` lines record an end: ``"call"``
a coaching call's (:class:`CallEnd`), ``"leg"`` a forwarded IVR leg's
(:class:`LegEnd`); a line without ``kind`` is a call's (the format before legs
were journalled, still read).  ``{"done": uuid}`` lines record that the
database has it (uuids are random: a call's and a leg's never meet).  Opening the journal replays it and
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

    @property
    def key(self) -> uuid.UUID:
        return self.call_uuid

    @classmethod
    def from_json(cls, data: dict[str, object]) -> CallEnd:
        return cls(
            uuid.UUID(str(data["call_uuid"])),
            _optional_int(data.get("end_us")),
            str(data["hangup_cause"]),
            str(data["ended_by"]),
        )


@dataclass(frozen=True, slots=True)
class LegEnd:
    """Everything ``forwarding.finish`` needs: the answer too, in case its mark never reached the row."""

    leg_uuid: uuid.UUID
    outcome: str
    answer_us: int | None
    end_us: int | None

    def to_json(self) -> dict[str, object]:
        return asdict(self) | {"leg_uuid": str(self.leg_uuid)}

    @property
    def key(self) -> uuid.UUID:
        return self.leg_uuid

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LegEnd:
        return cls(
            uuid.UUID(str(data["leg_uuid"])),
            str(data["outcome"]),
            _optional_int(data.get("answer_us")),
            _optional_int(data.get("end_us")),
        )


Entry = CallEnd | LegEnd
KINDS: dict[str, type[CallEnd] | type[LegEnd]] = {"call": CallEnd, "leg": LegEnd}


def _optional_int(value: object) -> int | None:
    return int(str(value)) if value is not None else None


def _line(entry: Entry) -> str:
    kind = "leg" if isinstance(entry, LegEnd) else "call"
    return json.dumps({"settle": entry.to_json(), "kind": kind}) + "\n"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: dict[uuid.UUID, Entry] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._replay()
        self._compact()

    def _replay(self) -> None:
        for number, line in enumerate(self.path.read_text(errors="replace").splitlines(), 1):
            try:
                entry = json.loads(line)
                if "settle" in entry:
                    end = KINDS[entry.get("kind", "call")].from_json(entry["settle"])
                    self.pending[end.key] = end
                elif "done" in entry:
                    self.pending.pop(uuid.UUID(str(entry["done"])), None)
            except (ValueError, KeyError, TypeError):
                _log.warning("settlement_journal_bad_line", line=number)

    def _compact(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as out:
            for end in self.pending.values():
                out.write(_line(end))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        os.chmod(self.path, 0o600)

    def _append(self, line: str) -> None:
        with self.path.open("a") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())

    def add(self, end: Entry) -> None:
        """Keep ``end`` until :meth:`done`; durable when this returns."""
        self._append(_line(end))
        self.pending[end.key] = end

    def done(self, key: uuid.UUID) -> None:
        if self.pending.pop(key, None) is not None:
            self._append(json.dumps({"done": str(key)}) + "\n")
