"""Loading the shipped reference data into the database, idempotently.

A technology-area list version is loaded once and never rewritten (programs point at its areas); the
newest loaded version becomes current. Measures and risk levels are added when missing and otherwise left
as administrators edited them.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import clock
from ..eventlog import chain
from ..models import MitigationMeasure, RiskLevel, TechnologyArea, TechnologyAreaList
from . import mitigation_catalog, risk_levels, technology_area_versions, technology_areas


def sync_reference_data(session: Session) -> dict[str, int]:
    added = {"technology_area_lists": 0, "mitigation_measures": 0, "risk_levels": 0}
    newest = None
    for version in technology_area_versions():
        data = technology_areas(version)
        area_list = session.scalars(select(TechnologyAreaList).where(TechnologyAreaList.version == version)).first()
        if area_list is None:
            area_list = TechnologyAreaList(version=version, title=data.get("title", version), loaded_at=clock.now())
            for position, area in enumerate(data["areas"], start=1):
                area_list.areas.append(
                    TechnologyArea(code=str(area["code"]), position=position, name_ja=area["ja"], name_en=area["en"])
                )
            session.add(area_list)
            added["technology_area_lists"] += 1
        newest = area_list
    if newest is not None and not newest.is_current and added["technology_area_lists"]:
        session.flush()
        session.execute(update(TechnologyAreaList).values(is_current=False))
        newest.is_current = True
    elif newest is not None and not session.scalar(
        select(TechnologyAreaList.id).where(TechnologyAreaList.is_current.is_(True))
    ):
        newest.is_current = True

    known = set(session.scalars(select(MitigationMeasure.code)))
    for position, measure in enumerate(mitigation_catalog(), start=1):
        if measure["code"] not in known:
            session.add(
                MitigationMeasure(
                    code=measure["code"], position=position, name_ja=measure["ja"], name_en=measure["en"],
                    description_ja=measure.get("description_ja", ""), description_en=measure.get("description_en", ""),
                )
            )
            added["mitigation_measures"] += 1
    known = set(session.scalars(select(RiskLevel.code)))
    for level in risk_levels():
        if level["code"] not in known:
            session.add(RiskLevel(code=level["code"], rank=level["rank"], name_ja=level["ja"], name_en=level["en"]))
            added["risk_levels"] += 1
    if any(added.values()):  # the choices forms offer changed: on the record
        chain.append(session, stream=chain.SYSTEM_STREAM, action="reference_data_loaded", actor_id=None,
                     actor_name="system", data={**added, "current_areas": newest.version if newest else None})
    return added
