"""Importing a list file as a new, immutable snapshot (then every open case is screened against it).

`read_entries` turns a published file into entries through its source's mapping (sources.py): CSV
(UTF-8, with or without BOM, or Shift_JIS/CP932 as Excel in Japan writes it) or Excel .xlsx (openpyxl, first
worksheet). The header row is looked for among the first 30 rows, so title rows above it (METI puts the
list's name and revision date there) are fine; a date found in those rows is the list's date unless one is
given.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..clock import JST
from ..errors import InvalidRequest
from ..eventlog import chain
from ..models import Organization, ScreeningEntry, ScreeningSnapshot
from ..services import Services
from ..unit_of_work import unit_of_work
from . import index_store
from .sources import SOURCES, ParsedEntry, Source, header_key, map_row

HEADER_SCAN_ROWS = 30
_DATE = re.compile(r"(20\d{2}|19\d{2})\s*[年/\-.]\s*(\d{1,2})\s*[月/\-.]\s*(\d{1,2})")
_REIWA = re.compile(r"令和\s*(\d{1,2}|元)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


@dataclass
class ParsedList:
    entries: list[ParsedEntry]
    skipped_rows: int
    detected_date: date | None
    columns: dict[str, str]  # field -> the header it was read from


@dataclass
class ImportReport:
    snapshot_id: int
    source: str
    list_date: date
    checksum: str
    row_count: int
    skipped_rows: int
    unchanged: bool
    columns: dict[str, str] = field(default_factory=dict)
    rescreen: object | None = None


def _rows_of(path: Path, raw: bytes) -> list[list[object]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "cp932"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            return [list(row) for row in csv.reader(io.StringIO(text, newline=""))]
        raise InvalidRequest(f"{path.name}: not UTF-8 or Shift_JIS text")
    raise InvalidRequest(f"{path.name}: only .csv and .xlsx files can be imported")


def _date_in(values) -> date | None:
    for value in values:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = str(value or "")
        found = _REIWA.search(text)
        if found:
            year = 1 if found.group(1) == "元" else int(found.group(1))
            try:
                return date(2018 + year, int(found.group(2)), int(found.group(3)))
            except ValueError:
                continue
        found = _DATE.search(text)
        if found:
            try:
                return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
            except ValueError:
                continue
    return None


def _find_header(source: Source, rows: list[list[object]]) -> tuple[int, dict[str, int], dict[str, str]]:
    wanted = {name: [header_key(h) for h in headers] for name, headers in source.columns.items()}
    for number, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cells = [header_key(c) for c in row]
        if not any(h in cells for h in wanted["name"]):
            continue
        positions, headers = {}, {}
        for name, candidates in wanted.items():
            for candidate in candidates:
                if candidate in cells:
                    positions[name] = cells.index(candidate)
                    headers[name] = str(row[positions[name]]).replace("\n", " ")
                    break
        return number, positions, headers
    looked_for = ", ".join(repr(h) for h in source.columns["name"])
    raise InvalidRequest(f"no header row with a name column ({looked_for}) in the first {HEADER_SCAN_ROWS} rows")


def read_entries(source: Source, path: Path, raw: bytes | None = None) -> ParsedList:
    path = Path(path)
    if path.suffix.lower() not in source.formats:
        raise InvalidRequest(f"{source.code} is imported from {' or '.join(source.formats)} files, not {path.name}")
    raw = path.read_bytes() if raw is None else raw
    rows = _rows_of(path, raw)
    header_row, positions, headers = _find_header(source, rows)
    entries, skipped, seen = [], 0, set()
    for row in rows[header_row + 1:]:
        values = {name: (row[i] if i < len(row) else None) for name, i in positions.items()}
        if all(v in (None, "") for v in row):
            continue
        entry = map_row(source, values)
        if entry is None or entry.key in seen:
            skipped += 1
            continue
        seen.add(entry.key)
        entries.append(entry)
    detected = _date_in(v for r in rows[:header_row] for v in r) or _date_in([path.stem])
    return ParsedList(entries, skipped, detected, headers)


def import_list(
    svc: Services,
    actor: Actor,
    source_code: str,
    path: Path | str,
    *,
    list_date: date | None = None,
    organization_code: str | None = None,
    label: str | None = None,
    rescreen: bool = True,
) -> ImportReport:
    """Store the file as a snapshot of its list; then screen every open case's subjects against it."""
    source = SOURCES.get(source_code)
    if source is None:
        raise InvalidRequest(f"unknown list {source_code!r}; known: {', '.join(SOURCES)}")
    path = Path(path)
    raw = path.read_bytes()
    checksum = hashlib.sha256(raw).hexdigest()
    parsed = read_entries(source, path, raw)
    if not parsed.entries:
        raise InvalidRequest(f"{path.name}: no entries found under the header row")
    with unit_of_work(svc) as session:
        organization_id = _owner(session, source, organization_code)
        latest = latest_snapshot(session, source.code, organization_id)
        if latest is not None and latest.checksum == checksum:
            return ImportReport(latest.id, source.code, latest.list_date, checksum, latest.row_count,
                                latest.skipped_rows, unchanged=True, columns=parsed.columns)
        now = clock.now()
        snapshot = ScreeningSnapshot(
            source=source.code, organization_id=organization_id, label=(label or source.title)[:255],
            list_date=list_date or parsed.detected_date or now.astimezone(JST).date(),
            file_name=path.name[:255], checksum=checksum, row_count=len(parsed.entries),
            skipped_rows=parsed.skipped_rows, imported_by_id=actor.user_id, imported_by_name=actor.username,
            imported_at=now,
        )
        session.add(snapshot)
        session.flush()
        session.execute(insert(ScreeningEntry), [
            {"snapshot_id": snapshot.id, "entry_key": e.key, "content_hash": e.content_hash,
             "entity_type": e.entity_type, "name": e.name, "aliases": list(e.aliases),
             "addresses": list(e.addresses), "countries": list(e.countries), "programs": list(e.programs),
             "remarks": e.remarks}
            for e in parsed.entries
        ])
        index_store.store(session, snapshot.id)  # once, for every process (index_store.py)
        chain.append(
            session, stream=chain.SYSTEM_STREAM, action="screening_list_imported", actor_id=actor.user_id,
            actor_name=actor.username,
            data={"snapshot_id": snapshot.id, "source": source.code, "organization_id": organization_id,
                  "list_date": snapshot.list_date.isoformat(), "checksum": checksum, "file_name": snapshot.file_name,
                  "row_count": snapshot.row_count, "skipped_rows": snapshot.skipped_rows, "columns": parsed.columns},
        )
        report = ImportReport(snapshot.id, source.code, snapshot.list_date, checksum, snapshot.row_count,
                              snapshot.skipped_rows, unchanged=False, columns=parsed.columns)
    if rescreen:
        from .rescreen import rescreen_open_cases

        report.rescreen = rescreen_open_cases(svc, report.snapshot_id)
    return report


def _owner(session: Session, source: Source, organization_code: str | None) -> int | None:
    if not source.per_institution:
        if organization_code:
            raise InvalidRequest(f"{source.code} is a published list: it belongs to no institution")
        return None
    if not organization_code:
        raise InvalidRequest(f"{source.code} needs the institution that keeps it (--organization CODE)")
    organization = session.scalars(select(Organization).where(Organization.code == organization_code)).first()
    if organization is None or organization.kind != "institution":
        raise InvalidRequest(f"no institution with code {organization_code!r}")
    return organization.id


def latest_snapshot(session: Session, source: str, organization_id: int | None) -> ScreeningSnapshot | None:
    owner = (ScreeningSnapshot.organization_id == organization_id if organization_id is not None
             else ScreeningSnapshot.organization_id.is_(None))
    return session.scalars(
        select(ScreeningSnapshot).where(ScreeningSnapshot.source == source, owner)
        .order_by(ScreeningSnapshot.id.desc()).limit(1)
    ).first()
