"""Opening a case and sending it events from the pages (GET/POST /cases/new, POST /cases/<id>/messages), and
use-case refusals in the reader's language."""

from __future__ import annotations

import html
import re
from datetime import date

from sqlalchemy import func, select

from service import clock
from service.cases import commands, queries
from service.models import Call, Event, WorkItem
from service.models import Case as CaseRow
from tests.web.helpers import Case, post, sign_in


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def cases_of(svc, lead_id: int) -> int:
    with svc.db.reader() as session:
        return session.scalar(select(func.count()).select_from(CaseRow).where(CaseRow.lead_institution_id == lead_id))


def start_form(world, **overrides) -> dict:
    form = {"call_id": str(world.call_id), "title": "量子センサの研究", "erad_project_number": "JP26-0042",
            "project_end_date": "2029-03-31", "variant": "foreign_joint", "partner_ids": [str(world.partner_id)]}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def field_error(page: str, field: str) -> str:
    """The message shown next to `field` (an input there is marked invalid and points at the message)."""
    if f'id="{field}"' in page:
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true" aria-describedby="{field}-error"', page), field
    return re.search(rf'id="{field}-error"><li>(.*?)</li>', page).group(1)


# -- opening a case ---------------------------------------------------------------------------------------
def test_a_security_officer_opens_a_case_and_finds_its_first_task(app, svc, world):
    client = sign_in(app, world, "security")
    assert 'href="/cases/new"' in text(client.get("/cases")) and 'href="/cases/new"' in text(client.get("/"))
    form = text(client.get("/cases/new"))
    assert "新規案件" in form and f'value="{world.call_id}"' in form and f"{world.tag} プログラム" in form
    assert f'value="{world.partner_id}"' in form and f'<option value="{world.lead_id}"' not in form  # not own partner

    response = post(client, "/cases/new", start_form(world))
    assert response.status_code == 302
    case_id = int(re.fullmatch(r"/cases/(\d+)", response.location).group(1))
    page = text(client.get(response.location))
    assert "量子センサの研究" in page and "を開始しました。最初のタスクがあなたのタスク一覧で待っています。" in page
    with svc.db.reader() as session:
        case = session.get(CaseRow, case_id)
        assert (case.lead_institution_id, case.call_id, case.variant, case.erad_project_number) == (
            world.lead_id, world.call_id, "foreign_joint", "JP26-0042")
        assert [(p.organization_id, p.role) for p in case.parties] == [(world.partner_id, "partner")]
        started = session.scalars(select(Event).where(Event.case_id == case_id, Event.action == "case_started")).one()
        assert started.actor_id == world.users["security"]
        assert started.data["call"]["project_end_date"] == "2029-03-31"
        first = session.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()
    assert [i.element_id for i in first] == ["fix_team_roster"]
    queue = text(client.get("/?tab=team"))
    assert case.reference in queue and f"/tasks/{first[0].task_id}" in queue


def test_bad_input_is_shown_at_its_field_and_opens_nothing(app, svc, world):
    client = sign_in(app, world, "security")
    with svc.db.transaction() as session:
        closed = Call(program_id=world.program_id, code=f"{world.tag}-closed", title="締切済み",
                      risk_deadline=date(2027, 1, 29), status="closed", created_at=clock.now())
        session.add(closed)
        session.flush()
        closed_id = closed.id
    before = cases_of(svc, world.lead_id)
    cases = [
        (start_form(world, call_id=None), "call_id", "研究課題が採択された公募を選んでください。"),
        (start_form(world, call_id=str(closed_id)), "call_id", "この公募は募集中ではありません。"),
        (start_form(world, title="  "), "title", "入力してください。"),
        (start_form(world, partner_ids=[str(world.lead_id)]), "partner_ids",
         "代表機関を共同研究先にすることはできません。"),
        (start_form(world, partner_ids=["999999999"]), "partner_ids", "共同研究先の機関は一覧から選んでください。"),
        (start_form(world, erad_project_number="JP 26/42"), "erad_project_number",
         "英数字とハイフンで32文字までです。"),
        (start_form(world, project_end_date="2029-02-30"), "project_end_date",
         "日付は YYYY-MM-DD の形式で入力してください。"),
        (start_form(world, variant="overseas"), "variant", "選択肢から選んでください。"),
    ]
    for form, field, message in cases:
        response = post(client, "/cases/new", form)
        page = text(response)
        assert response.status_code == 422, field
        assert field_error(page, field) == message
        assert "案件は開始されていません。表示された項目を修正してください。" in page
        assert 'value="量子センサの研究"' in page or field == "title"  # what was typed is kept
    assert cases_of(svc, world.lead_id) == before


def test_only_lead_institution_staff_open_cases_for_their_institution(app, svc, world):
    before = cases_of(svc, world.lead_id)
    for who in ("fa_officer", "researcher", "ministry"):
        client = sign_in(app, world, who)
        assert 'href="/cases/new"' not in text(client.get("/cases"))
        assert client.get("/cases/new").status_code == 403
        assert post(client, "/cases/new", start_form(world, lead_institution_id=str(world.lead_id))).status_code == 403
    # another university's security office may open cases, but only for its own institution
    other = sign_in(app, world, "partner_security")
    form = text(other.get("/cases/new"))
    assert f'name="lead_institution_id" value="{world.partner_id}"' in form
    response = post(other, "/cases/new", start_form(world, lead_institution_id=str(world.lead_id), partner_ids=[]))
    assert response.status_code == 422
    assert field_error(text(response), "lead_institution_id") == "案件を開始できるのは所属機関の案件だけです。"
    assert cases_of(svc, world.lead_id) == before
    # the institution administrator of the lead institution may
    admin = sign_in(app, world, "admin")
    assert post(admin, "/cases/new", start_form(world, partner_ids=[])).status_code == 302
    assert cases_of(svc, world.lead_id) == before + 1


# -- case events ------------------------------------------------------------------------------------------
def test_withdrawing_through_the_page_ends_the_case(app, svc, world):
    case = Case(svc, world, title="取り下げる研究")
    client = sign_in(app, world, "security")
    page = text(client.get(f"/cases/{case.id}"))
    assert "案件の操作" in page and 'name="name" value="withdraw"' in page and "data-confirm=" in page

    # a reason and the confirmation are required; nothing happens without them
    response = post(client, f"/cases/{case.id}/messages", {"name": "withdraw", "withdraw_reason": " "})
    assert response.status_code == 422
    page = text(response)
    assert field_error(page, "withdraw_reason") == "取り下げの理由を入力してください。"
    assert "申請を取り下げることを確認してください。" in page
    assert case.items() != []

    response = post(client, f"/cases/{case.id}/messages",
                    {"name": "withdraw", "withdraw_reason": "研究計画の中止", "confirm": "yes"})
    assert response.status_code == 302 and response.location == f"/cases/{case.id}"
    page = text(client.get(response.location))
    assert "申請を取り下げました。案件は終了しました。" in page
    with svc.db.reader() as session:
        row = session.get(CaseRow, case.id)
        assert (row.status, row.outcome) == ("completed", "withdrawn")
        delivered = session.scalars(select(Event).where(Event.case_id == case.id,
                                                        Event.action == "message_delivered")).one()
        assert delivered.data == {"message": "withdraw", "payload": {"withdraw_reason": "研究計画の中止"}}
        assert delivered.actor_id == world.users["security"]
    assert case.items() == []
    timeline = page.split('id="timeline-heading"')[1]
    assert "(申請取り下げ)" in timeline and "security" in timeline
    assert "案件の操作" not in page  # an ended case waits for nothing

    # sent again (another tab, or someone else was first): a clear message in Japanese, nothing changes
    again = post(client, f"/cases/{case.id}/messages",
                 {"name": "withdraw", "withdraw_reason": "二重送信", "confirm": "yes"})
    assert again.status_code == 302
    page = text(client.get(again.location))
    assert "変更は行われませんでした：案件はすでに終了しています" in page and "the case has ended" not in page
    english = sign_in(app, world, "security", lang="en")
    response = post(english, f"/cases/{case.id}/messages",
                    {"name": "withdraw", "withdraw_reason": "twice", "confirm": "yes"})
    assert "Nothing was changed: The case has ended" in text(english.get(response.location))


def test_the_message_route_answers_only_those_who_may_send(app, svc, world):
    case = Case(svc, world)
    withdraw = {"name": "withdraw", "withdraw_reason": "理由", "confirm": "yes"}
    # another university (not a party) and an outsider researcher do not see the case at all
    for who in ("partner_security", "researcher2"):
        assert post(sign_in(app, world, who), f"/cases/{case.id}/messages", withdraw).status_code == 404
    assert post(sign_in(app, world, "security"), "/cases/999999999/messages", withdraw).status_code == 404
    # the funding agency and the institution administrator see the case but may not withdraw it
    for who in ("fa_officer", "admin"):
        client = sign_in(app, world, who)
        assert 'value="withdraw"' not in text(client.get(f"/cases/{case.id}"))
        assert post(client, f"/cases/{case.id}/messages", withdraw).status_code == 403
    security = sign_in(app, world, "security")
    assert post(security, f"/cases/{case.id}/messages", {"name": "close_everything"}).status_code == 400
    # a trigger the case does not wait for yet (it is still in the application phase): held until it can
    response = post(security, f"/cases/{case.id}/messages",
                    {"name": "member_added", "member_name": "小川 蓮", "member_role": "participant",
                     "member_consent": "yes"})
    assert response.status_code == 302
    assert "変更を記録しました。案件が受け付けられる段階になり次第、フォローアップを開始します。" in text(
        security.get(response.location))
    with svc.db.reader() as session:
        assert session.get(CaseRow, case.id).status == "running"


def test_a_new_team_member_after_acceptance_starts_a_follow_up(app, svc, world):
    case = Case(svc, world)
    case.to_fa_review()
    case.do("review_submission", "fa_officer", {"fa_review": {"decision": "accept"}})
    case.do("approve_review_outcome", "fa_manager", {"fa_outcome_approval": {"approved": True}})
    client = sign_in(app, world, "security")
    page = text(client.get(f"/cases/{case.id}"))
    assert 'value="member_added"' in page and 'value="partner_added"' in page and 'value="withdraw"' not in page

    missing = post(client, f"/cases/{case.id}/messages", {"name": "member_added", "member_name": "小川 蓮"})
    assert missing.status_code == 422
    assert field_error(text(missing), "member_role") == "選択肢から選んでください。"
    response = post(client, f"/cases/{case.id}/messages",
                    {"name": "member_added", "member_name": "小川 蓮", "member_role": "participant",
                     "member_consent": "yes"})
    assert response.status_code == 302
    assert "研究者の追加を記録しました。フォローアップが始まりました。" in text(client.get(response.location))
    report = case.item("follow_up_report")
    with svc.db.reader() as session:
        flow = queries.restore(session, session.get(CaseRow, case.id))
        draft = flow.human_task(report.task_id).data["follow_up_report"]
    assert draft["trigger_kind"] == "member_added"
    assert [m["name"] for m in draft["new_members"]] == ["小川 蓮"]


# -- use-case refusals in the reader's language -------------------------------------------------------------
def test_use_case_messages_are_translated_on_pages_and_stay_english_in_the_api(app, svc, world):
    from service.errors import Conflict
    from service.web.errors import message_for

    with app.test_request_context("/", headers={"Cookie": "lang=ja"}):
        error = Conflict("the case is not waiting for '%(name)s' now", params={"name": "withdraw"})
        assert error.detail == "the case is not waiting for 'withdraw' now"
        assert message_for(error) == "案件は現在 'withdraw' を受け付けていません"
    case = Case(svc, world)
    commands.send_message(svc, world.actor("security"), case.id, "withdraw", {"withdraw_reason": "x"})
    api = sign_in(app, world, "security")
    response = api.post(f"/api/v1/cases/{case.id}/messages", json={"name": "withdraw"},
                        headers={"X-CSRFToken": api.csrf})
    assert response.status_code == 409 and response.get_json()["detail"] == "the case has ended"


def test_the_new_pages_have_no_text_left_in_the_other_language(app, svc, world):
    from tests.web.test_i18n import english_leftovers, japanese_leftovers, visible

    case = Case(svc, world)
    for lang, leftovers in (("ja", english_leftovers), ("en", japanese_leftovers)):
        client = sign_in(app, world, "security", lang=lang)
        pages = {
            "form": client.get("/cases/new"),
            "form with errors": post(client, "/cases/new", start_form(world, call_id=None, partner_ids=[
                str(world.lead_id)], erad_project_number="?", project_end_date="soon")),
            "case with actions": client.get(f"/cases/{case.id}"),
            "withdraw with errors": post(client, f"/cases/{case.id}/messages", {"name": "withdraw"}),
        }
        for name, response in pages.items():
            page = response.get_data(as_text=True)
            assert f'<html lang="{lang}">' in page
            assert ("tejun-field-errors" in page) == ("errors" in name), name
            assert not leftovers(visible(page)), (lang, name, leftovers(visible(page)))
