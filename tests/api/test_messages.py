"""Case messages (issue 14, point 6): one registry says, per message, the schema of its payload and who may send
it (service/cases/messages.py, forms/messages/*.schema.json); the API, the pages and tejun itself go through it.

* `screening_hit` and `disclosure_changed` are sent by tejun only: every person is refused (403 when they see
  the case, 404 when they do not), whatever the payload;
* a payload that does not fit its schema is a 422 with pointers, on the API and on the page alike, and the case
  goes on waiting as before (it never reaches the model, so it cannot put the case into error).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from service.auth.actor import SYSTEM
from service.cases import commands, queries
from service.cases import messages as case_messages
from service.errors import Forbidden, ValidationFailed
from service.models import Case as CaseRow
from service.models import Event
from tests.web.helpers import Case, post, post_json, sign_in, today

PROBLEM = "application/problem+json"
ROOT = Path(__file__).resolve().parents[2]

SCREENING_HIT = {"trigger": {"kind": "screening_hit", "subject_id": "M1", "subject_name": "山田 太郎",
                             "trigger_id": 1, "member": {"name": "偽の研究者", "role": "pi"}}}
DISCLOSURE_CHANGED = {"trigger": {"kind": "disclosure_changed", "member_id": "M1", "trigger_id": 1,
                                  "changed_sections": ["affiliations"], "profile_version": 2}}


def newcomer(**overrides) -> dict:
    member = {"name": "小川 蓮", "role": "participant", "consent_obtained": True, "consent_date": today()}
    member.update(overrides)
    return {"trigger": {"kind": "member_added", "member": member}}


@pytest.fixture
def accepted(svc, world) -> Case:
    """A case after the FA's acceptance: it waits for the four follow-up triggers."""
    case = Case(svc, world)
    case.to_fa_review()
    case.do("review_submission", "fa_officer", {"fa_review": {"decision": "accept"}})
    case.do("approve_review_outcome", "fa_manager", {"fa_outcome_approval": {"approved": True}})
    return case


def waiting(svc, case_id: int) -> set[str]:
    with svc.db.reader() as session:
        flow = queries.restore(session, session.get(CaseRow, case_id))
        return {m.name for m in flow.waiting_messages()}


def delivered(svc, case_id: int) -> list[dict]:
    with svc.db.reader() as session:
        return list(session.scalars(select(Event.data).where(Event.case_id == case_id,
                                                             Event.action == "message_delivered")))


def status(svc, case_id: int) -> str:
    with svc.db.reader() as session:
        return session.get(CaseRow, case_id).status


def pointers(response) -> list[str]:
    assert response.mimetype == PROBLEM, response.get_data(as_text=True)
    return sorted({e["pointer"] for e in response.get_json()["errors"]})


# -- system-only messages ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, payload", [("screening_hit", SCREENING_HIT),
                                           ("disclosure_changed", DISCLOSURE_CHANGED)])
def test_people_cannot_send_system_only_messages_through_the_api(app, svc, world, accepted, name, payload):
    assert {"screening_hit", "disclosure_changed"} <= waiting(svc, accepted.id)
    # those who see the case get 403 (whatever the lane of the waiting event), the others 404
    for who in ("security", "security2", "admin", "fa_officer", "fa_manager", "researcher", "sysadmin",
                "partner_security"):
        client = sign_in(app, world, who)
        for body in ({"name": name, "payload": payload}, {"name": name}):
            response = post_json(client, f"/api/v1/cases/{accepted.id}/messages", body)
            expected = 404 if who in ("researcher", "sysadmin", "partner_security") else 403
            assert response.status_code == expected, (who, response.get_json())
            assert response.mimetype == PROBLEM
    with pytest.raises(Forbidden):
        commands.send_message(svc, world.actor("security"), accepted.id, name, payload)
    assert delivered(svc, accepted.id) == []
    assert status(svc, accepted.id) == "running" and accepted.items() == []
    assert {"screening_hit", "disclosure_changed"} <= waiting(svc, accepted.id)


def test_the_page_neither_offers_nor_takes_system_only_messages(app, svc, world, accepted):
    client = sign_in(app, world, "security")
    page = html.unescape(client.get(f"/cases/{accepted.id}").get_data(as_text=True))
    assert 'value="member_added"' in page
    assert 'value="screening_hit"' not in page and 'value="disclosure_changed"' not in page
    with svc.db.reader() as session:
        row = session.get(CaseRow, accepted.id)
        offered = queries.case_actions(world.actor("security"), row, queries.restore(session, row))
    assert offered == ["member_added", "partner_added"]
    for name in ("screening_hit", "disclosure_changed"):
        response = post(client, f"/cases/{accepted.id}/messages", {"name": name, "subject_id": "M1"})
        assert response.status_code == 400
    assert delivered(svc, accepted.id) == []


def test_tejun_itself_still_sends_them_and_they_start_a_follow_up(svc, world, accepted):
    from service.cases.follow_up_delivery import deliver_pending
    from service.followups import request_follow_up
    from service.unit_of_work import unit_of_work

    with unit_of_work(svc) as session:
        row = request_follow_up(session, session.get(CaseRow, accepted.id), "screening_hit", {
            "kind": "screening_hit", "subject_id": "M1", "subject_name": "山田 太郎",
            "hits": [{"hit_id": 7, "list": "meti_end_user_list", "list_date": "2026-04-01", "entry_name": "X",
                      "score": 0.97, "classification": "exact"}]}, reason="test")
        row_id = row.id
    assert deliver_pending(svc, case_ids=[accepted.id]).delivered == [accepted.id]
    (data,) = delivered(svc, accepted.id)
    assert data["message"] == "screening_hit" and data["payload"]["trigger"]["trigger_id"] == row_id
    assert status(svc, accepted.id) == "running"
    assert [i.element_id for i in accepted.items()] == ["follow_up_report"]


def test_even_tejun_cannot_deliver_a_payload_the_model_cannot_read(svc, world, accepted):
    for payload in ({"trigger": "x"}, {"trigger": {"kind": "screening_hit", "subject_id": ["M1"], "trigger_id": 1}},
                    SCREENING_HIT, {}):
        with pytest.raises(ValidationFailed):
            commands.send_message(svc, SYSTEM, accepted.id, "screening_hit", payload)
    assert delivered(svc, accepted.id) == [] and status(svc, accepted.id) == "running"


# -- payloads people send ------------------------------------------------------------------------------------------
MALFORMED_MEMBER_ADDED = [
    ({"trigger": "x"}, ["/payload/trigger"]),
    ({"trigger": {"kind": "member_added", "member": 5}}, ["/payload/trigger/member"]),
    ({"trigger": {"kind": "member_added", "member": {"name": "", "role": "boss"}}},
     ["/payload/trigger/member/consent_date", "/payload/trigger/member/consent_obtained",
      "/payload/trigger/member/name", "/payload/trigger/member/role"]),
    (newcomer(consent_obtained=False), ["/payload/trigger/member/consent_obtained"]),
    (newcomer(name="x" * 201), ["/payload/trigger/member/name"]),
    (newcomer(email="not an address", consent_date="2026-02-30"),
     ["/payload/trigger/member/consent_date", "/payload/trigger/member/email"]),
    ({**newcomer(), "extra": 1}, ["/payload/extra"]),
    ({"trigger": {**newcomer()["trigger"], "kind": "screening_hit"}}, ["/payload/trigger/kind"]),
    ({"trigger": {**newcomer()["trigger"], "partner": {"name": "P"}}}, ["/payload/trigger/partner"]),
    ({}, ["/payload/trigger"]),
]


@pytest.mark.parametrize("payload, expected", MALFORMED_MEMBER_ADDED)
def test_a_malformed_member_added_is_a_422_with_pointers_and_the_case_runs_on(app, svc, world, accepted,
                                                                            payload, expected):
    client = sign_in(app, world, "security")
    response = post_json(client, f"/api/v1/cases/{accepted.id}/messages", {"name": "member_added",
                                                                           "payload": payload})
    assert response.status_code == 422, response.get_json()
    assert pointers(response) == expected
    assert delivered(svc, accepted.id) == []
    assert status(svc, accepted.id) == "running" and accepted.items() == []
    assert "member_added" in waiting(svc, accepted.id)


def test_a_well_formed_member_added_through_the_api_starts_the_follow_up(app, svc, world, accepted):
    client = sign_in(app, world, "security")
    body = {"name": "member_added", "payload": newcomer(username=world.username("researcher2"))}
    response = post_json(client, f"/api/v1/cases/{accepted.id}/messages", body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "running"
    (data,) = delivered(svc, accepted.id)
    assert data == {"message": "member_added", "payload": body["payload"]}
    assert [i.element_id for i in accepted.items()] == ["follow_up_report"]


def test_withdraw_needs_a_reason_through_the_api_as_on_the_page(app, svc, world):
    case = Case(svc, world)
    client = sign_in(app, world, "security")
    for payload, expected in (({}, ["/payload/withdraw_reason"]), ({"withdraw_reason": "  "},
                                                                    ["/payload/withdraw_reason"]),
                              ({"withdraw_reason": 3}, ["/payload/withdraw_reason"]),
                              ({"withdraw_reason": "中止", "outcome": "accepted"}, ["/payload/outcome"])):
        response = post_json(client, f"/api/v1/cases/{case.id}/messages", {"name": "withdraw", "payload": payload})
        assert response.status_code == 422 and pointers(response) == expected, payload
    assert status(svc, case.id) == "running"
    response = post_json(client, f"/api/v1/cases/{case.id}/messages",
                         {"name": "withdraw", "payload": {"withdraw_reason": "研究計画の中止"}})
    assert response.status_code == 200 and status(svc, case.id) == "completed"


def test_an_unknown_message_is_a_422_at_its_name_for_those_who_see_the_case(app, svc, world, accepted):
    response = post_json(sign_in(app, world, "security"), f"/api/v1/cases/{accepted.id}/messages",
                         {"name": "close_everything", "payload": {}})
    assert response.status_code == 422 and pointers(response) == ["/name"]
    response = post_json(sign_in(app, world, "partner_security"), f"/api/v1/cases/{accepted.id}/messages",
                         {"name": "close_everything", "payload": {}})
    assert response.status_code == 404


def test_the_page_and_the_api_find_the_same_problems(app, svc, world, accepted):
    """The page's fields are built into the message's payload and checked by the same schema."""
    client = sign_in(app, world, "security")
    form = {"name": "member_added", "member_name": " ", "member_role": "boss", "member_username": "u" * 151}
    page = post(client, f"/cases/{accepted.id}/messages", form)
    assert page.status_code == 422
    shown = set(re.findall(r'id="([a-z_]+)-error"', page.get_data(as_text=True)))
    assert shown == {"member_name", "member_role", "member_username", "member_consent"}
    api = post_json(client, f"/api/v1/cases/{accepted.id}/messages", {"name": "member_added", "payload": {
        "trigger": {"kind": "member_added", "member": {"name": "", "role": "boss", "username": "u" * 151,
                                                       "consent_obtained": False, "consent_date": today()}}}})
    assert api.status_code == 422
    assert pointers(api) == sorted(pointer for pointer, field in
                                   __import__("service.web.case_actions", fromlist=["MESSAGE_FIELDS"])
                                   .MESSAGE_FIELDS.items() if field in shown)
    assert delivered(svc, accepted.id) == [] and status(svc, accepted.id) == "running"


def test_the_openapi_document_describes_the_messages_and_their_422(app, world):
    client = sign_in(app, world, "security")
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/cases/{case_id}/messages"]["post"]
    assert {"400", "401", "403", "404", "409", "422"} <= set(operation["responses"])
    schema = spec["components"]["schemas"]["Message"]["properties"]
    assert "screening_hit" in schema["name"]["description"] and "422" in schema["payload"]["description"]


# -- the registry ----------------------------------------------------------------------------------------------------
def test_every_message_of_the_models_has_a_schema_and_senders():
    names = set()
    for path in (ROOT / "bpmn").glob("*.bpmn"):
        names |= set(re.findall(r'<bpmn:message id="[^"]+" name="([^"]+)"', path.read_text()))
    registry = case_messages.registry(ROOT / "forms")
    assert names == set(registry) == set(case_messages.SENDERS)
    assert {n for n, m in registry.items() if m.system_only} == {"screening_hit", "disclosure_changed"}
    assert queries.PAGE_MESSAGES == ("withdraw", "member_added", "partner_added", "follow_up_requested")


def test_a_schema_file_without_senders_stops_the_start(tmp_path):
    (tmp_path / "messages").mkdir()
    for path in (ROOT / "forms" / "messages").glob("*.schema.json"):
        (tmp_path / "messages" / path.name).write_bytes(path.read_bytes())
    (tmp_path / "messages" / "surprise.schema.json").write_text('{"type": "object"}')
    with pytest.raises(case_messages.MessageSetupError, match="surprise"):
        case_messages.load(tmp_path / "messages")
    (tmp_path / "messages" / "surprise.schema.json").unlink()
    (tmp_path / "messages" / "withdraw.schema.json").write_text('{"type": "objekt"}')
    with pytest.raises(case_messages.MessageSetupError, match="withdraw"):
        case_messages.load(tmp_path / "messages")
