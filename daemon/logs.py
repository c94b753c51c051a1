"""Structured JSON logs (structlog) on stderr, one JSON object per line, with caller numbers masked.

Everything that writes to stderr goes through the same renderer: our structlog
loggers, the standard ``logging`` of libraries (aiohttp, asyncio, embedded
PostgreSQL), Python ``warnings`` and uncaught exceptions (main thread and
other threads).  A traceback is the ``exception`` field of its line, never
loose text.  Under systemd, stderr goes to the journal.

Every line logged inside a call names it (``call_uuid``, masked ``caller``,
``dialled``): :func:`bind_call` sets one context variable per call, and the
fields are made (the number masked) only for the lines actually written, not
for every call that logs nothing at the configured level.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import warnings
from types import TracebackType
from typing import Any, TextIO

import structlog
from structlog.typing import Processor

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def mask_number(number: str | None) -> str:
    """Keep only the last 4 digits of a phone number: ``09012345678`` → ``*******5678``."""
    if not number:
        return ""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


_CALL: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar("calld_call", default=None)


def bind_call(call_uuid: str, caller: str, dialled: str) -> None:
    """Name the call in every line logged from now on in this task (and the tasks it starts)."""
    _CALL.set((call_uuid, caller, dialled))


def add_call(_logger: object, _method: str, event_dict: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """The call's fields, as structlog's bound context goes: a field the line sets itself wins."""
    call = _CALL.get()
    if call is not None:
        call_uuid, caller, dialled = call
        event_dict.setdefault("call_uuid", call_uuid)
        event_dict.setdefault("caller", mask_number(caller))
        event_dict.setdefault("dialled", dialled)
    return event_dict


def _renderer() -> Processor:
    return structlog.processors.JSONRenderer(ensure_ascii=False, default=str)


def configure(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON lines on ``stream`` (stderr) for our loggers, stdlib logging, warnings and crashes."""
    out = stream or sys.stderr
    threshold = _LEVELS.get(level.lower(), logging.INFO)
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_call,
            structlog.processors.add_log_level,
            timestamper,
            structlog.processors.format_exc_info,
            _renderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                add_call,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                timestamper,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _renderer(),
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    warnings.showwarning = _show_warning
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    get_logger("py.warnings").warning(
        "python_warning", category=category.__name__, message=str(message), file=filename, line=lineno
    )


def _uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    get_logger("daemon").critical("uncaught_exception", exc_info=(kind, value, tb))


def _uncaught_in_thread(args: Any) -> None:
    if args.exc_type is SystemExit:
        return
    get_logger("daemon").critical(
        "uncaught_exception_in_thread",
        thread=getattr(args.thread, "name", None),
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
