"""Who is calling and whom they want, at call time.

The repositories are :mod:`daemon.db.callers` and :mod:`daemon.db.groups`;
these names stay importable from here.
"""

from __future__ import annotations

from daemon.db import callers, groups

Caller = callers.Caller
Group = groups.Group
caller = callers.caller
caller_by_number = callers.caller_by_number
caller_by_pin = callers.caller_by_pin
group_by_code = groups.group_by_code
