"""Auditor pages: a case's recorded history, the case as it stood after any event, integrity, exports.

| route | what |
| --- | --- |
| GET /audit/                                     | cases whose history the user may read (search) |
| GET /audit/cases/<id>?at=<seq>[&process=<id>]   | the history with a step control: the case after event `seq`, |
|                                                 | what it changed, diagram markers, integrity, exports |
| GET /audit/cases/<id>/diagram/<v>/<process>.bpmn | a diagram of a model version the case ran on |
| GET /audit/cases/<id>/report.html               | the printable history report |
| GET /audit/cases/<id>/dossier.zip               | the dossier (events, model files, report, manifest) |

Who: auditors in scope and the case's own funding agency and lead institution staff, i.e. `case_view` FULL
(read-only: nothing here changes a case). Every read an auditor makes anywhere in tejun (these pages, the
case and task pages, the API) is recorded on their stream `user:<id>` as an `audit_read` event, before the
answer leaves: when the record cannot be written, the answer is refused.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user, login_required

from ..audit import pages as audit_pages
from ..audit.presentation import action_label
from ..audit.reads import record_read
from ..auth.permissions import may_read_history
from ..wording import labels
from ..wording.render import duration_text, moment_text, person_name

log = logging.getLogger("tejun.audit")
bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")


def _services():
    from flask import current_app

    return current_app.extensions["tejun"]


@bp.get("/")
@login_required
def index():
    actor = current_user.actor
    if not may_read_history(actor):
        abort(404)
    search = (request.args.get("q") or "").strip()
    page, cases = audit_pages.case_list(_services(), actor, search or None, request.args.get("page", 1, type=int))
    return render_template("audit/index.html", cases=cases, page=page, search=search)


@bp.get("/cases/<int:case_id>")
@login_required
def history(case_id: int):
    found = audit_pages.history(_services(), current_user.actor, case_id, request.args.get("at", type=int),
                                request.args.get("process"), labels.lang())
    case = found["case"]
    if found["failed"] is not None:
        return render_template("audit/history.html", case=case, failed=found["failed"], rows=[], moment=None,
                               integrity=found["integrity"]), 200
    moment, view, changes = found["moment"], found["view"], found["changes"]
    events = moment["events"]
    process_id = found["process_id"]
    diagram = {
        "xml_url": url_for("audit.diagram", case_id=case.id, version_id=found["version_id"], process_id=process_id),
        "completed": view["completed"], "active": view["active"], "process_id": process_id,
    }
    waiting = [{**w, "what": _waiting_kind(w["kind"]), "detail": _waiting_detail(w)} for w in found["waiting"]]
    next_timer = datetime.fromisoformat(view["next_timer_at"]) if view["next_timer_at"] else None
    current_title = found["current_title"]
    return render_template(
        "audit/history.html", case=case, failed=None, moment=moment, view=view, seq=found["seq"],
        last=events[-1]["seq"], rows=found["rows"], current=moment["event"], tasks=found["tasks"], waiting=waiting,
        changes=changes, changed_steps=found["changed_steps"], opened=found["opened"], closed=found["closed"],
        changed_data=_changed_data(changes, found["titles"]), changed_fields=_changed_fields(changes),
        next_timer=next_timer, case_data=found["case_data"], diagram=diagram, links=found["links"],
        integrity=found["integrity"], replay_check=found["replay_check"], latest=found["latest"],
        # the page names only the current event's step by this
        title_of=lambda _element_id: current_title, action_label=action_label, person_name=person_name,
    )


def _changed_fields(changes: dict) -> list[tuple[str, str, str]]:
    """(label, before, after) of the case's summary fields an event changed, in the page's language."""
    from flask_babel import gettext as _

    named = {
        "status": (_("Status"), labels.STATUSES), "stage": (_("Stage"), labels.STAGES),
        "outcome": (_("Outcome"), labels.OUTCOMES), "risk_level": (_("Risk level"), labels.RISK_LEVELS),
        "error_message": (_("Error"), {}), "model_hash": (_("Model version"), {}),
    }
    rows = []
    for key, (before, after) in changes["fields"].items():
        label, table = named.get(key, (key, {}))
        shown = [labels.pick(v, table) if v is not None else "—" for v in (before, after)]
        if key == "model_hash":
            shown = [v[:16] for v in shown]
        rows.append((label, *shown))
    return rows


def _waiting_kind(kind: str) -> str:
    from flask_babel import gettext as _

    # other catchers by their engine class (SignalEventDefinition, ConditionalEventDefinition, …): never the code
    return {"timer": _("a deadline or schedule"), "message": _("a case event"),
            "SignalEventDefinition": _("a signal within the case"),
            "ConditionalEventDefinition": _("a condition on the case data")}.get(kind, _("an event"))


def _waiting_detail(waiting: dict) -> str:
    """What a waiting element waits for, in words: a message by its label, a timer's duration or date."""
    detail = waiting.get("detail")
    if not isinstance(detail, str) or not detail:
        return ""
    if waiting.get("kind") == "message":
        return labels.pick(detail, labels.MESSAGES)
    return duration_text(detail) or moment_text(detail) or detail  # a duration, else a date and time in JST


def _in_words(node) -> str:
    """A described value on one line: "name: value; name: value", list items separated by " / "."""
    if node.kind == "object":
        return "; ".join(f"{label}: {_in_words(child)}" for label, child in node.fields)
    if node.kind == "list":
        return " / ".join(_in_words(child) for child in node.items) or "—"
    return node.text or "—"


def _changed_data(changes: dict, titles: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, before, after) of the case data an event changed; the names catalog's internal variables left out.
    Plain values as the data panels show them (codes, durations, times in JST), structures in brief."""
    from ..audit.presentation import without_internal
    from ..wording.render import describe

    def shown(key, value) -> str:
        if value is None:
            return "—"
        node = describe(None, value, titles=titles, key=key)
        if isinstance(value, dict | list):  # a structure in brief, in words: its fields named, its codes labelled
            text = _in_words(node)
            return text if len(text) <= 160 else text[:160] + "…"
        return node.text

    changed = without_internal(changes["data"])
    return [(titles.get(key, key), shown(key, before), shown(key, after)) for key, (before, after) in changed.items()]


@bp.get("/cases/<int:case_id>/diagram/<int:version_id>/<process_id>.bpmn")
@login_required
def diagram(case_id: int, version_id: int, process_id: str):
    xml = audit_pages.diagram_xml(_services(), current_user.actor, case_id, version_id, process_id, labels.lang())
    if xml is None:
        abort(404)
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600",
                                                              "Vary": "Cookie, Accept-Language"})


@bp.get("/cases/<int:case_id>/report.html")
@login_required
def report(case_id: int):
    from ..audit.dossier import REPORT

    _name, content = audit_pages.dossier(_services(), current_user.actor, case_id, labels.lang())
    return Response(_dossier_file(content, REPORT), mimetype="text/html")


@bp.get("/cases/<int:case_id>/dossier.zip")
@login_required
def dossier(case_id: int):
    name, content = audit_pages.dossier(_services(), current_user.actor, case_id, labels.lang())
    return Response(content, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _dossier_file(content: bytes, name: str) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read(name)


# -- every read an auditor makes is recorded ---------------------------------------------------------------
READ_METHODS = ("GET", "HEAD")


@bp.after_app_request
def record_auditor_reads(response: Response) -> Response:
    """An `audit_read` event on the auditor's own stream for each successful read, wherever it was made."""
    if request.method not in READ_METHODS or not 200 <= response.status_code < 300:
        return response
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static") or endpoint in ("healthz", "readyz", "metrics_endpoint"):
        return response
    if not getattr(current_user, "is_authenticated", False) or not current_user.actor.has("auditor"):
        return response
    actor = current_user.actor
    args = dict(request.view_args or {})
    case_id = args.get("case_id") if isinstance(args.get("case_id"), int) else None
    data = {"method": request.method, "path": request.full_path.rstrip("?"), "endpoint": endpoint,
            "status": response.status_code, "args": {k: str(v) for k, v in args.items()}}
    try:
        if record_read(_services(), actor, case_id, data):
            return response
    except Exception:
        log.exception("could not record an auditor's read of %s", request.path)
    # the read could not be recorded: it does not leave
    return Response("the read could not be recorded in the audit log; try again", status=503,
                    mimetype="text/plain")
