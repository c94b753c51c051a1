"""An invoice as a PDF (A4, Japanese, the font embedded), the document we mail and the console serves.

fpdf2 draws it; the font is a Japanese TrueType/OpenType font installed on the
machine (IPA, from Debian's ``fonts-ipafont-gothic``, which ``make`` installs),
embedded as a subset so the PDF reads the same everywhere and its text can be
extracted.  The qualified-invoice (適格請求書) fields are all there: the issuer
and its 登録番号, the date, the lines with their tax rate, the sum and the tax
per rate (税率ごとの対価と消費税額), and the addressee.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.rules.billing.invoice import Invoice
from daemon.rules.billing.invoice_render import japanese_date, yen

if TYPE_CHECKING:
    from fpdf import FPDF

# fpdf2 imports numpy when it is installed, and the daemon must not carry the audio stack's
# libraries (tests/audio/test_isolation.py): fpdf is imported when a PDF is made, not before.
# A line ends where the next begins: fpdf's **NEXT_LINE.
NEXT_LINE: dict[str, Any] = {"new_x": "LMARGIN", "new_y": "NEXT"}

# Looked for in this order; the first that exists is embedded.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
)
_FONT = "jp"
_WIDTHS = (80, 22, 28, 34, 16)  # 品目, 数量, 単価, 金額, 税率 (mm; 180 in all)


class NoJapaneseFont(RuntimeError):
    """No Japanese font is installed: the PDF cannot be made (install fonts-ipafont-gothic)."""


def font_path() -> Path:
    for candidate in FONT_CANDIDATES:
        if candidate.exists():
            return candidate
    raise NoJapaneseFont(
        "no Japanese font found (looked for " + ", ".join(map(str, FONT_CANDIDATES)) + "):"
        " apt-get install fonts-ipafont-gothic"
    )


def to_pdf(invoice: Invoice) -> bytes:
    from fpdf import FPDF  # here, not at the top: see NEXT_LINE

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font(_FONT, fname=str(font_path()))
    pdf.set_title(f"請求書 {invoice.number}")
    pdf.set_author(invoice.issuer.name)
    if invoice.closed_at is not None:
        pdf.set_creation_date(invoice.closed_at)
    pdf.add_page()
    _head(pdf, invoice)
    _lines(pdf, invoice)
    _totals(pdf, invoice)
    _payment(pdf, invoice)
    return bytes(pdf.output())


def _text(pdf: FPDF, size: float, text: str, *, align: str = "L", height: float = 6) -> None:
    pdf.set_font(_FONT, size=size)
    pdf.multi_cell(0, height, text, align=align, **NEXT_LINE)


def _head(pdf: FPDF, invoice: Invoice) -> None:
    _text(pdf, 20, "請 求 書", align="C", height=12)
    if invoice.status == "open":
        pdf.set_text_color(176, 0, 0)
        _text(pdf, 10, "未確定（プレビュー）: この月はまだ締められていません。金額は変わることがあります。", align="C")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    top = pdf.get_y()
    pdf.set_font(_FONT, size=14)
    pdf.multi_cell(100, 8, f"{invoice.addressee} 御中", border="B", **NEXT_LINE)
    if invoice.addressee_address:
        pdf.set_font(_FONT, size=9)
        pdf.multi_cell(100, 5, invoice.addressee_address, **NEXT_LINE)
    pdf.ln(2)
    pdf.set_font(_FONT, size=10)
    pdf.multi_cell(100, 6, "下記のとおりご請求申し上げます。", **NEXT_LINE)
    pdf.set_font(_FONT, size=14)
    pdf.multi_cell(100, 10, f"ご請求金額（税込） {yen(invoice.total_yen)}", border=1, **NEXT_LINE)
    pdf.set_font(_FONT, size=10)
    start, end = japanese_date(invoice.period_start), japanese_date(invoice.period_end)
    pdf.multi_cell(100, 6, f"対象期間: {start}〜{end}", **NEXT_LINE)
    left_bottom = pdf.get_y()

    pdf.set_xy(120, top)
    issuer = [
        f"請求番号: {invoice.number}",
        f"発行日: {japanese_date(invoice.issued_on)}",
        f"支払期限: {japanese_date(invoice.due_on)}",
        "",
        invoice.issuer.name or "（発行者未設定）",
        *([invoice.issuer.address] if invoice.issuer.address else []),
        f"登録番号: {invoice.issuer.registration_number or '（未設定）'}",
    ]
    pdf.set_font(_FONT, size=9)
    for line in issuer:
        pdf.set_x(120)
        pdf.multi_cell(75, 5, line, **NEXT_LINE)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)


def _row(pdf: FPDF, cells: tuple[str, ...], *, header: bool = False) -> None:
    pdf.set_fill_color(235, 235, 235)
    for i, (width, cell) in enumerate(zip(_WIDTHS, cells, strict=True)):
        align = "L" if i == 0 or header else "R"
        pdf.cell(width, 7, cell, border=1, align=align, fill=header)
    pdf.ln(7)


def _lines(pdf: FPDF, invoice: Invoice) -> None:
    _text(pdf, 11, "明細")
    pdf.set_font(_FONT, size=9)
    _row(pdf, ("品目", "数量", "単価", "金額（税抜）", "税率"), header=True)
    for line in invoice.lines:
        price = "—" if line.unit_price_yen is None else yen(line.unit_price_yen)
        cells = (
            line.description,
            f"{line.quantity}{line.unit}",
            price,
            yen(line.amount_yen),
            f"{line.tax_rate_percent}%",
        )
        _row(pdf, cells)


def _pair(pdf: FPDF, label: str, value: str, *, size: float = 10) -> None:
    pdf.set_font(_FONT, size=size)
    pdf.set_x(105)
    pdf.cell(45, 7, label, border=1)
    pdf.cell(45, 7, value, border=1, align="R", **NEXT_LINE)


def _totals(pdf: FPDF, invoice: Invoice) -> None:
    pdf.ln(3)
    _pair(pdf, "小計（税抜）", yen(invoice.subtotal_yen))
    for bucket in invoice.taxes:
        _pair(pdf, f"消費税（{bucket.rate_percent}%）", yen(bucket.tax_yen))
    _pair(pdf, "合計（税込）", yen(invoice.total_yen), size=12)
    pdf.ln(3)
    _text(pdf, 9, "税率ごとの対価と消費税額")
    for bucket in invoice.taxes:
        _pair(pdf, f"{bucket.rate_percent}%対象（税抜）", yen(bucket.taxable_yen), size=9)
        _pair(pdf, f"{bucket.rate_percent}%対象の消費税", yen(bucket.tax_yen), size=9)


def _payment(pdf: FPDF, invoice: Invoice) -> None:
    pdf.ln(5)
    _text(pdf, 11, "振込先")
    _text(pdf, 10, invoice.issuer.bank_account or "（振込先未設定）", height=5)
    _text(pdf, 9, invoice.payment_note, height=5)
