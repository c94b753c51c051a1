"""Login attempts per client address: at most :data:`ATTEMPTS` in :data:`WINDOW_SECONDS`.

This is the per-node brake against password guessing from one address; the
per-account lock-out (``db/console_users``) holds across nodes.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

ATTEMPTS = 20
WINDOW_SECONDS = 300.0
MAX_ADDRESSES = 10_000


class LoginThrottle:
    def __init__(
        self,
        attempts: int = ATTEMPTS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._attempts = attempts
        self._window = window
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, address: str) -> bool:
        """Count an attempt from ``address``; False once it has used up its window."""
        now = self._clock()
        times = self._seen.pop(address, None) or deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        allowed = len(times) < self._attempts
        if allowed:
            times.append(now)
        self._seen[address] = times  # most recently seen last
        while len(self._seen) > MAX_ADDRESSES:
            self._seen.popitem(last=False)
        return allowed
