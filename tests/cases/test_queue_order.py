"""Queue tabs as people see them: the due-date orders put undated tasks last, and the tab counts shown beside
the tabs are the totals of the tabs themselves (issue 9 rewrote both for speed)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from service import clock
from service.auth.actor import Actor, Grant
from service.cases import commands
from service.models import WorkItem
from service.queues import queries as queues
from tests.conftest import model_set


def _cases(svc, world, n: int) -> list[str]:
    model_set(svc, "loop")
    case_ids = [
        commands.start_case(svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
                            title=f"order {i}", process_id="loop_case", model_set="test-loop").case_id
        for i in range(n)
    ]
    with svc.db.reader() as session:  # the database may hold other tests' cases (one schema per run)
        return list(session.scalars(select(WorkItem.task_id).where(WorkItem.case_id.in_(case_ids))
                                    .order_by(WorkItem.id)))


def test_due_orders_put_undated_tasks_last_and_counts_match_the_tabs(svc, world):
    tasks = _cases(svc, world, 4)
    now = clock.now()
    dues = [now + timedelta(days=3), None, now - timedelta(days=2), now + timedelta(days=1)]
    with svc.db.transaction() as session:
        for task_id, due in zip(tasks, dues, strict=True):
            session.execute(update(WorkItem).where(WorkItem.task_id == task_id).values(due_at=due))
        # one task taken by the officer: in "mine", no longer in "team"
        session.execute(update(WorkItem).where(WorkItem.task_id == tasks[3])
                        .values(assignee_id=world.users["security"]))
    actor = world.actor("security")
    with svc.db.reader() as session:
        def order(tab: str, sort: str) -> list[str]:
            return [item.task_id for item in queues.queue(session, actor, tab, sort=sort).items]

        assert order("org", "due") == [tasks[2], tasks[3], tasks[0], tasks[1]]
        assert order("org", "-due") == [tasks[0], tasks[3], tasks[2], tasks[1]]
        assert order("team", "due") == [tasks[2], tasks[0], tasks[1]]
        assert order("mine", "due") == [tasks[3]]
        assert order("overdue", "due") == [tasks[2]]
        counts = queues.counts(session, actor)
        assert counts == {tab: queues.queue(session, actor, tab).total for tab in queues.TABS}
        assert counts == {"mine": 1, "team": 3, "org": 4, "overdue": 1}


def test_overdue_tab_counts_each_task_once_for_someone_working_in_two_organizations(svc, world):
    """A security officer of the lead institution who is also a researcher at the partner: the overdue tab is
    their whole lead organization plus what is assigned to them at the partner, each task once, paged in order."""
    tasks = _cases(svc, world, 5)
    now = clock.now()
    me, other = world.users["security"], world.users["partner_researcher"]
    layout = [  # (organization, assignee, days overdue)
        (world.lead_id, None, 5),
        (world.lead_id, me, 4),  # mine and in an organization I see whole: once, not twice
        (world.partner_id, me, 3),  # mine in an organization where I am only a researcher
        (world.partner_id, other, 2),  # someone else's at the partner: not mine to see
        (world.lead_id, None, -1),  # not yet due
    ]
    with svc.db.transaction() as session:
        for task_id, (org, assignee, late) in zip(tasks, layout, strict=True):
            session.execute(update(WorkItem).where(WorkItem.task_id == task_id)
                            .values(organization_id=org, assignee_id=assignee, due_at=now - timedelta(days=late)))
    officer = world.actor("security")
    actor = Actor(officer.user_id, officer.username,
                  (*officer.grants, Grant(world.partner_id, "institution", "researcher")))
    with svc.db.reader() as session:
        first = queues.queue(session, actor, "overdue", per_page=2)
        second = queues.queue(session, actor, "overdue", page=2, per_page=2)
        assert [i.task_id for i in first.items + second.items] == tasks[:3]
        assert (first.total, first.pages) == (3, 2)
        counts = queues.counts(session, actor)
        assert counts == {"mine": 2, "team": 2, "org": 3, "overdue": 3}
        assert counts == {tab: queues.queue(session, actor, tab).total for tab in queues.TABS}
