"""The case page and what it links to: the BPMN diagram's XML and evidence downloads.

| route | permission |
| --- | --- |
| GET /cases/<id>                         | `case_view` >= SUMMARY (else 404); what is shown depends on the view; |
|                                         | the actions panel offers the events the case waits for that one may send |
|                                         | a case in error offers a system administrator its restart (`retry_case`) |
| GET /cases/<id>/diagram/<process>.bpmn | `case_view` FULL, and the process belongs to the case's model |
| GET /attachments/<id>                   | `may_download_attachment` (else 404) |
"""

from __future__ import annotations

from flask import Response, abort, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from ..attachments import open_download
from ..auth.permissions import View
from ..cases import submissions
from ..cases import views as case_views
from ..wording import labels
from .blueprint import bp, services


@bp.get("/cases/<int:case_id>")
@login_required
def case(case_id: int):
    return render_case(case_id)


def render_case(case_id: int, action: dict | None = None) -> str:
    """The case page; `action` (name, errors, values) re-shows an actions-panel form that needs correcting."""
    actor = current_user.actor
    found = case_views.case_page(services(), actor, case_id, request.args.get("process"), labels.lang())
    case, scope, process_id = found["case"], found["scope"], found["process_id"]
    diagram = None
    if scope.full:  # the diagram's progress runs through every party's steps: full views only
        diagram = {
            "xml_url": url_for("web.case_diagram", case_id=case.id, process_id=process_id),
            "completed": found["completed"],
            "active": found["active"],
            "process_id": process_id,
        }
    step_titles = found["step_titles"]
    return render_template(
        "case.html", case=case, view=scope.view, View=View, team=found["team"], items=found["items"],
        entries=found["entries"], steps=found["steps"], files=found["files"], orgs=found["orgs"],
        people=found["people"], diagram=diagram, process_id=process_id, actions=found["actions"],
        rounds=found["rounds"], before_submission=case.fa_submission == submissions.AWAITING and not scope.full
        and scope.sees(case.funding_agency_id),
        may_retry=case.status == "error" and actor.has("system_admin"),
        action=action or {"name": None, "errors": {}, "values": {}}, member_roles=labels.MEMBER_ROLES,
        process_title=found["process_title"], links=found["links"],
        step_title=lambda element_id: step_titles.get(element_id, ""),
    )


@bp.app_template_global()
def submission_rounds(case) -> list:
    """The case's submission rounds as the signed-in person may see them (task pages of the FA's review)."""
    return case_views.submission_rounds(services(), current_user.actor, case.id, labels.lang())


@bp.app_template_global()
def submission_kind(kind: str) -> str:
    return submissions.kind_label(kind)


@bp.get("/cases/<int:case_id>/diagram/<process_id>.bpmn")
@login_required
def case_diagram(case_id: int, process_id: str):
    xml = case_views.case_diagram(services(), current_user.actor, case_id, process_id, labels.lang())
    if xml is None:
        abort(404)
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600",
                                                              "Vary": "Cookie, Accept-Language"})


@bp.get("/attachments/<public_id>")
@login_required
def attachment(public_id: str):
    svc = services()
    found = case_views.attachment_for_download(svc, current_user.actor, public_id)
    body = open_download(svc, found)  # read whole and checked against its SHA-256 before anything is sent
    response = send_file(body, mimetype=found.content_type, as_attachment=True, download_name=found.original_filename,
                         max_age=0, conditional=False, etag=False)
    response.content_length = found.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
