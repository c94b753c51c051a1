"""What an operation refuses with, in terms of the domain; each front door says it its own way.

HTTP maps them to status codes (``daemon/http/errors.py``: 404, 409, 422, 403),
the console to Japanese messages, the CLI to a line on stderr.  ``code`` is a
stable word a front door may translate; ``str(error)`` is English for the API
and the logs.

:class:`NotFound` and :class:`Conflict` extend the database layer's own
(``daemon.postgres.errors``), so code written against those still catches them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from daemon.postgres import errors as db_errors


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(ServiceError, db_errors.NotFound):
    """The object does not exist, or belongs to a tenant the actor may not act for."""

    code = "not_found"


class Conflict(ServiceError, db_errors.Conflict):
    """Refused by what is stored: a taken name or number, money that does not allow it.

    ``code`` says which (a constraint name from the database, or a word such as
    ``insufficient_balance``).
    """

    code = "conflict"


class Forbidden(ServiceError):
    """The actor is known but may not do this."""

    code = "forbidden"


RULE = "rule"  # a Problem's type when a repository refused a value by one of its rules (a ValueError)


@dataclass(frozen=True, slots=True)
class Problem:
    """One field's problem: where (``("lines",)``), an English message, a pydantic-style type and context."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"
    ctx: Mapping[str, Any] = field(default_factory=dict)


class Invalid(ServiceError):
    """Values that break the rules, field by field (``loc`` ``()``: the request as a whole)."""

    code = "invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(_sentence(p) for p in self.problems) or "invalid request")

    @classmethod
    def field(cls, name: str, msg: str, type: str = "value_error") -> Invalid:
        return cls([Problem((name,) if name else (), msg, type)])

    @classmethod
    def of(cls, exc: ValidationError) -> Invalid:
        return cls(
            [
                Problem(tuple(e["loc"]), e["msg"].removeprefix("Value error, "), e["type"], dict(e.get("ctx") or {}))
                for e in exc.errors(include_url=False, include_input=False)
            ]
        )

    @property
    def fields(self) -> dict[str, str]:
        """The first message per top-level field (``""``: the request as a whole)."""
        found: dict[str, str] = {}
        for p in self.problems:
            found.setdefault(str(p.loc[0]) if p.loc else "", p.msg)
        return found


def _sentence(problem: Problem) -> str:
    where = ".".join(str(part) for part in problem.loc)
    return f"{where}: {problem.msg}" if where else problem.msg


@contextlib.contextmanager
def coded(code: str) -> Iterator[None]:
    """A repository's :class:`~daemon.postgres.errors.Conflict` inside, as a :class:`Conflict` with ``code``.

    The operation knows what a clash means there ("this number is taken"), the
    repository only that something clashed; the code carries the meaning to the
    front doors.
    """
    try:
        yield
    except ServiceError:
        raise
    except db_errors.Conflict as exc:
        raise Conflict(str(exc), code=code) from exc
