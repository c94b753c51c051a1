"""Business hours: is the shop open at a given moment (Asia/Tokyo)?

In order: a special opening day of the tenant (its own hours), a closed day of
the tenant, a Japanese public holiday (the ``holidays`` package, substitute
holidays included) when the node closes on them, then the weekday's hours.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from daemon.rules.ivr.models import WEEKDAYS, HoursNode, minutes

TOKYO = ZoneInfo("Asia/Tokyo")


@cache
def _japan(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("JP", years=year)


def public_holiday(day: dt.date) -> bool:
    return day in _japan(day.year)


def is_open(node: HoursNode, at: dt.datetime) -> bool:
    """``at`` must be aware; it is read in Asia/Tokyo."""
    local = at.astimezone(TOKYO)
    day = local.date()
    if day in node.open_dates:
        ranges = node.open_dates[day]
    elif day in node.closed_dates or (node.public_holidays_closed and public_holiday(day)):
        return False
    else:
        ranges = node.week.get(WEEKDAYS[day.weekday()], [])
    now = local.hour * 60 + local.minute
    return any(start <= now < end for start, end in map(minutes, ranges))
