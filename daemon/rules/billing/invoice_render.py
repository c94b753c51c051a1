"""An invoice as a printable Japanese document (HTML with print CSS) and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import jinja2

from daemon.rules.billing.invoice import Invoice

_TEMPLATES = Path(__file__).resolve().parent / "templates"

# The document's styles are inline: served with this policy of its own (wherever it is served).
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

CSV_FIELDS = (
    "invoice_number",
    "period",
    "kind",
    "description",
    "quantity",
    "unit",
    "unit_price_yen",
    "amount_yen",
    "tax_rate_percent",
)


def yen(amount: int) -> str:
    return f"{amount:,}円" if amount >= 0 else f"-{-amount:,}円"


def japanese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["yen"] = yen
_env.filters["jdate"] = japanese_date


def to_html(invoice: Invoice) -> str:
    return _env.get_template("invoice.html").render(invoice=invoice)


def to_csv(invoice: Invoice) -> str:
    """One row per line, then the subtotal, the tax per rate and the total (UTF-8 with BOM, for Excel).

    Every description starts with a fixed Japanese word, so no cell reads as a spreadsheet formula.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    head = [invoice.number, invoice.period]
    for line in invoice.lines:
        writer.writerow(
            [
                *head,
                line.code,
                line.description,
                line.quantity,
                line.unit,
                "" if line.unit_price_yen is None else line.unit_price_yen,
                line.amount_yen,
                line.tax_rate_percent,
            ]
        )
    writer.writerow([*head, "subtotal", "小計（税抜）", "", "", "", invoice.subtotal_yen, ""])
    for bucket in invoice.taxes:
        label = f"消費税（{bucket.rate_percent}%対象 {bucket.taxable_yen}円）"
        writer.writerow([*head, "tax", label, "", "", "", bucket.tax_yen, bucket.rate_percent])
    writer.writerow([*head, "total", "合計（税込）", "", "", "", invoice.total_yen, ""])
    return "\ufeff" + buffer.getvalue()
