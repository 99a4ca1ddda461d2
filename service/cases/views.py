"""Reads of the case pages, each opening its own session and returning what its page shows, loaded (the page
renders after the session closed: no lazy load may be left for the template)."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.actor import Actor
from ..models import Organization, Program
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
