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
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user, login_required

from .. import clock
from ..audit.presentation import Describer, action_label, timeline
from ..audit.reads import record_read, versions_of
from ..audit.replay import ReplayFailed, first_difference, point_in_time, stored_state
from ..auth.permissions import View, case_view, may_read_history
from ..cases import queries
from ..cases.history import diagram_links, model_map
from ..designer.store import version_files
from ..eventlog.anchors import latest_anchor, load_anchors
from ..eventlog.chain import case_stream
from ..eventlog.verify import verify
from ..wording import labels
from ..wording.render import duration_text, moment_text, person_name

log = logging.getLogger("tejun.audit")
bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")


def _services():
    from flask import current_app

    return current_app.extensions["tejun"]


def _readable_case(session, case_id: int):
    return queries.get_case(session, current_user.actor, case_id, View.FULL)[0]


@bp.get("/")
@login_required
def index():
    actor = current_user.actor
    if not may_read_history(actor):
        abort(404)
    search = (request.args.get("q") or "").strip()
    with _services().db.reader() as session:
        page = queries.list_cases(session, actor, search=search or None, page=request.args.get("page", 1, type=int))
        cases = [c for c in page.items if case_view(actor, c) >= View.FULL]
        return render_template("audit/index.html", cases=cases, page=page, search=search)


@bp.get("/cases/<int:case_id>")
@login_required
def history(case_id: int):
    svc = _services()
    lang = labels.lang()
    with svc.db.reader() as session:
        case = _readable_case(session, case_id)
        seq = request.args.get("at", type=int)
        try:
            moment = point_in_time(session, case, seq, time_limit=svc.settings.script_time_limit)
        except ReplayFailed as exc:
            return render_template("audit/history.html", case=case, failed=str(exc), rows=[], moment=None,
                                   integrity=_integrity(session, case)), 200
        events = moment["events"]
        seq = moment["event"]["seq"]
        view = moment["view"]
        latest = seq == events[-1]["seq"]
        replay_check = None
        if latest and not moment["differences"]:
            # the replayed state after the last event against what is stored: the same check as `audit replay`
            moment["replay"].finish()
            replay_check = {"difference": (
                str(moment["replay"].differences[0]) if moment["replay"].differences else
                first_difference(stored_state(session, case, svc.settings.script_time_limit),
                                 moment["replay"].final_state()))}
        describer = Describer(session, case, lang)
        process_id = request.args.get("process") or case.process_id
        version_id = view["model_version_id"] or case.model_version_id
        found = model_map(session, version_id, case.process_id)
        if process_id not in found.process_files:
            process_id = case.process_id
        diagram = {
            "xml_url": url_for("audit.diagram", case_id=case.id, version_id=version_id, process_id=process_id),
            "completed": view["completed"], "active": view["active"], "process_id": process_id,
        }
        tasks = [
            {**task, "title": describer.title(view["model_hash"], task["element_id"]),
             "node": describer.data(view["model_hash"], task["element_id"], task["data"])}
            for task in view["tasks"]
        ]
        waiting = [{**w, "title": describer.title(view["model_hash"], w["element_id"]),
                    "what": _waiting_kind(w["kind"]), "detail": _waiting_detail(w)} for w in view["waiting"]]
        next_timer = datetime.fromisoformat(view["next_timer_at"]) if view["next_timer_at"] else None
        changes = moment["changes"]
        # steps by their names (unnamed gateways and joins are not listed)
        changed_steps = [t for t in (describer.title(view["model_hash"], e) for e in changes["completed"]) if t]
        opened = [t for t in (describer.title(view["model_hash"], e) for e in changes["opened"]) if t]
        closed = [t for t in (describer.title(moment["before"]["model_hash"], e) for e in changes["closed"]) if t]
        return render_template(
            "audit/history.html", case=case, failed=None, moment=moment, view=view, seq=seq, last=events[-1]["seq"],
            rows=timeline(session, case, events, lang), current=moment["event"], tasks=tasks, waiting=waiting,
            changes=changes, changed_steps=changed_steps, opened=opened, closed=closed,
            changed_data=_changed_data(changes, describer.titles(view["model_hash"])),
            changed_fields=_changed_fields(changes), next_timer=next_timer,
            case_data=describer.plain(view["model_hash"], view["data"]), diagram=diagram,
            links=[{"process_id": link.process_id, "name": describer.title(view["model_hash"], link.element_id)
                    or link.name} for link in diagram_links(found, process_id)],
            integrity=_integrity(session, case), replay_check=replay_check, latest=latest,
            title_of=lambda element_id: describer.title(view["model_hash"], element_id), action_label=action_label,
            person_name=person_name,
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


def _changed_data(changes: dict, titles: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, before, after) of the case data an event changed; the names catalog's internal variables left out.
    Plain values as the data panels show them (codes, durations, times in JST), structures in brief."""
    from ..audit.presentation import without_internal
    from ..audit.replay import brief
    from ..wording.render import describe

    def shown(key, value) -> str:
        if value is None:
            return "—"
        if isinstance(value, dict | list):
            return brief(value)
        return describe(None, value, titles=titles, key=key).text

    changed = without_internal(changes["data"])
    return [(titles.get(key, key), shown(key, before), shown(key, after)) for key, (before, after) in changed.items()]


def _integrity(session, case) -> dict:
    """The case stream checked now (every hash), and where the latest anchor stands for it."""
    anchors = load_anchors(session)
    report = verify(session.connection(), stream=case_stream(case.id), anchors=anchors)
    anchor = latest_anchor(session)
    anchored_seq = None
    for item in reversed(anchors):
        entry = next((seq for name, seq, _h in item["changed"] if name == case_stream(case.id)), None)
        if entry is not None:
            anchored_seq = entry
            break
    return {
        "ok": report.ok, "problems": [str(p) for p in report.problems[:5]], "events": report.events,
        "anchor": anchor, "anchored_seq": anchored_seq,
        "anchor_at": datetime.fromisoformat(anchor["created_at"]) if anchor else None,
    }


@bp.get("/cases/<int:case_id>/diagram/<int:version_id>/<process_id>.bpmn")
@login_required
def diagram(case_id: int, version_id: int, process_id: str):
    with _services().db.reader() as session:
        case = _readable_case(session, case_id)
        if version_id not in versions_of(session, case):
            abort(404)
        found = model_map(session, version_id, case.process_id)
        name = found.process_files.get(process_id)
        xml = version_files(session, version_id).get(name) if name else None
        if xml is None:
            abort(404)
        from ..designer import names
        from .cases import viewer_xml

        # names in the reader's language: the names catalog's first, then the forms' titles and the roles
        xml = viewer_xml(session, version_id, case.process_id, names.localize_xml(xml, labels.lang(), model=name))
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600",
                                                              "Vary": "Cookie, Accept-Language"})


@bp.get("/cases/<int:case_id>/report.html")
@login_required
def report(case_id: int):
    from ..audit.dossier import REPORT
    from ..audit.dossier_export import export_dossier

    with _services().db.reader() as session:
        case = _readable_case(session, case_id)
        content = _dossier_file(export_dossier(session, case, created_by=current_user.actor.username,
                                               lang=labels.lang()), REPORT)
    return Response(content, mimetype="text/html")


@bp.get("/cases/<int:case_id>/dossier.zip")
@login_required
def dossier(case_id: int):
    from ..audit.dossier_export import export_dossier

    with _services().db.reader() as session:
        case = _readable_case(session, case_id)
        content = export_dossier(session, case, created_by=current_user.actor.username, lang=labels.lang())
        name = f"{case.reference}-dossier-{clock.now().astimezone(UTC):%Y%m%dT%H%M%SZ}.zip"
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
