"""Dashboards and exports (issue 19): /dashboard, and CSV / Excel of its tables, the case list, the queues and
the agreed measures.

| route | permission |
| --- | --- |
| GET /dashboard | signed in; numbers over the cases the viewer sees (service/dashboards) |
| GET /dashboard/export.csv, .xlsx ?table= | the same table as on the page |
| GET /dashboard/measures.csv, .xlsx | agreed measures of the cases seen in FULL |
| GET /cases/export.csv, .xlsx | the case list (visible_cases_clause; risk level where FULL) |
| GET /queue/export.csv, .xlsx ?tab= | one queue tab, every open task in it |

Filters are the query string (`program`, `call`, `institution`, `from`, `to`; the case list also `status`,
`q`; the queues `tab`, `program`, `q`). Exports have Japanese headers and labels unless `lang=en`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.roles import FA_ROLES
from ..dashboards import TABLES, Filters, exports
from ..dashboards.queries import agreed_measures, dashboard_view
from ..errors import N_, NotFound
from ..queues import queries as queues
from ..wording import labels
from .blueprint import services

bp = Blueprint("dashboard", __name__)

# the roles the navigation offers the dashboard to (anyone signed in may open it: it counts their own cases)
DASHBOARD_ROLES = (*FA_ROLES, "security_officer", "institution_admin", "auditor")

CLASSIFICATIONS = {"exact": N_("Exact match"), "probable": N_("Probable match"), "possible": N_("Possible match")}
DECISIONS = {"pending": N_("Not yet decided"), "confirmed_match": N_("Confirmed match"),
             "false_positive": N_("False positive")}
MEASURE_STATUSES = {"implemented": N_("Implemented"), "in_progress": N_("In progress"),
                    "not_implemented": N_("Not implemented"), "no_longer_needed": N_("No longer needed")}


def has_dashboard(actor) -> bool:
    return bool(actor.roles & set(DASHBOARD_ROLES))


def _measure_names(session) -> dict[str, tuple[str, str]]:
    from ..dashboards.queries import measure_names

    return measure_names(session)


def show(kind: str, value, names: dict | None = None) -> str:
    """A table value as words in the current language (what the page and the exports show)."""
    if value is None or value == "":
        return "—" if kind not in ("number", "days") else ""
    if kind == "name":
        return labels.local(*value)
    if kind == "status":
        return labels.pick(value, labels.STATUSES)
    if kind == "stage":
        return labels.pick(value, labels.STAGES)
    if kind == "outcome":
        return labels.pick(value, labels.OUTCOMES)
    if kind == "risk":
        return labels.pick(value, labels.RISK_LEVELS)
    if kind == "classification":
        return _(CLASSIFICATIONS[value]) if value in CLASSIFICATIONS else str(value)
    if kind == "decision":
        return _(DECISIONS[value]) if value in DECISIONS else str(value)
    if kind == "measure":
        name = (names or {}).get(value)
        return f"{value} {labels.local(*name)}" if name else str(value)
    if kind == "date":
        return exports.cell(value).strftime("%Y-%m-%d")
    return str(value)


def _export_value(kind: str, value, names):
    """Numbers stay numbers in the files; the rest as shown."""
    if kind in ("number", "days"):
        return value
    return show(kind, value, names)


def _filters() -> Filters:
    return Filters.from_args(request.args)


@bp.get("/dashboard")
@login_required
def dashboard():
    """Counts over the cases the viewer may see, narrowed by the filters in the query string."""
    actor = current_user.actor
    filters = _filters()
    view = dashboard_view(services(), actor, filters)
    return render_template("dashboards/dashboard.html", tables=view["tables"], filters=filters,
                           options=view["options"], names=view["names"], show=show, args=filters.as_args())


def _lang() -> str:
    return "en" if request.args.get("lang") == "en" else "ja"


def _send(fmt: str, filename: str, title: str, header_and_rows) -> Response:
    """Stream an export: `header_and_rows(session)` returns the header and a row iterator, read as the file is
    sent (the database session stays open until the last row).

    Each chunk is made inside an application context with the export's language forced, entered and left
    around that one step: a context held open across `yield` (stream_with_context) would stay pushed in
    whatever runs between the chunks."""
    lang = _lang()
    app = current_app._get_current_object()
    svc = services()

    def generate():
        inner = exports.export_chunks(svc, fmt, str(title), header_and_rows)
        try:
            while True:
                with app.app_context(), force_locale(lang):
                    chunk = next(inner, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            inner.close()

    mimetype = exports.XLSX if fmt == "xlsx" else "text/csv"
    response = Response(generate(), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/dashboard/export.csv", endpoint="table_export", defaults={"fmt": "csv"})
@bp.get("/dashboard/export.xlsx", endpoint="table_export", defaults={"fmt": "xlsx"})
@login_required
def table_export(fmt: str):
    key = request.args.get("table", "")
    if key not in TABLES:
        raise NotFound("no such dashboard table")
    actor = current_user.actor
    filters = _filters()

    def produce(session):
        table = TABLES[key](session, actor, filters)
        names = _measure_names(session)
        header = [_(c.label) for c in table.columns]
        rows = ([_export_value(c.kind, v, names) for c, v in zip(table.columns, row, strict=True)]
                for row in table.rows)
        return header, rows

    return _send(fmt, f"tejun-{key}", key, produce)


@bp.get("/dashboard/measures.csv", endpoint="measures_export", defaults={"fmt": "csv"})
@bp.get("/dashboard/measures.xlsx", endpoint="measures_export", defaults={"fmt": "xlsx"})
@login_required
def measures_export(fmt: str):
    """Every agreed measure (cases the viewer sees in FULL) with the status of the latest follow-up report."""
    actor = current_user.actor
    filters = _filters()

    def produce(session):
        header = [_("Case"), _("Title"), _("Programme"), _("Institution"), _("Measure code"), _("Measure"),
                  _("Target"), _("Owner"), _("Due date"), _("Status"), _("Reported on")]
        rows = ((ref, title, program, labels.local(org, org_en), code, labels.local(name, name_en) if name else "",
                 target, owner, due, _(MEASURE_STATUSES[status]) if status in MEASURE_STATUSES else (status or ""),
                 reported)
                for ref, title, program, org, org_en, code, name, name_en, target, owner, due, status, reported
                in exports.stream(session, agreed_measures(session, actor, filters)))
        return header, rows

    return _send(fmt, "tejun-agreed-measures", "measures", produce)


@bp.get("/cases/export.csv", endpoint="cases_export", defaults={"fmt": "csv"})
@bp.get("/cases/export.xlsx", endpoint="cases_export", defaults={"fmt": "xlsx"})
@login_required
def cases_export(fmt: str):
    """The case list as /cases shows it (status and search as there, and the dashboard filters)."""
    actor = current_user.actor
    filters = _filters()
    status = request.args.get("status") or None
    if status not in (None, "running", "completed", "error"):
        status = None
    search = (request.args.get("q") or "").strip()[:100] or None

    def produce(session):
        header = [_("Case"), _("Title"), _("Programme code"), _("Programme"), _("Call code"), _("Institution"),
                  _("Stage"), _("Status"), _("Outcome"), _("Risk level"), _("Opened"), _("Last change")]
        rows = ((ref, title, pcode, labels.local(ptitle, ptitle_en) if pcode else "", ccode,
                 labels.local(org, org_en), show("stage", stage), show("status", st), show("outcome", outcome),
                 risk or "", created, updated)
                for ref, title, pcode, ptitle, ptitle_en, ccode, org, org_en, stage, st, outcome, risk, created,
                updated in exports.stream(session, exports.case_rows(actor, filters, status=status,
                                                                      search=search)))
        return header, rows

    return _send(fmt, "tejun-cases", "cases", produce)


@bp.get("/queue/export.csv", endpoint="queue_export", defaults={"fmt": "csv"})
@bp.get("/queue/export.xlsx", endpoint="queue_export", defaults={"fmt": "xlsx"})
@login_required
def queue_export(fmt: str):
    """One tab of the user's task list (mine, team, org, overdue): every open task in it."""
    actor = current_user.actor
    tab = request.args.get("tab", "mine")
    if tab not in queues.TABS:
        tab = "mine"
    program_id = request.args.get("program", type=int)
    search = (request.args.get("q") or "").strip()[:100] or None

    def produce(session):
        header = [_("Task"), _("Case"), _("Case title"), _("Stage"), _("Organization"), _("Role"), _("Assignee"),
                  _("Priority"), _("Due"), _("Created")]
        rows = ((labels.local(title, title_en), ref, case_title, show("stage", stage), labels.local(org, org_en),
                 labels.pick(role, labels.ROLES), (name or username or ""), labels.pick(priority, labels.PRIORITIES),
                 due, created)
                for title, title_en, ref, case_title, stage, org, org_en, role, name, username, priority, due, created
                in exports.stream(session, exports.queue_rows(actor, tab, program_id=program_id, search=search)))
        return header, rows

    return _send(fmt, f"tejun-tasks-{tab}", tab, produce)
