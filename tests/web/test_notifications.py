"""Notifications: assignment, reminders before a due date, escalation after it, and e-mail through a real
SMTP server (aiosmtpd, in this process)."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from service.auth.preferences import set_locale
from service.models import Notification
from service.notifications.mail import send_pending
from service.services import Services
from service.worker.notifications import send_notifications
from service.worker.timers import run_once
from tests.web.helpers import Case


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted"

    def to(self, address: str):
        return [message for rcpts, message in self.messages if address in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def mail_svc(settings, smtp):
    controller, _inbox = smtp
    svc = Services.from_settings(replace(settings, smtp_host=controller.hostname, smtp_port=controller.port,
                                         base_url="https://tejun.example.jp"))
    yield svc
    svc.db.dispose()


def send_all(svc) -> int:
    """Let the sender work through everything pending (other tests' notifications share the database)."""
    total = 0
    while sent := send_pending(svc):
        total += sent
    return total


def notes(svc, world, who: str, kind: str | None = None, task_id: str | None = None) -> list[Notification]:
    with svc.db.reader() as session:
        query = select(Notification).where(Notification.user_id == world.users[who]).order_by(Notification.id)
        if kind:
            query = query.where(Notification.kind == kind)
        if task_id:
            query = query.where(Notification.url == f"/tasks/{task_id}")
        return list(session.scalars(query))


def test_a_task_routed_to_a_person_is_notified_and_e_mailed(svc, world, mail_svc, smtp):
    _controller, inbox = smtp
    case = Case(svc, world)
    item = case.to_disclosure()  # the roster names the researcher: the model routes the disclosure to them
    (note,) = notes(svc, world, "researcher", "assigned")
    # the disclosure's title names whose it is (the model's context, forms/disclosure.context.json)
    assert note.title == f"新しいタスク: 研究者の申告（自己申告）: 山田 太郎・研究代表者・{world.tag} 大学A"
    assert note.url == f"/tasks/{item.task_id}"
    assert note.case_id == case.id and note.emailed_at is None
    assert notes(svc, world, "security", "assigned") == []  # the team queue is not "assigned"

    assert send_all(mail_svc) >= 1
    (message,) = inbox.to(f"{world.username('researcher')}@example.jp")
    assert message["Subject"] == f"[tejun] {note.title}"
    body = message.get_content()
    assert f"https://tejun.example.jp/tasks/{item.task_id}" in body and "割り当てられました" in body
    assert notes(svc, world, "researcher", "assigned")[0].emailed_at is not None
    before = len(inbox.messages)
    send_all(mail_svc)
    assert len(inbox.to(f"{world.username('researcher')}@example.jp")) == 1 and len(inbox.messages) == before


def test_e_mail_speaks_the_recipients_language(svc, world, mail_svc, smtp):
    _controller, inbox = smtp
    set_locale(svc, world.actor("researcher"), "en")
    Case(svc, world).to_disclosure()
    send_all(mail_svc)
    (message,) = inbox.to(f"{world.username('researcher')}@example.jp")
    assert message["Subject"].startswith("[tejun] New task for you: ")
    assert "Open it in tejun: https://tejun.example.jp/tasks/" in message.get_content()


def test_no_mail_without_smtp_host_and_none_for_read_notifications(svc, world, mail_svc, smtp):
    _controller, inbox = smtp
    Case(svc, world).to_disclosure()
    assert send_pending(svc) == 0  # the session's settings have no SMTP host
    from service.notifications import mark_read
    from service.unit_of_work import unit_of_work

    with unit_of_work(svc) as session:
        mark_read(session, world.users["researcher"])
    send_all(mail_svc)
    assert inbox.to(f"{world.username('researcher')}@example.jp") == []


def test_reminders_before_the_due_date_and_escalation_after_it_once_each(svc, world, travel, mail_svc, smtp):
    _controller, inbox = smtp
    case = Case(svc, world)  # fix_team_roster waits in the security office's queue, due 2027-01-29 (JST)
    item = case.item("fix_team_roster")
    travel.moment = datetime(2027, 1, 20, 0, 0, tzinfo=UTC)
    send_notifications(svc)
    assert notes(svc, world, "security", "reminder", item.task_id) == []  # more than reminder_days (3) before

    travel.moment = datetime(2027, 1, 27, 3, 0, tzinfo=UTC)
    send_notifications(svc)
    for who in ("security", "security2"):
        (reminder,) = notes(svc, world, who, "reminder", item.task_id)
        assert reminder.title == "期限が近づいています: 研究チーム名簿と同意"
        assert "2027-01-29 23:59" in reminder.body and reminder.url == f"/tasks/{item.task_id}"
    assert notes(svc, world, "admin", "reminder", item.task_id) == []
    send_notifications(svc)
    assert len(notes(svc, world, "security", "reminder", item.task_id)) == 1  # deduplicated

    travel.moment = datetime(2027, 1, 30, 3, 0, tzinfo=UTC)
    send_notifications(svc)
    (escalation,) = notes(svc, world, "admin", "escalation", item.task_id)  # the institution's manager
    assert escalation.title == "期限超過: 研究チーム名簿と同意"
    assert "期限 2027-01-29 23:59" in escalation.body and "まだ誰も引き受けていません" in escalation.body
    assert len(notes(svc, world, "security", "escalation", item.task_id)) == 1
    assert notes(svc, world, "fa_manager", "escalation", item.task_id) == []
    send_notifications(svc)
    assert len(notes(svc, world, "admin", "escalation", item.task_id)) == 1

    send_all(mail_svc)
    subjects = [m["Subject"] for m in inbox.to(f"{world.username('admin')}@example.jp")]
    assert subjects.count("[tejun] 期限超過: 研究チーム名簿と同意") == 1


def test_overdue_fa_work_goes_to_the_fa_manager(svc, world, travel):
    case = Case(svc, world)
    item = case.to_fa_review()
    with svc.db.reader() as session:
        due = session.get(type(item), item.id).due_at
    assert due is not None
    travel.moment = due.replace(tzinfo=UTC) if due.tzinfo is None else due
    travel.advance(days=1)
    send_notifications(svc)
    (escalation,) = notes(svc, world, "fa_manager", "escalation", item.task_id)
    assert escalation.title == "期限超過: リスクマネジメント結果の確認（FA）"
    assert notes(svc, world, "admin", "escalation", item.task_id) == []


def test_the_timer_workers_round_ends_with_the_notification_step(svc, monkeypatch):
    import service.worker.timers as timers

    rounds = []
    monkeypatch.setattr(timers, "send_notifications", lambda given: rounds.append(given))
    run_once(svc)
    assert rounds == [svc]
