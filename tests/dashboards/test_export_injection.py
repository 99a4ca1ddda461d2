"""Exports never hand a spreadsheet a formula: text starting with = + - @ (or tab / carriage return) gets a
leading apostrophe in both the CSV and the Excel file; numbers written as text stay as they are."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from service.dashboards.exports import csv_stream, xlsx_stream

HOSTILE = ["=HYPERLINK(\"http://x\")", "+SUM(A1)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]
HARMLESS = ["-5", "+81", "研究 = 安全", "L3", 42]
EXPECTED = ["'" + v for v in HOSTILE] + ["-5", "+81", "研究 = 安全", "L3"]


def test_csv_guards_every_formula_start():
    text = b"".join(csv_stream(["値"], [[v] for v in HOSTILE + HARMLESS])).decode("utf-8-sig")
    values = [row[0] for row in csv.reader(io.StringIO(text, newline=""))][1:]
    assert values == [*EXPECTED, "42"]


def test_excel_guards_every_formula_start():
    data = b"".join(xlsx_stream("t", ["値"], [[v] for v in HOSTILE + HARMLESS]))
    book = load_workbook(io.BytesIO(data))
    cells = [row[0] for row in book.active.iter_rows(min_row=2)]
    assert [c.value for c in cells] == [*EXPECTED, 42]
    assert all(c.data_type != "f" for c in cells)
