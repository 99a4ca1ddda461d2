"""Writes the sample list files of this folder (fictional entries in the layouts of the real lists).

    .venv/bin/python tests/data/screening/make_samples.py

The CSV files are kept as text in the repository; the Excel file is written by openpyxl from the rows below.
"""

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent

# METI's End User List (外国ユーザーリスト): two title rows, a blank row, a bilingual header, one row per entity;
# aliases one per line in their cell, types of concern as letters (B biological, C chemical, M missile,
# N nuclear).
METI_TITLE = ["外国ユーザーリスト End User List", "令和8年10月1日改正 Revised on October 1, 2026"]
METI_HEADER = ["No.", "国名・地域名\nCountry or Region", "企業名・組織名\nCompany or Organization",
               "別名\nAlso Known As", "懸念区分\nType of WMD"]
METI_ROWS = [
    [1, "Ruritania", "Tokyo Denshi Co., Ltd.", "- Toukyou Denshi Kabushiki Kaisha\n- TD Electronics", "N, M"],
    [2, "Ruritania", "Strelsau Institute of Technology", "- SIT\n- Strelsau Gongye Daxue", "M"],
    [3, "Freedonia", "Freedonia Fictional Materials Research Institute", "", "B, C"],
    [4, "Sylvania", "Sylvania Aerospace University", "- シルバニア航空大学", "M"],
]


def write_meti(path: Path, rows=METI_ROWS, title=METI_TITLE) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "End User List"
    for line in title:
        sheet.append([line])
    sheet.append([])
    sheet.append(METI_HEADER)
    for cell in sheet[len(title) + 2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    for row in rows:
        sheet.append(row)
    workbook.save(path)


if __name__ == "__main__":
    write_meti(HERE / "meti_end_user_list.xlsx")
