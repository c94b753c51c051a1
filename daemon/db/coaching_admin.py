"""Creating Coaching Dial data (kept for existing callers of these names).

The repositories are :mod:`daemon.db.callers`, :mod:`daemon.db.counsellors`
and :mod:`daemon.db.groups`.
"""

from __future__ import annotations

from daemon.db import callers, counsellors, groups

create_caller = callers.create
create_counsellor = counsellors.create
create_group = groups.create
set_duty = counsellors.set_duty
set_members = groups.replace_members
