"""Moved to :mod:`daemon.db.balance_listener`; kept so existing imports work."""

from __future__ import annotations

from daemon.db import balance_listener

BalanceWatcher = balance_listener.BalanceWatcher
