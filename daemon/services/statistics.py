"""The IVR customer's statistics over a period of Tokyo days: per day, per hour, menu choices, totals.

A period is its first and last day (both included), at most :data:`MAX_DAYS`;
every day of it has a row, zeros included, so a chart's axis has no holes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import asyncpg

from daemon.repositories import statistics
from daemon.services.actor import Actor
from daemon.services.errors import RULE, Invalid, Problem
from daemon.services.values import TOKYO

MAX_DAYS = 366
DEFAULT_DAYS = 30
COUNTS = (
    "calls",
    "blocked",
    "refused",
    "forward_answered",
    "forward_busy",
    "forward_no_answer",
    "forward_other",
    "voicemails",
    "hung_up_in_menu",
)


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date  # included

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), TOKYO)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), TOKYO)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def period(first: date | None, last: date | None, today: date) -> Period:
    """The days asked for; missing ends: the :data:`DEFAULT_DAYS` up to ``today``."""
    last = last or (today if first is None else min(today, first + timedelta(days=DEFAULT_DAYS - 1)))
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise Invalid([Problem(("first",), "the first day is after the last day", RULE)])
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid([Problem(("last",), f"a period has at most {MAX_DAYS} days", RULE)])
    return Period(first, last)


@dataclass(frozen=True, slots=True)
class IvrStatistics:
    period: Period
    daily: list[tuple[date, dict[str, int]]]  # every day of the period, COUNTS each
    hourly: list[int]  # answered calls per hour of the day, 0-23
    choices: list[tuple[str, str, int]]  # (menu node, keys, times chosen)

    @property
    def totals(self) -> dict[str, int]:
        return {name: sum(counts[name] for _, counts in self.daily) for name in COUNTS}


async def ivr_statistics(pool: asyncpg.Pool, actor: Actor, tenant_id: int, when: Period) -> IvrStatistics:
    tenant = actor.scope(tenant_id)
    found = await statistics.daily(pool, tenant, when.since, when.until)
    empty = dict.fromkeys(COUNTS, 0)
    hours = await statistics.hourly(pool, tenant, when.since, when.until)
    return IvrStatistics(
        period=when,
        daily=[(day, {**empty, **found.get(day, {})}) for day in when.days],
        hourly=[hours.get(h, 0) for h in range(24)],
        choices=await statistics.menu_choices(pool, tenant, when.since, when.until),
    )
