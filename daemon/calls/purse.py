"""A Coaching Dial caller's money on the phone: whom it pays for, and what the caller hears about it.

* Hunting that knows the money: a limited caller (prepaid, or postpaid with a
  credit limit) is offered only to members whose own rate the money covers
  for the group's ``minimum_talk_seconds`` (:mod:`daemon.rules.billing.affordable`).
  When no member of the chosen group is affordable, the caller hears the codes
  of the groups that are (or, with none, the balance guidance), before
  anything rings.
* The minutes announcement is made for the members about to ring, at the
  dearest rate among them: the caller is never promised more than is left.
* One read of the money serves the decisions taken together (:class:`Wallet`).
* Balance by phone: ``*`` in the group menu reads the balance in yen and, for
  ``*`` + a group code (or a tenant whose groups share one rate), the minutes it
  buys at that group's rate.

Everything read out is built from pre-rendered pieces
(:mod:`daemon.prompts.spoken`, "Speaking yen amounts" in the catalogue).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import asyncpg

from daemon.calls.context import CallContext
from daemon.calls.cutoff import wall_us
from daemon.prompts import spoken
from daemon.prompts.catalog import minutes_prompt
from daemon.repositories import groups, hunting, money
from daemon.repositories.callers import Caller
from daemon.repositories.groups import Group
from daemon.repositories.hunting import Counsellor, GroupRates
from daemon.rules.billing.affordable import Purse, at_rate
from daemon.rules.billing.charges import MICROS, Tariff

#: How many affordable groups the caller is told about (by code) when the chosen one is out of reach.
GROUPS_NAMED = 3
#: How long (s) a money picture read for a call answers its next questions (:class:`Wallet`).
FRESH_S = 1.0


def purse_from(picture: money.MoneyPicture) -> Purse:
    """The money a new call of the caller would meet now, other live calls included."""
    return Purse(picture.caller.available_yen, list(picture.talking.values()), wall_us())


class Wallet:
    """A limited caller's money as one call asks about it: read once for the questions asked together.

    The set-up asks within milliseconds whether the chosen group is within
    reach, whom the money covers, whether the caller may wait, and the minutes
    to announce: one read answers them all.  A picture older than
    :data:`FRESH_S` is read again, so whatever takes the caller's time (a
    prompt, the wait, a ring) is followed by a fresh read: the backstop armed
    after the minutes announcement, and each later ring batch, see the money as
    it is then.  Time passing is not what ages a picture (a purse is made at the
    current time from it); only the caller's other calls and deposits change it,
    and the deadline is anyway computed again from the database at the answer.
    """

    def __init__(self, pool: asyncpg.Pool, caller_id: int) -> None:
        self.pool = pool
        self.caller_id = caller_id
        self._picture: money.MoneyPicture | None = None
        self._read_at = 0.0  # time.monotonic() of the read

    async def picture(self) -> money.MoneyPicture:
        if self._picture is None or time.monotonic() - self._read_at > FRESH_S:
            self._picture = await money.money_picture(self.pool, self.caller_id)
            self._read_at = time.monotonic()
        return self._picture

    async def purse(self) -> Purse:
        return purse_from(await self.picture())


def affordable(purse: Purse, group: Group, members: Sequence[Counsellor]) -> list[Counsellor]:
    """The members whose rate the money covers for the group's minimum talk, in hunting order."""
    return [m for m in members if purse.affords(at_rate(group.tariff, m.rate_yen_per_min), group.minimum_talk_seconds)]


class Priced(Protocol):
    """What the money asks of a group: its tariff, its minimum talk, and the rates of its members on duty."""

    @property
    def tariff(self) -> Tariff: ...
    @property
    def minimum_talk_seconds(self) -> int: ...
    @property
    def rates(self) -> tuple[int, ...]: ...


def within_reach(purse: Purse, rates: Priced) -> bool:
    """Someone on duty in the group is affordable (a group with nobody on duty is busy, not too dear)."""
    tariffs = [at_rate(rates.tariff, rate) for rate in rates.rates]
    return not tariffs or any(purse.affords(t, rates.minimum_talk_seconds) for t in tariffs)


def may_wait(money_now: Purse, rates: GroupRates) -> bool:
    """May the caller join the group's waiting line?

    The line is for busy members, so every member counts, on duty or not
    (``every_rate``): the money must cover one of them for the group's minimum
    talk, the caller's other live calls included (the rule of :func:`within_reach`).
    """
    return within_reach(money_now, replace(rates, rates=rates.every_rate))


async def out_of_reach(call: CallContext, wallet: Wallet, group: Group) -> list[str] | None:
    """None when the chosen group has a member the caller can afford; else what they hear instead.

    That is the codes of the groups within reach (the lead-in of the group
    question, asked once more), or ``[]`` when there is none: the caller gets
    the balance guidance.
    """
    money_now = await wallet.purse()
    # The chosen group alone first: every call asks, and a tenant's every group (1,000 one-member
    # groups in the load benchmarks) was 16 % of the loop's late time (BENCHMARKS.md, what holds the loop).
    chosen = await hunting.group_rates(call.pool, call.tenant_id, group.id)
    if chosen and within_reach(money_now, chosen[0]):
        return None
    others = await groups_within_reach(call.pool, call.tenant_id, money_now, other_than=group.id)
    if not others:
        return []
    pieces = ["affordable_groups"]
    for code in others:
        pieces += [*spoken.code(code), "ban_desu"]
    return pieces


async def groups_within_reach(pool: asyncpg.Pool, tenant_id: int, money_now: Purse, *, other_than: int) -> list[str]:
    """The codes of the first :data:`GROUPS_NAMED` groups (menu order) but ``other_than`` that the money reaches.

    The database gathers the groups alike in money (tariff, minimum talk, rates on
    duty), so each is checked once and the loop reads a handful of rows for a
    tenant's 1,000 groups (a row per group held it: BENCHMARKS.md).
    """
    shapes = await hunting.money_shapes(pool, tenant_id, other_than, GROUPS_NAMED)
    within = (code for shape in shapes if within_reach(money_now, shape) for code in shape.codes)
    return heapq.nsmallest(GROUPS_NAMED, within, key=lambda code: (len(code), code))


def minutes_for(money_now: Purse, group: Group, batch: Sequence[Counsellor]) -> str | None:
    """The minutes announcement for ``batch`` about to ring (None: nothing to announce, the talk is free).

    Made at the dearest rate among them.  ``""``: the money no longer pays a
    second of talk with any of them (other calls of the caller used it up).
    """
    dearest = max(at_rate(group.tariff, m.rate_yen_per_min).rate_yen_per_min for m in batch)
    left = money_now.talk_us(at_rate(group.tariff, dearest))
    if left is None:
        return None
    if left < MICROS:
        return ""
    return minutes_prompt(left // (60 * MICROS))


async def balance_readout(call: CallContext, caller: Caller, code: str) -> list[str]:
    """``*`` (+ a group code) in the group menu: the balance in yen, and the minutes it buys at the group's rate."""
    picture = await money.money_picture(call.pool, caller.id)
    who = picture.caller
    if not who.limited:
        return ["balance_unlimited"]
    if who.billing == "prepaid":
        pieces = ["balance_is", *spoken.number(max(0, who.balance_yen)), "yen_desu"]
    else:
        pieces = ["available_is", *spoken.number(max(0, who.available_yen)), "yen_desu"]
    tariff = await _menu_tariff(call, code)
    left = purse_from(picture).talk_us(tariff) if tariff is not None else None
    if left is not None:
        pieces.append(minutes_prompt(left / (60 * MICROS)))
    return pieces


async def _menu_tariff(call: CallContext, code: str) -> Tariff | None:
    """The tariff the minutes are told at: the group keyed after ``*``, or the tenant's one rate."""
    if code:
        group = await groups.group_by_code(call.pool, call.tenant_id, code)
        return group.tariff if group is not None else None
    tariffs = {g.tariff for g in await hunting.group_rates(call.pool, call.tenant_id)}
    return tariffs.pop() if len(tariffs) == 1 else None
