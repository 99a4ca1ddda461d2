"""A small known world for the dashboard tests: two funding agencies, cases at known stages, hits, dates.

FA1 (world `w`, its programme and call), lead institution A, partner B:

| case | partner | path | stage / status / outcome | risk | review rounds | days to decision |
| --- | --- | --- | --- | --- | --- | --- |
| accepted | B | review → more measures (M7) → accept | follow_up / running / accepted | L0 | 2 | 9 |
| mitigated | — | L3, plan M5 for M2 → accept | follow_up / running / accepted | L3 | 1 | 3 |
| refused | — | review → not accepted | fa_review / completed / not_accepted | L0 | 1 | 5 |
| in_review | B | submitted, not yet reviewed | fa_review / running | L0 | 0 | |
| roster | B | just opened | roster / running | | 0 | |

FA2 (world `w2`): one case just opened (`other`) led by FA2's own institution, and one led by institution A
(`other_at_a`): A's office sees it in full, FA1 does not see it at all.

Screening hits: `in_review` one probable, undecided; `accepted` one exact, confirmed; `other` one possible.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import update

from service import clock
from service.models import ScreeningEntry, ScreeningHit, ScreeningSnapshot, ScreeningSubject, WorkItem
from service.unit_of_work import unit_of_work
from tests import conftest
from tests.conftest import World
from tests.procedure.drive import (
    OUTCOME_APPROVED,
    Driver,
    approve,
    fa_review,
    iso,
    mitigation_plan,
    today,
)

START = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)


def make_world(svc, tag: str, lead_code: str | None = None) -> World:
    """tests/conftest.py's world with this module's programme and call (deadline 2026-12-25)."""
    return conftest.make_world(svc, tag, lead_code=lead_code, program=("量子プログラム", "quantum programme"),
                               call=("2026年度公募", "2026 call"), risk_deadline=date(2026, 12, 25))


def screening_hit(session, case_id: int, tag: str, classification: str, decision: str | None) -> None:
    now = clock.now()
    snapshot = ScreeningSnapshot(source="us_csl", label=f"{tag} list", list_date=now.date(), file_name="x.csv",
                                 checksum=secrets.token_hex(32), row_count=1, imported_by_name="test",
                                 imported_at=now)
    session.add(snapshot)
    session.flush()
    entry = ScreeningEntry(snapshot_id=snapshot.id, entry_key=f"{tag}-{case_id}", content_hash="0" * 64,
                           entity_type="person", name="Yamada Taro")
    subject = ScreeningSubject(case_id=case_id, subject_id=f"H{case_id}", subject_type="person", name="山田 太郎",
                               first_screened_at=now, last_screened_at=now)
    session.add_all([entry, subject])
    session.flush()
    session.add(ScreeningHit(case_id=case_id, subject_ref_id=subject.id, snapshot_id=snapshot.id, entry_id=entry.id,
                             source="us_csl", entry_key=entry.entry_key, content_hash=entry.content_hash,
                             entry_name=entry.name, score=91.0, classification=classification, found_by="task",
                             evidence={}, found_at=now, decision=decision,
                             reason="test" if decision else None, reviewed_at=now if decision else None))


@dataclass
class Known:
    w: World
    w2: World
    cases: dict[str, int] = field(default_factory=dict)


def build(svc) -> Known:
    """The world of the module docstring, on a clock that starts at START and is moved by whole days."""
    moving = clock.TravellingClock(START)
    clock.set_source(moving)
    try:
        tag = f"db{secrets.token_hex(2)}"
        w = make_world(svc, tag)
        w2 = make_world(svc, tag + "x")
        with svc.db.reader() as session:
            from service.models import Organization

            lead_code = session.get(Organization, w.lead_id).code
        w2_at_a = make_world(svc, tag + "y", lead_code=lead_code)
        # w2_at_a shares FA2's agency? no: give it FA2's call so FA2 funds a case led by institution A
        w2_at_a.call_id, w2_at_a.fa_id, w2_at_a.program_id = w2.call_id, w2.fa_id, w2.program_id
        known = Known(w, w2)
        d = Driver(svc, w)

        c = known.cases
        c["accepted"] = d.start(title="受理された研究")
        d.to_fa_review(c["accepted"])
        moving.advance(days=4)
        d.additional_round(c["accepted"], 1)
        moving.advance(days=5)
        d.accept(c["accepted"])

        c["mitigated"] = d.start(title="措置つきの研究", partner=False)
        d.roster(c["mitigated"], partner=False)
        d.identification(c["mitigated"], partner=False, disciplinary="佐藤 花子")
        d.do(c["mitigated"], "review_risk_assessment", "security",
             {"assessment_review": {"override": False, "mitigation_needed": True}})
        d.do(c["mitigated"], "plan_mitigation", "security", mitigation_plan("M2"))
        d.do(c["mitigated"], "confirm_mitigation_feasibility", "researcher",
             {"mitigation_feasibility": {"feasible": True, "confirmed_on": iso(today())}})
        d.do(c["mitigated"], "institutional_approval", "admin", approve())
        moving.advance(days=3)
        d.accept(c["mitigated"])

        c["refused"] = d.start(title="受理されなかった研究", partner=False)
        d.to_fa_review(c["refused"], partner=False)
        moving.advance(days=5)
        d.do(c["refused"], "review_submission", "fa_officer", fa_review("not_accept", reasons="不十分"))
        d.do(c["refused"], "approve_review_outcome", "fa_manager", OUTCOME_APPROVED)

        c["in_review"] = d.start(title="審査中の研究")
        d.to_fa_review(c["in_review"])
        c["roster"] = d.start(title="開始したばかりの研究")

        c["other"] = Driver(svc, w2).start(title="別の機構の研究", partner=False)
        c["other_at_a"] = Driver(svc, w2_at_a).start(title="別の機構・大学Aの研究", partner=False)
        with unit_of_work(svc) as session:
            screening_hit(session, c["in_review"], tag, "probable", None)
            screening_hit(session, c["accepted"], tag, "exact", "confirmed_match")
            screening_hit(session, c["other"], tag, "possible", None)
            # one overdue task in the roster case (the security office's), one in FA2's case
            for key in ("roster", "other"):
                session.execute(update(WorkItem).where(WorkItem.case_id == c[key])
                                .values(due_at=datetime(2026, 4, 20, tzinfo=UTC)))
        return known
    finally:
        clock.reset()
