"""The dashboards' read model (service/dashboards/read_model.py): what each step writes is what `rebuild` (the
migration's back-fill) derives from the events, and what one event counts."""

from __future__ import annotations

from sqlalchemy import select

from service.dashboards import read_model
from service.models import CaseMeasure, CaseMilestones
from tests.dashboards.test_dashboards import known  # noqa: F401  (the module's world fixture)


def _rows(session):
    milestones = session.execute(select(CaseMilestones.case_id, CaseMilestones.submitted_at,
                                        CaseMilestones.decided_at, CaseMilestones.review_rounds)
                                 .order_by(CaseMilestones.case_id)).all()
    measures = session.execute(select(CaseMeasure.case_id, CaseMeasure.kind, CaseMeasure.code, CaseMeasure.target,
                                      CaseMeasure.owner, CaseMeasure.due_date, CaseMeasure.at)).all()
    # a measure may lack a code, a target or a date: sort on texts, None first
    return [tuple(r) for r in milestones], sorted((tuple(r) for r in measures),
                                                  key=lambda row: [(v is not None, str(v)) for v in row])


def test_what_the_steps_wrote_is_what_the_events_say(svc, known):  # noqa: F811
    session = svc.db.sessions()  # rebuilt in a transaction that is rolled back: the tables stay as the steps left them
    try:
        written = _rows(session)
        assert any(case_id == known.cases["accepted"] and rounds == 2 for case_id, _s, _d, rounds in written[0])
        counted = read_model.rebuild(session)
        session.flush()
        assert _rows(session) == written
        assert counted == {"case_milestones": len(written[0]), "case_measures": len(written[1])}
    finally:
        session.rollback()
        session.close()


def test_what_one_event_counts():
    f = read_model.figures
    assert f("institutional_approval", {"institutional_approval": {"decision": "approve"}}).submitted
    assert not f("institutional_approval", {"institutional_approval": {"decision": "return"}})
    assert f("approve_review_outcome", {"fa_outcome_approval": {"approved": True}}).decided
    assert not f("approve_review_outcome", {"fa_outcome_approval": {"approved": "true"}})
    review = f("review_submission", {"fa_review": {"decision": "request_additional_mitigation",
                                                   "requested_measures": [{"measure": "M7", "detail": "…"}]}})
    assert review.review_round and [m["code"] for m in review.measures] == ["M7"]
    plan = f("plan_mitigation", {"mitigation_plan": {"measures": [
        {"measure": "M5", "target": "M2", "owner": "研究推進部", "due_date": "2027-03-31"}, "not a measure"]}})
    assert plan.measures == [
        {"kind": "planned", "code": "M5", "target": "M2", "owner": "研究推進部", "due_date": "2027-03-31"},
        {"kind": "planned", "code": None, "target": None, "owner": None, "due_date": None}]
    assert not f("plan_mitigation", {"mitigation_plan": {"measures": "none"}})
    assert not f("fix_team_roster", {"roster": {}})
