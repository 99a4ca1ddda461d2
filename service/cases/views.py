"""Reads of the case pages, each opening its own session and returning what its page shows, loaded (the page
renders after the session closed: no lazy load may be left for the template)."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.actor import Actor
from ..auth.permissions import View, case_scope
from ..models import Case, Organization, Program
from ..queues import lookups
from ..wording import labels
from . import history, queries


@dataclass(frozen=True)
class CaseListPage:
    page: queries.CasePage
    orgs: dict[int, Organization]
    institutions: list[Organization]
    programs: list[Program]


def case_list(svc, actor: Actor, *, status: str | None, search: str | None, page: int, per_page: int,
              stage: str | None, risk_level: str | None, institution_id: int | None, program_id: int | None,
              sort: str) -> CaseListPage:
    """A page of the cases the actor sees (`queries.list_cases`), their lead institutions, each one's programme,
    and the list's filter choices."""
    with svc.db.reader() as session:
        found = queries.list_cases(session, actor, status=status, search=search, page=page, per_page=per_page,
                                   stage=stage, risk_level=risk_level, institution_id=institution_id,
                                   program_id=program_id, sort=sort)
        for case in found.items:
            case.program  # noqa: B018 - loaded here: the list shows each case's programme
        orgs = lookups.organizations_by_id(session, (c.lead_institution_id for c in found.items))
        institutions, programs = queries.case_filter_choices(session, actor)
        return CaseListPage(found, orgs, institutions, programs)


def viewer_xml(session, version_id: int, process_id: str, xml: bytes, lang: str) -> bytes:
    """What the diagram viewer draws: the element names in `lang` (tasks by their forms' titles, lanes by their
    roles, "日本語 (English)" names split)."""
    found = history.model_map(session, version_id, process_id)

    def title(element_id: str) -> str:
        element = found.elements.get(element_id)
        return found.title(session, version_id, element_id, lang) if element is not None and element.form else ""

    return history.localized_diagram(xml, lang, title=title, words=labels.diagram_words())


def case_page(svc, actor: Actor, case_id: int, process_id: str | None, lang: str) -> dict:
    """The case page as the actor sees it (`queries.scoped_case`: NotFound below SUMMARY): the case (its parties
    and programme loaded), the scope, team, open items, history, steps with their data, files, names, submission
    rounds, the actions the actor may send, the diagram's progress (full views only) and the titles of the steps
    the page names, all in `lang`."""
    from ..attachments import for_case
    from ..wording.render import describe
    from . import submissions
    from .forms import form_schema

    with svc.db.reader() as session:
        case, scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
        case.program  # noqa: B018 - loaded here: the page shows the programme
        found = history.model_map(session, case.model_version_id, case.process_id)
        if process_id not in found.process_files or process_id not in found.calls:
            process_id = case.process_id
        flow = queries.restore(session, case, svc.settings.script_time_limit)
        items = history.open_items(session, scope, case)
        entries = history.history(session, scope, case, lang)
        steps = [(step, describe(form_schema(session, case, step.form, lang), step.data))
                 for step in history.steps(entries, found)]
        files = for_case(session, actor, case, scope)
        orgs = lookups.organizations_by_id(
            session, [case.lead_institution_id, case.funding_agency_id, *(p.organization_id for p in case.parties),
                      *(i.organization_id for i in items)])
        _orgs, _programs, people = lookups.names(session, items)

        def title(element_id: str | None) -> str:
            return found.title(session, case.model_version_id, element_id, lang)

        return {
            "case": case, "scope": scope, "process_id": process_id, "items": items, "entries": entries,
            "steps": steps, "files": files, "orgs": orgs, "people": people,
            "team": history.visible_team(scope, case, flow.lookup("members") or [], flow.lookup("partners") or []),
            "actions": queries.case_actions(actor, case, flow),
            "rounds": submissions.rounds(session, scope, case, lang),
            "completed": sorted(flow.visited) if scope.full else [],
            "active": flow.active_element_ids() if scope.full else [],
            "process_title": _process_title(found, case, process_id, title, lang),
            "links": [(link, title(link.element_id) or history.bilingual(link.name, lang))
                      for link in history.diagram_links(found, process_id)],
            # the steps the page names by title: those its files were uploaded at
            "step_titles": {f.element_id: title(f.element_id) for f in files},
        }


def _process_title(found, case: Case, process_id: str, title, lang: str) -> str:
    if process_id == case.process_id:
        return ""
    for links in found.calls.values():
        for link in links:
            if link.process_id == process_id:
                return title(link.element_id) or history.bilingual(link.name, lang)
    return process_id


def case_diagram(svc, actor: Actor, case_id: int, process_id: str, lang: str) -> bytes | None:
    """A process diagram of the case's model, names in `lang` (the names catalog's, then the forms' titles and
    the roles); NotFound below the FULL view, None when the process is not the case's."""
    from ..designer import names

    with svc.db.reader() as session:
        case, _view = queries.get_case(session, actor, case_id, View.FULL)
        xml = history.diagram_xml(session, case, process_id)
        if xml is None:
            return None
        model = history.model_map(session, case.model_version_id, case.process_id).process_files.get(process_id)
        return viewer_xml(session, case.model_version_id, case.process_id,
                          names.localize_xml(xml, lang, model=model), lang)


def submission_rounds(svc, actor: Actor, case_id: int, lang: str) -> list:
    """The case's submission rounds as the actor may see them (`submissions.rounds`)."""
    from . import submissions

    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        return submissions.rounds(session, case_scope(actor, case), case, lang)


def attachment_for_download(svc, actor: Actor, public_id: str):
    """The attachment row the actor may download (`attachments.for_download`: NotFound otherwise), detached."""
    from ..attachments import for_download

    with svc.db.reader() as session:
        found = for_download(session, svc, actor, public_id)
        session.expunge(found)
        return found
