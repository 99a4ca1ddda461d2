"""The per-call file a funding agency reconciles with e-Rad: one row per project case of the call.

CSV, UTF-8 with a byte-order mark (so that Excel opens it as UTF-8), CRLF line ends, a header row (Japanese
by default, English with `lang=en`); the columns are documented in docs/erad.md. Who may have it: whoever
sees every case of the call's funding agency in full (`permissions.case_scope` for a case of that agency:
its FA staff, auditors in scope); anyone else who can see the call gets 403.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.actor import Actor
from ..auth.permissions import View, case_scope, full_view_clause
from ..cases.queries import restore
from ..errors import N_, Forbidden, NotFound
from ..models import Call, Case, Organization

# (key, Japanese header, English header)
COLUMNS = (
    ("call_code", "公募コード", "call_code"),
    ("case_reference", "案件番号", "case_reference"),
    ("erad_project_number", "e-Rad課題番号", "erad_project_number"),
    ("title", "研究課題名", "title"),
    ("lead_institution", "研究代表機関", "lead_institution"),
    ("pi_name", "研究代表者氏名", "pi_name"),
    ("pi_erad_researcher_number", "研究代表者e-Rad研究者番号", "pi_erad_researcher_number"),
    ("member_erad_researcher_numbers", "研究者番号（チーム）", "member_erad_researcher_numbers"),
    ("status", "状況", "status"),
    ("risk_level", "リスクレベル", "risk_level"),
    ("decision_date", "決定日", "decision_date"),
)
# what a spreadsheet would take for a formula (OWASP: CSV injection); such cells get a leading apostrophe
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CallExport:
    call: Call
    rows: list[dict[str, str]]

    @property
    def filename(self) -> str:
        return f"erad-{self.call.code}.csv"


def may_export(actor: Actor, call: Call) -> bool:
    """Whoever sees a case of the call's funding agency in full because of that agency (not as its lead)."""
    probe = Case(funding_agency_id=call.program.funding_agency_id, lead_institution_id=None)
    return case_scope(actor, probe).view >= View.FULL


def call_export(session: Session, actor: Actor, call_id: int) -> CallExport:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(N_("no such call"))
    if not may_export(actor, call):
        raise Forbidden(N_("only the funding agency's staff and auditors may export a call for e-Rad"))
    cases = session.scalars(
        select(Case).where(Case.call_id == call.id, Case.kind == "application", full_view_clause(actor))
        .order_by(Case.reference)
    ).all()
    leads = dict(session.execute(select(Organization.id, Organization.name).where(
        Organization.id.in_({c.lead_institution_id for c in cases if c.lead_institution_id}))).all()) if cases else {}
    return CallExport(call, [_row(session, call, case, leads) for case in cases])


def _row(session: Session, call: Call, case: Case, leads: dict[int, str]) -> dict[str, str]:
    flow = restore(session, case)
    members = [m for m in (flow.lookup("members") or []) if isinstance(m, dict)]
    partners = [p for p in (flow.lookup("partners") or []) if isinstance(p, dict)]
    pi = next((m for m in members if m.get("role") == "pi"), {})
    team = [m for m in members if m is not pi]
    for partner in partners:
        team += [m for m in partner.get("members") or [] if isinstance(m, dict)]
    numbers = [str(m["erad_researcher_number"]) for m in team if m.get("erad_researcher_number")]
    decision = flow.lookup("fa_decision")
    decided_on = decision.get("decided_on") if isinstance(decision, dict) else None
    detail = case.outcome if case.status == "completed" and case.outcome else case.stage
    return {
        "call_code": call.code,
        "case_reference": case.reference,
        "erad_project_number": case.erad_project_number or "",
        "title": case.title,
        "lead_institution": leads.get(case.lead_institution_id, ""),
        "pi_name": str(pi.get("name") or ""),
        "pi_erad_researcher_number": str(pi.get("erad_researcher_number") or ""),
        "member_erad_researcher_numbers": ";".join(numbers),
        "status": f"{case.status}:{detail}" if detail else case.status,
        "risk_level": case.risk_level or "",
        "decision_date": str(decided_on or ""),
    }


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(export: CallExport, lang: str = "ja") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([en if lang == "en" else ja for _key, ja, en in COLUMNS])
    for row in export.rows:
        writer.writerow([_cell(row[key]) for key, _ja, _en in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def call_csv(svc, actor: Actor, call_id: int, lang: str = "ja") -> tuple[str, bytes]:
    """The call's e-Rad reconciliation file as (file name, CSV bytes), read in a session of its own."""
    with svc.db.reader() as session:
        found = call_export(session, actor, call_id)
        return found.filename, to_csv(found, lang)
