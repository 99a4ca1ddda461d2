"""Exports: CSV and Excel writers that stream, and the row queries of the case list and the queues.

The writers take a header row and an iterable of rows and yield bytes as they go, so a large export never
sits whole in memory: CSV line by line, Excel through openpyxl's write-only workbook (rows go to a temporary
file as they are appended; the finished .xlsx, a zip archive that can only be completed at the end, is then
sent in chunks from that file).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session, aliased

from ..auth.actor import Actor
from ..auth.permissions import full_view_clause, visible_cases_clause
from ..models import Call, Case, Organization, Program, User, WorkItem
from ..queues.queries import tab_clause
from .filters import JST, Filters

# A UTF-8 byte-order mark first: Excel in Japanese Windows opens a .csv without one as Shift_JIS (CP932), which
# garbles every Japanese header and value; with the BOM it reads the file as UTF-8.
BOM = "\ufeff"
CHUNK = 64 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell(value):
    """A value as both writers put it: datetimes in JST without a zone (Excel has none), the rest as is."""
    if isinstance(value, datetime):
        return value.astimezone(JST).replace(tzinfo=None, microsecond=0)
    return value


def csv_stream(header: list[str], rows: Iterable[Iterable]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else _csv_text(cell(v)) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_text(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return _guarded(str(value))


# A cell starting with one of these is read as a formula by a spreadsheet (CSV / formula injection, OWASP): = + -
# @, and tab or carriage return before them (Excel skips them). Such text gets a leading apostrophe, which a
# spreadsheet shows as text; numbers written as text (-5, +81) stay as they are.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _guarded(text: str) -> str:
    return "'" + text if text[:1] in FORMULA_STARTS and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def xlsx_stream(title: str, header: list[str], rows: Iterable[Iterable]) -> Iterator[bytes]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    bold = Font(bold=True)
    heads = []
    for text in header:
        head = WriteOnlyCell(sheet, value=text)
        head.font = bold
        heads.append(head)
    sheet.append(heads)
    for row in rows:
        # openpyxl writes a string starting with "=" as a formula, and Excel makes one of + - @ once the cell
        # is edited or the sheet saved as CSV: guarded like the CSV
        sheet.append([_xlsx_value(cell(v)) for v in row])
    with tempfile.TemporaryFile() as out:
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk


def _xlsx_value(value):
    return _guarded(value) if isinstance(value, str) else value


def _sheet_title(title: str) -> str:
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    return title[:31] or "tejun"


# -- row queries ------------------------------------------------------------------------------------------
def case_rows(actor: Actor, filters: Filters, *, status: str | None = None, search: str | None = None):
    """The case list (same scope and filters as /cases), every row; the risk level only where the actor sees
    the case in FULL (as the list shows it)."""
    lead = aliased(Organization)
    where = [visible_cases_clause(actor), *filters.conditions()]
    if status:
        where.append(Case.status == status)
    if search:
        needle = f"%{search.strip()}%"
        where.append(or_(Case.reference.ilike(needle), Case.title.ilike(needle)))
    risk = case((full_view_clause(actor), Case.risk_level), else_=None)
    return (select(Case.reference, Case.title, Program.code, Program.title, Program.title_en, Call.code,
                   lead.name, lead.name_en, Case.stage, Case.status, Case.outcome, risk, Case.created_at,
                   Case.updated_at)
            .select_from(Case).outerjoin(Program, Program.id == Case.program_id)
            .outerjoin(Call, Call.id == Case.call_id).outerjoin(lead, lead.id == Case.lead_institution_id)
            .where(*where).order_by(Case.updated_at.desc(), Case.id.desc()))


def queue_rows(actor: Actor, tab: str, *, program_id: int | None = None, search: str | None = None):
    """Every open task of one queue tab (the tabs' own conditions), soonest due first."""
    org = aliased(Organization)
    where = [tab_clause(actor, tab)]
    if program_id:
        where.append(WorkItem.program_id == program_id)
    if search:
        needle = f"%{search.strip()}%"
        where.append(or_(WorkItem.case_reference.ilike(needle), WorkItem.case_title.ilike(needle),
                         WorkItem.title.ilike(needle), WorkItem.title_en.ilike(needle)))
    return (select(WorkItem.title, WorkItem.title_en, WorkItem.case_reference, WorkItem.case_title, WorkItem.stage,
                   org.name, org.name_en, WorkItem.role, User.display_name, User.username, WorkItem.priority,
                   WorkItem.due_at, WorkItem.created_at)
            .select_from(WorkItem).join(org, org.id == WorkItem.organization_id)
            .outerjoin(User, and_(User.id == WorkItem.assignee_id))
            .where(*where).order_by(WorkItem.due_at.asc().nulls_last(), WorkItem.id))


def stream(session: Session, statement, batch: int = 1000):
    """Rows of a statement as the database sends them (server-side cursor in batches)."""
    return session.execute(statement.execution_options(yield_per=batch))


def export_chunks(svc, fmt: str, title: str, header_and_rows) -> Iterator[bytes]:
    """The chunks of an export file (xlsx or csv): `header_and_rows(session)` returns the header and a row
    iterator, read as the file is sent; the read session of its own stays open until the last row."""
    with svc.db.reader(streaming=True) as session:
        header, rows = header_and_rows(session)
        yield from xlsx_stream(title, header, rows) if fmt == "xlsx" else csv_stream(header, rows)
