"""`flask demo` leaves one case at every stage of the procedure, each waiting in the right person's queue."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from service import demo_cases as demo
from service.auth.actor import Actor
from service.models import Case, Event, User
from service.queues.queries import queue

# title -> (kind, status, outcome, stage, risk level, (who, queue tab, element) waiting, or None)
EXPECTED = {
    demo.ROSTER: ("application", "running", None, "roster", None, ("a.security", "team", "fix_team_roster")),
    demo.DISCLOSURES: ("application", "running", None, "identification", None,
                       ("a.researcher", "mine", "fill_disclosure")),
    demo.ASSESSMENT: ("application", "running", None, "assessment", None,
                      ("a.security", "team", "review_risk_assessment")),
    demo.FA_REVIEW: ("application", "running", None, "fa_review", "L3", ("fa.officer", "team", "review_submission")),
    demo.ADDITIONAL: ("application", "running", None, "additional_mitigation", "L0",
                      ("a.security", "team", "plan_additional_mitigation")),
    demo.ACCEPTED: ("application", "running", "accepted", "follow_up", "L0", None),
    demo.FOLLOW_UP: ("application", "running", "accepted", "follow_up", "L0",
                     ("a.security", "team", "follow_up_report")),
    demo.CLOSED: ("application", "completed", "closed", "follow_up", "L0", None),
    demo.DESIGNATION: ("designation", "running", None, "designation", None,
                       ("fa.manager", "team", "approve_program_designation")),
}


def _actor(session, username: str) -> Actor:
    return Actor.from_user(session.scalars(select(User).where(User.username == username)).one())


def _counts(svc) -> tuple[int, int]:
    with svc.db.reader() as session:
        return session.scalar(select(func.count()).select_from(Case)), session.scalar(
            select(func.count()).select_from(Event))


def test_flask_demo_twice_leaves_one_case_per_stage_in_the_right_queues(app, svc, travel):
    runner = app.test_cli_runner()
    started = time.perf_counter()
    first = runner.invoke(args=["demo", "--quiet"])
    took = time.perf_counter() - started
    assert first.exit_code == 0, first.output
    print(f"\nflask demo with cases: {took:.1f} s")  # reported, not bounded: a busy machine must not fail it
    after_first = _counts(svc)
    second = runner.invoke(args=["demo", "--quiet"])
    assert second.exit_code == 0, second.output
    assert _counts(svc) == after_first  # nothing added, not even an event

    with svc.db.reader() as session:
        for title, (kind, status, outcome, stage, level, waiting) in EXPECTED.items():
            (case,) = session.scalars(select(Case).where(Case.title == title)).all()
            assert (case.kind, case.status, case.outcome, case.stage, case.risk_level) == (
                kind, status, outcome, stage, level), title
            assert case.error_message is None
            if waiting is None:
                continue
            who, tab, element_id = waiting
            mine = {(i.case_id, i.element_id) for i in queue(session, _actor(session, who), tab, per_page=500).items}
            assert (case.id, element_id) in mine, (title, who)

        # the partner institution's staff see their own part of the demo, never the lead's
        partner = _actor(session, "b.security")
        seen = {(i.case_reference, i.element_id, i.organization_id)
                for tab in ("mine", "team", "org", "overdue") for i in queue(session, partner, tab, per_page=500).items}
        lead_id = session.scalars(select(Case.lead_institution_id).where(Case.title == demo.ROSTER)).one()
        assert all(org != lead_id for _ref, _element, org in seen)
        disclosure = session.scalars(select(Case).where(Case.title == demo.DISCLOSURES)).one()
        researcher = _actor(session, "b.researcher")
        assert [(i.case_id, i.element_id) for i in queue(session, researcher, "mine").items] == [
            (disclosure.id, "fill_partner_member_disclosure")]
