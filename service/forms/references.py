"""Reference lists that forms name with `x-reference`, read from the database.

Lists change rarely (an administrator edits the catalog, a new technology-area list is loaded), so each
process keeps them for a short while instead of querying on every form.
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import MitigationMeasure, Organization, RiskLevel, TechnologyArea, TechnologyAreaList

TTL_SECONDS = 60.0
_cache: dict[str, tuple[float, list]] = {}


def _load(session: Session, name: str) -> list[tuple[object, dict]]:
    if name == "technology_areas":
        rows = session.execute(
            select(TechnologyArea.code, TechnologyArea.name_ja, TechnologyArea.name_en)
            .join(TechnologyAreaList)
            .where(TechnologyAreaList.is_current.is_(True))
            .order_by(TechnologyArea.position)
        ).all()
        return [(code, {"ja": ja, "en": en}) for code, ja, en in rows]
    if name == "mitigation_catalog":
        rows = session.execute(
            select(MitigationMeasure.code, MitigationMeasure.name_ja, MitigationMeasure.name_en)
            .where(MitigationMeasure.active.is_(True))
            .order_by(MitigationMeasure.position)
        ).all()
        return [(code, {"ja": f"{code} {ja}", "en": f"{code} {en}"}) for code, ja, en in rows]
    if name == "risk_levels":
        rows = session.execute(select(RiskLevel.code, RiskLevel.name_ja, RiskLevel.name_en).order_by(RiskLevel.rank))
        return [(code, {"ja": f"{code} {ja}", "en": f"{code} {en}"}) for code, ja, en in rows]
    kinds = {"institutions": "institution", "ministries": "ministry", "funding_agencies": "funding_agency"}
    if name in kinds:
        rows = session.execute(
            select(Organization.id, Organization.name, Organization.name_en)
            .where(Organization.kind == kinds[name], Organization.active.is_(True))
            .order_by(Organization.name)
        ).all()
        return [(oid, {"ja": ja, "en": en or ja}) for oid, ja, en in rows]
    raise KeyError(name)


def provider(session: Session):
    """A `provider(list_name)` for `service.forms.schema.expand_references`."""

    def lookup(name: str):
        hit = _cache.get(name)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        values = _load(session, name)
        _cache[name] = (time.monotonic() + TTL_SECONDS, values)
        return values

    return lookup


def forget() -> None:
    """Drop cached lists (after an administrator edits one, and between tests)."""
    _cache.clear()
