"""Reads of what cases refer to, for the API's catalog: programmes, calls, organizations and the reference
lists (technology areas, risk levels, mitigation measures), filtered and paged.

Every list answers `{items, total, page, per_page}` (service/paging.py); items are loaded with what their
API schema shows, so they can be serialized after the read session ends.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from ..errors import N_, NotFound
from ..models import (
    Call,
    MitigationMeasure,
    Organization,
    Program,
    RiskLevel,
    TechnologyArea,
    TechnologyAreaList,
)
from ..paging import page_query
from ..services import Services


def _like(text: str) -> str:
    return "%" + text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(text: str | None, *columns):
    like = _like(text)
    return or_(*(column.ilike(like, escape="\\") for column in columns))


def programs(svc: Services, page: int, per_page: int, *, funding_agency_id: int | None = None,
             designated: bool | None = None, q: str | None = None) -> dict:
    """Specified R&D programmes, by code."""
    query = select(Program).order_by(Program.code, Program.id)
    if funding_agency_id:
        query = query.where(Program.funding_agency_id == funding_agency_id)
    if designated is not None:
        query = query.where(Program.designated.is_(designated))
    if q:
        query = query.where(_matching(q, Program.code, Program.title, Program.title_en))
    with svc.db.reader() as session:
        found = page_query(session, query, page, per_page)
        for program in found["items"]:
            _ = program.areas, program.calls
        return found


def program(svc: Services, program_id: int) -> Program:
    with svc.db.reader() as session:
        found = session.get(Program, program_id)
        if found is None:
            raise NotFound(N_("no such programme"))
        _ = found.areas, found.calls
        return found


def calls(svc: Services, page: int, per_page: int, *, program_id: int | None = None,
          funding_agency_id: int | None = None, status: str | None = None, q: str | None = None) -> dict:
    """Calls for proposals, by code."""
    query = select(Call).order_by(Call.code, Call.id)
    if program_id:
        query = query.where(Call.program_id == program_id)
    if funding_agency_id:
        query = query.where(Call.program_id.in_(select(Program.id).where(
            Program.funding_agency_id == funding_agency_id)))
    if status:
        query = query.where(Call.status == status)
    if q:
        query = query.where(_matching(q, Call.code, Call.title, Call.title_en))
    with svc.db.reader() as session:
        return page_query(session, query, page, per_page)


def call(svc: Services, call_id: int) -> Call:
    with svc.db.reader() as session:
        found = session.get(Call, call_id)
        if found is None:
            raise NotFound(N_("no such call"))
        return found


def organizations(svc: Services, page: int, per_page: int, *, kind: str | None = None,
                  active: bool | None = None, q: str | None = None) -> dict:
    """Funding agencies, institutions and ministries, by kind and name."""
    query = select(Organization).order_by(Organization.kind, Organization.name, Organization.id)
    if kind:
        query = query.where(Organization.kind == kind)
    if active is not None:
        query = query.where(Organization.active.is_(active))
    if q:
        query = query.where(_matching(q, Organization.code, Organization.name, Organization.name_en))
    with svc.db.reader() as session:
        return page_query(session, query, page, per_page)


def organization(svc: Services, organization_id: int) -> Organization:
    with svc.db.reader() as session:
        found = session.get(Organization, organization_id)
        if found is None:
            raise NotFound(N_("no such organization"))
        return found


def technology_areas(svc: Services, page: int, per_page: int) -> dict:
    """The current list of critical technology areas."""
    query = (select(TechnologyArea).join(TechnologyAreaList).where(TechnologyAreaList.is_current.is_(True))
             .order_by(TechnologyArea.position, TechnologyArea.id))
    with svc.db.reader() as session:
        found = page_query(session, query, page, per_page)
        for area in found["items"]:
            _ = area.area_list
        return found


def risk_levels(svc: Services, page: int, per_page: int) -> dict:
    """Risk levels, lowest first."""
    with svc.db.reader() as session:
        return page_query(session, select(RiskLevel).order_by(RiskLevel.rank, RiskLevel.id), page, per_page)


def mitigation_measures(svc: Services, page: int, per_page: int, *, active: bool | None = None) -> dict:
    """The catalog of risk mitigation measures."""
    query = select(MitigationMeasure).order_by(MitigationMeasure.position, MitigationMeasure.id)
    if active is not None:
        query = query.where(MitigationMeasure.active.is_(active))
    with svc.db.reader() as session:
        return page_query(session, query, page, per_page)
