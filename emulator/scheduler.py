"""FreeSWITCH's task scheduler: whole epoch seconds, polled twice a second.

``sched_hangup +N`` and ``sched_broadcast +N`` add a task whose runtime is
``switch_epoch_time_now() + N`` — an integer second — to switch_scheduler.c, whose
thread runs ``task_thread_loop`` (fire every task with ``now >= runtime``, ``now``
in whole seconds) and then sleeps 500 ms.  So a ``+N`` task fires somewhere between
N-1 and N+0.5 seconds after it was added: ``sched_broadcast +1`` played 0.71 s
later (api_commands), ``sched_hangup +3`` cut the bridged caller 2.98 s after the
daemon armed it (backstop_crash_in_bridge).  A daemon must never rely on it firing
at or after the exact deadline.

A time without ``+`` is an absolute epoch second (mod_commands ``sched_hangup``:
``when = atol(argv[0])``), fired by the same poll at ``now >= runtime``: nothing
early, at most a poll late.  ``switch_scheduler_add_task`` treats a runtime already
in the past as relative (``task_runtime += now``), so an absolute time that arrives
late is scheduled decades ahead, i.e. never.

Tasks are grouped by channel UUID, which is what ``sched_del <uuid>`` deletes.
Instead of a polling thread, each task gets a timer at the instant the polling
loop would have picked it up (the poll phase is fixed per scheduler).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

POLL_INTERVAL = 0.5  # switch_yield(500000) in switch_scheduler_task_thread


@dataclass(slots=True)
class Task:
    task_id: int
    group: str
    runtime: int  # epoch seconds
    desc: str
    action: Callable[[], None]
    handle: asyncio.TimerHandle | None = field(default=None, repr=False)
    #: Called with the time the task was due before it runs (late): what reached FreeSWITCH
    #: before then happens first, and may delete the task (``sched_del``).
    before: Callable[[float], None] | None = field(default=None, repr=False)


class Scheduler:
    """Whole-second task scheduler shared by every channel of one emulator."""

    def __init__(self, rng: random.Random | None = None, poll_interval: float = POLL_INTERVAL) -> None:
        self._ids = itertools.count(1)
        self._tasks: dict[int, Task] = {}
        self._groups: dict[str, set[int]] = {}
        self._poll = poll_interval
        self._phase = (rng or random.Random()).random() * poll_interval

    def fire_time(self, runtime: int) -> float:
        """Epoch time at which the polling loop first sees ``now >= runtime``."""
        offset = (self._phase - runtime) % self._poll
        return runtime + offset

    def add(
        self,
        seconds: int,
        group: str,
        desc: str,
        action: Callable[[], None],
        *,
        relative: bool = True,
        before: Callable[[float], None] | None = None,
    ) -> Task:
        """Schedule ``action`` at ``int(now) + seconds`` (or at epoch ``seconds`` if not relative)."""
        now = int(time.time())
        runtime = now + seconds if relative else seconds
        if runtime < now:
            runtime += now  # switch_scheduler_add_task: "repeat" semantics for a past time
        task = Task(next(self._ids), group, runtime, desc, action, before=before)
        loop = asyncio.get_running_loop()
        delay = max(0.0, self.fire_time(runtime) - time.time())
        task.handle = loop.call_later(delay, self._run, task.task_id)
        self._tasks[task.task_id] = task
        self._groups.setdefault(group, set()).add(task.task_id)
        return task

    def _run(self, task_id: int) -> None:
        task = self._tasks.get(task_id)
        if task is not None and task.before is not None:
            task.before(self.fire_time(task.runtime))
            task = self._tasks.get(task_id)
        if task is not None:
            self._forget(task)
            task.action()

    def delete_group(self, group: str) -> int:
        """``switch_scheduler_del_task_group``: how many tasks were removed."""
        doomed = [self._tasks[i] for i in self._groups.get(group, ())]
        for task in doomed:
            self._cancel(task)
        return len(doomed)

    def delete_id(self, task_id: int) -> int:
        task = self._tasks.get(task_id)
        if task is None:
            return 0
        self._cancel(task)
        return 1

    def _cancel(self, task: Task) -> None:
        if task.handle is not None:
            task.handle.cancel()
        self._forget(task)

    def _forget(self, task: Task) -> None:
        self._tasks.pop(task.task_id, None)
        ids = self._groups.get(task.group)
        if ids is not None:
            ids.discard(task.task_id)
            if not ids:
                del self._groups[task.group]

    def pending(self, group: str | None = None) -> list[Task]:
        if group is None:
            return list(self._tasks.values())
        return [self._tasks[i] for i in self._groups.get(group, ())]

    def close(self) -> None:
        for task in list(self._tasks.values()):
            self._cancel(task)
