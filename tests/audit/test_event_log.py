"""Every change to a case and every administrative action is on the record: who, when, what, on which data,
under which model version."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.auth import tokens
from service.auth.actor import SYSTEM
from service.auth.admin import set_password
from service.designer.store import model_hash
from service.eventlog.chain import SYSTEM_STREAM, case_stream
from service.models import Case, Event, User
from service.unit_of_work import unit_of_work

from .helpers import loop_case, rows_of


def test_each_case_event_names_who_when_what_and_the_model_version(svc, world, travel):
    case_id = loop_case(svc, world, travel, rounds=1)
    rows = rows_of(svc, case_stream(case_id))
    with svc.db.reader() as session:
        version_hash = model_hash(session, session.get(Case, case_id).model_version_id)
    assert [r["action"] for r in rows] == [
        "case_started", "engine_steps",
        "task_claimed", "task_completed", "engine_steps",
        "task_claimed", "task_released", "task_completed", "engine_steps"]
    assert all(r["model_hash"] == version_hash and r["case_id"] == case_id and r["at"] for r in rows)
    people = {r["actor_name"] for r in rows if r["action"] != "engine_steps"}
    assert people == {world.username("security"), world.username("fa_officer")}
    completed = [r for r in rows if r["action"] == "task_completed"]
    assert [(r["element_id"], r["data"]) for r in completed] == [
        ("edit", {"summary": "第1版: 入退室管理を強化"}), ("review", {"decision": "accept"})]
    assert all(r["task_id"] for r in rows if r["action"].startswith("task_"))
    # the moments are the ones the use cases ran at (the travelling clock), one per use case
    assert rows[3]["at"] == rows[4]["at"] and rows[3]["at"] - rows[0]["at"] == timedelta(hours=2)


def test_administration_is_recorded(svc, world):
    with unit_of_work(svc) as session:
        user = session.get(User, world.users["researcher"])
        set_password(session, SYSTEM, user, "Another-Horse-43")
        plain, token = tokens.issue(session, user, "ci", ["read"])
        tokens.revoke(session, token)
        token_id = token.id
    with svc.db.reader() as session:
        own = session.scalars(select(Event).where(Event.stream == f"user:{world.users['researcher']}")
                              .order_by(Event.seq)).all()
        system = session.scalars(select(Event).where(Event.stream == SYSTEM_STREAM,
                                                     Event.action == "password_set")).all()
    assert [(e.action, e.data["token_id"]) for e in own[-2:]] == [("api_token_issued", token_id),
                                                                  ("api_token_revoked", token_id)]
    assert own[-2].data["scopes"] == ["read"] and plain not in str(own[-2].data)  # the secret never is
    assert any(e.data == {"user_id": world.users["researcher"]} for e in system)
