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

from ..attachments import for_case, for_download, open_download
from ..auth.permissions import View, case_scope
from ..cases import history, queries, submissions
from ..cases import views as case_views
from ..cases.forms import form_schema
from ..queues import lookups
from ..wording import labels
from ..wording.render import describe
from .blueprint import bp, services


@bp.get("/cases/<int:case_id>")
@login_required
def case(case_id: int):
    return render_case(case_id)


def render_case(case_id: int, action: dict | None = None) -> str:
    """The case page; `action` (name, errors, values) re-shows an actions-panel form that needs correcting."""
    actor = current_user.actor
    lang = labels.lang()
    with services().db.reader() as session:
        case, scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
        view = scope.view
        found = history.model_map(session, case.model_version_id, case.process_id)
        process_id = request.args.get("process") or case.process_id
        if process_id not in found.process_files or process_id not in found.calls:
            process_id = case.process_id
        flow = queries.restore(session, case, services().settings.script_time_limit)
        team = history.visible_team(scope, case, flow.lookup("members") or [], flow.lookup("partners") or [])
        actions = queries.case_actions(actor, case, flow)
        items = history.open_items(session, scope, case)
        entries = history.history(session, scope, case, lang)
        steps = []
        for step in history.steps(entries, found):
            steps.append((step, describe(form_schema(session, case, step.form, lang), step.data)))
        files = for_case(session, actor, case, scope)
        orgs = lookups.organizations_by_id(
            session, [case.lead_institution_id, case.funding_agency_id, *(p.organization_id for p in case.parties),
                      *(i.organization_id for i in items)]
        )
        _orgs, _programs, people = lookups.names(session, items)
        rounds = submissions.rounds(session, scope, case, lang)
        diagram = None
        if scope.full:  # the diagram's progress runs through every party's steps: full views only
            diagram = {
                "xml_url": url_for("web.case_diagram", case_id=case.id, process_id=process_id),
                "completed": sorted(flow.visited),
                "active": flow.active_element_ids(),
                "process_id": process_id,
            }
        return render_template(
            "case.html", case=case, view=view, View=View, team=team, items=items, entries=entries, steps=steps,
            files=files, orgs=orgs, people=people, diagram=diagram, process_id=process_id, actions=actions,
            rounds=rounds, before_submission=case.fa_submission == submissions.AWAITING and not scope.full
            and scope.sees(case.funding_agency_id),
            may_retry=case.status == "error" and actor.has("system_admin"),
            action=action or {"name": None, "errors": {}, "values": {}}, member_roles=labels.MEMBER_ROLES,
            process_title=_process_title(session, found, case, process_id, lang),
            links=[(link, element_title(session, found, case.model_version_id, link.element_id, lang)
                    or history.bilingual(link.name, lang)) for link in history.diagram_links(found, process_id)],
            step_title=lambda element_id: element_title(session, found, case.model_version_id, element_id, lang),
        )


def element_title(session, found, version_id: int, element_id: str | None, lang: str) -> str:
    """An element's title in `lang` (ModelMap.title: a task by its form's title, another step by the names
    catalog)."""
    return found.title(session, version_id, element_id, lang)


@bp.app_template_global()
def submission_rounds(case) -> list:
    """The case's submission rounds as the signed-in person may see them (task pages of the FA's review)."""
    with services().db.reader() as session:
        case = session.get(type(case), case.id)
        scope = case_scope(current_user.actor, case)
        return submissions.rounds(session, scope, case, labels.lang())


@bp.app_template_global()
def submission_kind(kind: str) -> str:
    return submissions.kind_label(kind)


def _process_title(session, found, case, process_id: str, lang: str) -> str:
    if process_id == case.process_id:
        return ""
    for links in found.calls.values():
        for link in links:
            if link.process_id == process_id:
                return element_title(session, found, case.model_version_id, link.element_id, lang) \
                    or history.bilingual(link.name, lang)
    return process_id


@bp.get("/cases/<int:case_id>/diagram/<process_id>.bpmn")
@login_required
def case_diagram(case_id: int, process_id: str):
    with services().db.reader() as session:
        case, _view = queries.get_case(session, current_user.actor, case_id, View.FULL)
        xml = history.diagram_xml(session, case, process_id)
        if xml is None:
            abort(404)
        from ..designer import names

        model = history.model_map(session, case.model_version_id, case.process_id).process_files.get(process_id)
        # names in the reader's language: the names catalog's (bpmn/names), then the forms' titles and the roles
        xml = viewer_xml(session, case.model_version_id, case.process_id,
                         names.localize_xml(xml, labels.lang(), model=model))
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600",
                                                              "Vary": "Cookie, Accept-Language"})


def viewer_xml(session, version_id: int, process_id: str, xml: bytes) -> bytes:
    """What the diagram viewer draws, names in the reader's language (`cases.views.viewer_xml`)."""
    return case_views.viewer_xml(session, version_id, process_id, xml, labels.lang())


@bp.get("/attachments/<public_id>")
@login_required
def attachment(public_id: str):
    svc = services()
    with svc.db.reader() as session:
        found = for_download(session, svc, current_user.actor, public_id)
        session.expunge(found)
    body = open_download(svc, found)  # read whole and checked against its SHA-256 before anything is sent
    response = send_file(body, mimetype=found.content_type, as_attachment=True, download_name=found.original_filename,
                         max_age=0, conditional=False, etag=False)
    response.content_length = found.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
