"""The invoice's money rules, without a database: months in Tokyo, lines in force, add-on, tax."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from daemon.config import Settings
from daemon.rules.billing.invoice import (
    JST,
    AdjustmentEntry,
    ContractState,
    ForwardingUsage,
    Invoice,
    Issuer,
    MonthUsage,
    NoContract,
    Period,
    build_invoice,
    check_registration_number,
    epoch_us,
    invoice_lines,
    month_usage,
    tax_of,
)

MARCH = Period(2026, 3)
ISSUER = Issuer(name="calld株式会社", registration_number="T7000012050002", bank_account="みずほ銀行 本店 普通 1234567")


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=JST)


def state(at: datetime, lines: int, forwarding: bool = False) -> ContractState:
    return ContractState(at=at, lines=lines, forwarding=forwarding)


def invoice_for(history: list[ContractState], period: Period = MARCH, **kw: object) -> Invoice:
    values: dict[str, object] = {
        "tenant_id": 7,
        "addressee": "株式会社アクメ",
        "period": period,
        "history": history,
        "forwarded": ForwardingUsage(),
        "adjustments": [],
        "issuer": ISSUER,
        "issued_on": period.next().first_day,
        "due_days": 30,
    }
    values.update(kw)
    return build_invoice(**values)  # type: ignore[arg-type]


# Months.


def test_a_month_is_the_calendar_month_in_tokyo() -> None:
    assert MARCH.start == datetime(2026, 2, 28, 15, 0, tzinfo=UTC)
    assert MARCH.end == datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
    assert MARCH.start_us == 1_772_290_800_000_000
    assert MARCH.end_us - MARCH.start_us == 31 * 86_400 * 1_000_000
    assert (MARCH.first_day, MARCH.last_day) == (date(2026, 3, 1), date(2026, 3, 31))
    assert Period(2028, 2).last_day == date(2028, 2, 29)
    assert Period(2026, 12).next() == Period(2027, 1)
    assert Period.containing(datetime(2026, 3, 31, 14, 59, 59, tzinfo=UTC)) == MARCH  # 23:59:59 JST
    assert Period.containing(datetime(2026, 3, 31, 15, 0, tzinfo=UTC)) == Period(2026, 4)  # 00:00 JST
    assert epoch_us(jst(2026, 4, 1) - timedelta(microseconds=1)) == MARCH.end_us - 1


@pytest.mark.parametrize("text", ["2026-3", "2026-13", "2026-00", "1999-12", "3000-01", "２０２６-０３", "2026-03 "])
def test_bad_months_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="month"):
        Period.parse(text)


def test_month_text_round_trips() -> None:
    assert str(Period.parse("2026-03")) == "2026-03" and Period.parse("2026-03").compact == "202603"


# Lines in force.


def test_a_line_added_mid_month_is_charged_for_the_whole_month() -> None:
    history = [state(jst(2026, 1, 10), 1), state(jst(2026, 3, 15, 10), 3)]
    assert month_usage(history, Period(2026, 2)) == MonthUsage(1, False)
    assert month_usage(history, MARCH) == MonthUsage(3, False)
    assert month_usage(history, Period(2026, 4)) == MonthUsage(3, False)


def test_a_line_removed_mid_month_stops_from_the_next_month() -> None:
    history = [state(jst(2026, 1, 10), 4), state(jst(2026, 3, 20), 2)]
    assert month_usage(history, MARCH).max_lines == 4
    assert month_usage(history, Period(2026, 4)).max_lines == 2


def test_a_brief_raise_counts_and_changes_at_midnight_belong_to_the_new_month() -> None:
    history = [
        state(jst(2026, 1, 10), 2),
        state(jst(2026, 3, 1), 1),  # lowered at 00:00:00 JST on the 1st: March never had 2
        state(jst(2026, 3, 9, 12), 6),
        state(jst(2026, 3, 9, 12, 1), 1),  # a minute of 6 lines is a month of 6
        state(jst(2026, 4, 1), 9),  # raised at 00:00:00 JST on April 1st: April's, not March's
    ]
    assert month_usage(history, Period(2026, 2)).max_lines == 2
    assert month_usage(history, MARCH).max_lines == 6
    assert month_usage(history, Period(2026, 4)).max_lines == 9


def test_a_tenant_created_on_the_last_day_pays_that_month() -> None:
    history = [state(jst(2026, 3, 31, 23, 59, 59), 3)]
    with pytest.raises(NoContract):
        month_usage(history, Period(2026, 2))
    assert month_usage(history, MARCH).max_lines == 3
    invoice = invoice_for(history)
    assert [(line.code, line.amount_yen) for line in invoice.lines] == [("base", 14_800), ("extra_lines", 20_000)]


def test_a_change_stamped_before_its_predecessor_never_takes_effect_earlier() -> None:
    # Two transactions' clocks: the later change carries an earlier stamp than the one it follows.
    history = [state(jst(2026, 2, 1), 1), state(jst(2026, 4, 1), 5), state(jst(2026, 3, 31, 23), 2)]
    assert month_usage(history, MARCH).max_lines == 1
    assert month_usage(history, Period(2026, 4)).max_lines == 5


def test_forwarding_on_at_any_moment_is_charged_that_month() -> None:
    history = [
        state(jst(2026, 1, 5), 1),
        state(jst(2026, 3, 30, 18), 1, forwarding=True),
        state(jst(2026, 4, 2), 1, forwarding=False),
    ]
    assert not month_usage(history, Period(2026, 2)).forwarding
    assert month_usage(history, MARCH).forwarding
    assert month_usage(history, Period(2026, 4)).forwarding
    assert not month_usage(history, Period(2026, 5)).forwarding


# Lines of the invoice.


def test_the_price_list() -> None:
    lines = invoice_lines(MonthUsage(3, True), ForwardingUsage(calls=4, seconds=3725, charge_yen=1234), [])
    assert [(x.code, x.quantity, x.unit_price_yen, x.amount_yen) for x in lines] == [
        ("base", 1, 14_800, 14_800),
        ("extra_lines", 2, 10_000, 20_000),
        ("forwarding_addon", 1, 10_000, 10_000),
        ("forwarding_calls", 4, None, 1234),
    ]
    assert lines[3].description == "転送通話料（通話時間 1時間02分05秒）"
    assert all(x.tax_rate_percent == 10 for x in lines)


def test_zero_lines_still_pay_the_base_and_no_calls_is_zero_yen() -> None:
    lines = invoice_lines(MonthUsage(0, True), ForwardingUsage(), [])
    assert [(x.code, x.quantity, x.amount_yen) for x in lines] == [
        ("base", 1, 14_800),
        ("forwarding_addon", 1, 10_000),
        ("forwarding_calls", 0, 0),
    ]
    assert [x.code for x in invoice_lines(MonthUsage(1, False), ForwardingUsage(), [])] == ["base"]


def test_calls_forwarded_after_the_add_on_was_turned_off_are_still_charged() -> None:
    lines = invoice_lines(MonthUsage(1, False), ForwardingUsage(calls=1, seconds=30, charge_yen=15), [])
    assert [(x.code, x.amount_yen) for x in lines] == [("base", 14_800), ("forwarding_calls", 15)]


# Tax.


def test_tax_is_rounded_down_once_on_the_invoice_not_per_line() -> None:
    history = [state(jst(2026, 1, 5), 1, forwarding=True)]
    adjustments = [AdjustmentEntry(7, "前月の転送通話 1件"), AdjustmentEntry(8, "前月の転送通話 1件")]
    invoice = invoice_for(history, forwarded=ForwardingUsage(1, 19, 9), adjustments=adjustments)
    # 14,800 + 10,000 + 9 + 7 + 8 = 24,824 → 2,482.4 → 2,482 (per line it would be 2,480)
    assert invoice.subtotal_yen == 24_824
    assert invoice.tax_yen == 2_482
    assert sum(x.amount_yen * 10 // 100 for x in invoice.lines) == 2_480
    assert invoice.total_yen == 27_306
    assert [(t.rate_percent, t.taxable_yen, t.tax_yen) for t in invoice.taxes] == [(10, 24_824, 2_482)]


@pytest.mark.parametrize(("taxable", "tax"), [(0, 0), (9, 0), (14_809, 1_480), (14_800, 1_480), (19, 1)])
def test_tax_rounds_down(taxable: int, tax: int) -> None:
    assert tax_of(taxable) == tax


def test_a_negative_taxable_sum_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        tax_of(-1)


@given(
    lines=st.integers(0, 50),
    forwarding=st.booleans(),
    calls=st.integers(0, 10_000),
    charge=st.integers(0, 10**8),
    adjustments=st.lists(st.integers(-14_800, 10**6).filter(bool), max_size=5),
)
def test_the_totals_always_add_up(
    lines: int, forwarding: bool, calls: int, charge: int, adjustments: list[int]
) -> None:
    history = [state(jst(2026, 1, 5), lines, forwarding)]
    entries = [AdjustmentEntry(a, "調整") for a in adjustments]
    charge = charge if calls else 0  # no forwarded call, no forwarding charge (1 yen for 0 calls is no usage)
    try:
        invoice = invoice_for(history, forwarded=ForwardingUsage(calls, calls * 60, charge), adjustments=entries)
    except ValueError:
        assert 14_800 + max(0, lines - 1) * 10_000 + forwarding * 10_000 + charge + sum(adjustments) < 0
        return
    assert invoice.subtotal_yen == sum(x.amount_yen for x in invoice.lines)
    assert invoice.tax_yen == invoice.subtotal_yen // 10
    assert invoice.total_yen == invoice.subtotal_yen + invoice.tax_yen
    assert all(isinstance(x.amount_yen, int) for x in invoice.lines)


@given(
    offsets=st.lists(
        st.tuples(st.integers(0, 400 * 86_400), st.integers(0, 20), st.booleans()), min_size=1, unique_by=lambda t: t[0]
    ),
    later=st.tuples(st.integers(0, 40 * 86_400), st.integers(0, 20), st.booleans()),
)
def test_changes_after_a_month_never_change_that_month(
    offsets: list[tuple[int, int, bool]], later: tuple[int, int, bool]
) -> None:
    origin = jst(2026, 1, 1)
    history = sorted((state(origin + timedelta(seconds=s), n, f) for s, n, f in offsets), key=lambda x: x.at)
    period = Period.containing(history[-1].at)
    after = state(period.end + timedelta(seconds=later[0]), later[1], later[2])
    assert month_usage([*history, after], period) == month_usage(history, period)
    in_force = [s for s in history if s.at <= period.start][-1:] + [s for s in history if s.at > period.start]
    assert month_usage(history, period).max_lines == max(s.lines for s in in_force)


# Issue data.


def test_due_date_number_and_dates() -> None:
    invoice = invoice_for([state(jst(2026, 1, 5), 1)], issued_on=date(2026, 4, 2), due_days=30)
    assert invoice.number == "INV-7-202603"
    assert (invoice.period, invoice.period_start, invoice.period_end) == (
        "2026-03",
        date(2026, 3, 1),
        date(2026, 3, 31),
    )
    assert (invoice.issued_on, invoice.due_on) == (date(2026, 4, 2), date(2026, 5, 2))
    assert invoice.status == "open" and invoice.payment_note == "振込手数料はお客様のご負担となります"


@pytest.mark.parametrize("number", ["T7000012050002", "T1180301018771", " T7000012050002 ", ""])
def test_registration_numbers_that_pass(number: str) -> None:
    assert check_registration_number(number) == number.strip()


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("T7000012050003", "check digit"),
        ("T8000012050002", "check digit"),
        ("7000012050002", "T followed by 13 digits"),
        ("T700001205000", "T followed by 13 digits"),
        ("t7000012050002", "T followed by 13 digits"),
        ("T７000012050002", "T followed by 13 digits"),
    ],
)
def test_registration_numbers_that_fail(number: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_registration_number(number)


def test_settings_refuse_a_bad_registration_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLD_INVOICE_REGISTRATION_NUMBER", "T1234567890123")
    with pytest.raises(ValidationError, match="check digit"):
        Settings()
    monkeypatch.setenv("CALLD_INVOICE_REGISTRATION_NUMBER", "T7000012050002")
    monkeypatch.setenv("CALLD_INVOICE_DUE_DAYS", "14")
    settings = Settings()
    assert (settings.invoice_registration_number, settings.invoice_due_days) == ("T7000012050002", 14)
