"""Counsellors' pay: the operator sets each one's rate (with a starting date), and the month's payout.

A rate change applies to calls from its date on (Asia/Tokyo); calls before it
keep the rate of their own day, so a month that is paid out never changes when
a rate is raised afterwards with a later date.  Each call's pay is computed
with the rate in force on the call's date (:mod:`daemon.rules.billing.pay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import asyncpg

from daemon.repositories import counsellors, pay_rates, payouts
from daemon.repositories.payouts import PaidCall
from daemon.rules.billing.invoice import Period
from daemon.rules.billing.pay import PayKind, PayLine, PayRate, rate_on
from daemon.services.actor import Actor
from daemon.services.change import change
from daemon.services.values import TOKYO


def _target(counsellor_id: int) -> str:
    return f"counsellor {counsellor_id}"


def _shown(rate: PayRate | None) -> dict[str, object] | None:
    if rate is None:
        return None
    return {"kind": rate.kind, "value": rate.value, "effective_from": rate.effective_from.isoformat()}


async def set_rate(
    pool: asyncpg.Pool, actor: Actor, tenant_id: int, counsellor_id: int, kind: PayKind, value: int, since: date
) -> None:
    """The counsellor's pay from ``since`` on (a ValueError of :class:`PayRate` becomes :class:`Invalid`)."""
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        rate = PayRate(kind, value, since)
        replaced = await pay_rates.put(c.pool, tenant, counsellor_id, rate)
        target, before, after = _target(counsellor_id), _shown(replaced), _shown(rate)
        await c.record("counsellor.pay_rate", tenant_id=tenant, target=target, before=before, after=after)


async def remove_rate(pool: asyncpg.Pool, actor: Actor, tenant_id: int, counsellor_id: int, since: date) -> None:
    tenant = actor.scope(tenant_id)
    async with change(pool, actor) as c:
        removed = await pay_rates.remove(c.pool, tenant, counsellor_id, since)
        await c.record("counsellor.pay_rate", tenant_id=tenant, target=_target(counsellor_id), before=_shown(removed))


@dataclass(frozen=True, slots=True)
class PayoutLine:
    counsellor_id: int
    name: str
    rate: PayRate | None  # in force at the end of the month (what the report names)
    line: PayLine


@dataclass(frozen=True, slots=True)
class Payout:
    period: Period
    lines: list[PayoutLine]

    @property
    def total(self) -> PayLine:
        total = PayLine()
        for p in self.lines:
            total += p.line
        return total


@dataclass(frozen=True, slots=True)
class OwnCall:
    call: PaidCall
    pay_yen: int


async def payout(pool: asyncpg.Pool, tenant_id: int, period: Period) -> Payout:
    """Every counsellor of the tenant (those without calls too), by name: the month's calls and pay."""
    rates = await pay_rates.of_tenant(pool, tenant_id)
    names = {c.id: c.name for c in await counsellors.list_all(pool, tenant_id)}
    lines = dict.fromkeys(names, PayLine())
    for call in await payouts.paid_calls(pool, tenant_id, since=period.start, until=period.end):
        rate = rate_on(rates.get(call.counsellor_id, []), call.day)
        lines[call.counsellor_id] = lines.get(call.counsellor_id, PayLine()).add(
            rate, call.charged_yen, call.billed_seconds
        )
    ordered = sorted(names, key=lambda i: (names[i], i))
    return Payout(
        period,
        [PayoutLine(i, names[i], rate_on(rates.get(i, []), period.last_day), lines[i]) for i in ordered],
    )


async def own_calls(
    pool: asyncpg.Pool, tenant_id: int, counsellor_id: int, when: Period | date
) -> tuple[list[OwnCall], PayLine]:
    """One counsellor's answered calls of a month (or of one day, Asia/Tokyo), each with their pay, and the sum."""
    if isinstance(when, Period):
        start, end = when.start, when.end
    else:
        start = datetime.combine(when, time(), TOKYO)
        end = start + timedelta(days=1)
    history = await pay_rates.history(pool, tenant_id, counsellor_id)
    calls = await payouts.paid_calls(pool, tenant_id, since=start, until=end, counsellor_id=counsellor_id)
    total = PayLine()
    own = []
    for call in calls:
        rate = rate_on(history, call.day)
        own.append(OwnCall(call, rate.pay(call.charged_yen, call.billed_seconds) if rate is not None else 0))
        total = total.add(rate, call.charged_yen, call.billed_seconds)
    return own, total
