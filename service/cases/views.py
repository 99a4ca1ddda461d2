"""Reads of the case pages, each opening its own session and returning what its page shows, loaded (the page
renders after the session closed: no lazy load may be left for the template)."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.actor import Actor
from ..models import Organization, Program
from ..queues import lookups
from . import queries


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
