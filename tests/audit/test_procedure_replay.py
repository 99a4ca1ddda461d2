"""The real procedure replays identically: every case `flask demo` leaves, one at each stage.

Those cases are driven through the real use cases by the demo users (service/demo_cases.py): member
disclosures per researcher (a multi-instance call activity), screening, the risk rubric's decision tables,
the FA's review, additional mitigation rounds, follow-up timers, a closed project and a designation.
"""

from __future__ import annotations

from sqlalchemy import select

from service import demo_cases as demo
from service.audit.replay import point_in_time, replay_and_compare
from service.models import Case, Event


def test_every_demo_case_replays_identically_and_at_every_event(app, svc, travel):
    seeded = app.test_cli_runner().invoke(args=["demo", "--quiet"])
    assert seeded.exit_code == 0, seeded.output
    titles = [*demo.APPLICATION_TITLES, demo.DESIGNATION]
    with svc.db.reader() as session:
        cases = session.scalars(select(Case).where(Case.title.in_(titles)).order_by(Case.id)).all()
        assert sorted(c.title for c in cases) == sorted(titles)
        total = 0
        for case in cases:
            result = replay_and_compare(session, case)
            assert result.identical, (case.title, [str(d) for d in result.differences])
            total += result.events
            # the page's view of the middle of the history replays without a difference too
            middle = point_in_time(session, case, result.events // 2)
            assert middle["differences"] == [], (case.title, middle["differences"])
        assert total > 100
        actions = set(session.scalars(select(Event.action).where(Event.case_id.in_([c.id for c in cases]))))
    assert {"case_started", "task_completed", "engine_steps"} <= actions
