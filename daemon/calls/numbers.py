"""Phone numbers as they arrive from the trunk: see :mod:`daemon.numbers` (kept so existing imports work)."""

from __future__ import annotations

from daemon import numbers

national = numbers.national
