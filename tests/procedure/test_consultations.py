"""FA–institution consultation before submission and during the review (issue 18, point 1; docs/procedure.md §9.1).

A case driven through the service layer while the FA and the lead institution's security office consult on it:
who may open, answer and close a thread, who sees it (not the partner, the ministry or the team's researchers),
the files, the notifications, the audit record, and that the case still replays identically.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from service import consultations
from service.attachments import for_case, for_download
from service.audit.presentation import action_label
from service.audit.replay import replay_and_compare
from service.auth.permissions import case_scope
from service.consultations import Upload
from service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.forms import references
from service.models import Case, Notification
from tests.web.helpers import sign_in, token_for

from .drive import ASSESSMENT_AS_PROPOSED, Driver, approve

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def drive(svc, world, travel) -> Driver:
    references.forget()
    return Driver(svc, world)


def _threads(svc, actor, case_id):
    with svc.db.reader() as session:
        return consultations.threads(session, actor, session.get(Case, case_id))


def _notified(svc, user_id, case_id) -> list[str]:
    with svc.db.reader() as session:
        return [n.title for n in session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.case_id == case_id,
            Notification.kind == "consultation").order_by(Notification.id))]


def test_the_fa_and_the_security_office_consult_before_submission_and_only_they_see_it(drive, svc, world, app):
    case_id = drive.start()
    drive.roster(case_id)
    fa, security, admin = drive.actor("fa_officer"), drive.actor("security"), drive.actor("admin")
    case = drive.case(case_id)
    assert case.fa_submission == "awaiting" and case.stage == "identification"

    # the FA asks about the team's scope during ① (before anything was submitted to it)
    thread_id = consultations.open_thread(
        svc, fa, case_id, subject="team_scope", title="研究チームの範囲",
        body="研究室の留学生を研究チームに含めるか、研究室の状況を教えてください。")
    # the lead's office hears of it, in its own language; the FA's own people do not get their question back
    assert _notified(svc, world.users["security"], case_id) == [
        f"{case.reference} の相談: 研究チームの範囲"]
    assert _notified(svc, world.users["fa_officer"], case_id) == []
    # the office answers with a document; the FA sees the answer and may download the file
    consultations.answer(svc, security, case_id, thread_id, body="留学生2名は本研究に従事しません。名簿を添付します。",
                         files=[Upload("研究室名簿.pdf", io.BytesIO(PDF))])
    assert _notified(svc, world.users["fa_officer"], case_id) == [
        f"{case.reference} の相談に返信がありました: 研究チームの範囲"]
    (seen,) = _threads(svc, fa, case_id)
    assert [(m.kind, m.side, m.author_name) for m in seen.messages] == [
        ("question", "fa", "fa_officer"), ("answer", "institution", "security")]
    (file_id,) = seen.messages[1].attachments
    with svc.db.reader() as session:
        assert for_download(session, svc, fa, file_id).original_filename == "研究室名簿.pdf"

    # only the asking side closes: the office may not, the FA may
    with pytest.raises(Forbidden):
        consultations.close(svc, security, case_id, thread_id)
    consultations.close(svc, fa, case_id, thread_id, note="了解しました。名簿のとおりで差し支えありません。")
    with pytest.raises(Conflict):
        consultations.answer(svc, security, case_id, thread_id, body="追記")
    # the institution asks the FA about a measure
    measure_thread = consultations.open_thread(svc, admin, case_id, subject="measure", measure="M5",
                                               title="M5 の実施時期", body="M5 の実施を採択後にしてよいか。")

    # who sees the consultations: the FA and the lead institution, auditors; not the partner, the ministry,
    # the team's researchers, another FA
    for who in ("fa_officer", "fa_manager", "security", "admin", "auditor", "fa_auditor"):
        assert [t.row.id for t in _threads(svc, drive.actor(who), case_id)] == [thread_id, measure_thread], who
    for who in ("partner_security", "partner_researcher", "researcher", "ministry"):
        assert _threads(svc, drive.actor(who), case_id) == [], who
        with pytest.raises(NotFound):
            consultations.answer(svc, drive.actor(who), case_id, measure_thread, body="見えるか")
        with pytest.raises(NotFound):
            consultations.open_thread(svc, drive.actor(who), case_id, subject="general", title="t", body="b")
    with svc.db.reader() as session, pytest.raises(NotFound):
        for_download(session, svc, drive.actor("partner_security"), file_id)
    with svc.db.reader() as session:
        case_row = session.get(Case, case_id)
        partner = drive.actor("partner_security")
        assert file_id not in {a.public_id for a in for_case(session, partner, case_row,
                                                              case_scope(partner, case_row))}
    # the case page: the section for the parties (the FA before submission too), none for the partner
    page = sign_in(app, world, "fa_officer").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "資金配分機関と研究機関の相談・調整" in page and "研究チームの範囲" in page and "研究室名簿.pdf" in page
    partner_page = sign_in(app, world, "partner_security").get(f"/cases/{case_id}")
    assert partner_page.status_code == 200 and "研究チームの範囲" not in partner_page.get_data(as_text=True)
    # the page's reply form (multipart, with a file), then the API's list as each side reads it
    client = sign_in(app, world, "fa_manager")
    sent = client.post(f"/cases/{case_id}/consultations/{measure_thread}/messages", data={
        "csrf_token": client.csrf, "body": "資料を拝見します。", "files": (io.BytesIO(PDF), "確認事項.pdf")},
        content_type="multipart/form-data")
    assert sent.status_code == 302 and sent.location.endswith(f"#consultation-{measure_thread}")
    api = app.test_client()
    listed = api.get(f"/api/v1/cases/{case_id}/consultations",
                     headers=token_for(api, world.username("security"))).get_json()["items"]
    assert [t["status"] for t in listed] == ["closed", "open"]
    assert listed[1]["messages"][-1]["attachments"][0]["name"] == "確認事項.pdf"
    assert api.get(f"/api/v1/cases/{case_id}/consultations",
                   headers=token_for(api, world.username("partner_security"))).get_json()["items"] == []
    # auditors read, but are not a party
    with pytest.raises(Forbidden):
        consultations.answer(svc, drive.actor("auditor"), case_id, measure_thread, body="監査")
    # what a form refuses, the consultation does too: all problems at once
    with pytest.raises(ValidationFailed) as refused:
        consultations.open_thread(svc, fa, case_id, subject="measure", measure="M0", title=" ", body="")
    assert {e["pointer"] for e in refused.value.errors} == {"/title", "/body", "/measure"}

    # the case goes on: submission and the review; the FA answers during the review and the asker closes
    drive.identification(case_id)
    drive.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
    drive.do(case_id, "institutional_approval", "admin", approve())
    consultations.answer(svc, drive.actor("fa_manager"), case_id, measure_thread, body="採択後3か月以内で結構です。")
    consultations.close(svc, security, case_id, measure_thread)
    drive.accept(case_id)
    # after the FA's decision no new consultation opens
    with pytest.raises(Conflict):
        consultations.open_thread(svc, fa, case_id, subject="general", title="追加", body="追加の質問")

    # the record: each step an event of the case's chain, by whom, with the text and the file's hash
    events = [e for e in drive.events(case_id) if e.action.startswith("consultation_")]
    assert [(e.action, e.actor_name, e.data["thread"]) for e in events] == [
        ("consultation_opened", world.username("fa_officer"), thread_id),
        ("consultation_answered", world.username("security"), thread_id),
        ("consultation_closed", world.username("fa_officer"), thread_id),
        ("consultation_opened", world.username("admin"), measure_thread),
        ("consultation_answered", world.username("fa_manager"), measure_thread),
        ("consultation_answered", world.username("fa_manager"), measure_thread),
        ("consultation_closed", world.username("security"), measure_thread),
    ]
    assert events[0].data["subject"] == "team_scope" and events[3].data["measure"] == "M5"
    assert events[1].data["attachments"][0]["name"] == "研究室名簿.pdf"
    assert len(events[1].data["attachments"][0]["sha256"]) == 64
    assert action_label("consultation_opened") != "Recorded event"
    # and the case replays identically with them in its stream
    with svc.db.reader() as session:
        result = replay_and_compare(session, session.get(Case, case_id))
    assert result.identical, result.differences


def test_the_case_timeline_tells_the_consultation_to_its_parties_only(drive, svc, world, app):
    from service.cases.history import history

    case_id = drive.start()
    drive.roster(case_id)
    fa, security = drive.actor("fa_officer"), drive.actor("security")
    thread_id = consultations.open_thread(svc, fa, case_id, subject="general", title="管理対象データの範囲",
                                          body="実験データは管理対象ですか。")
    consultations.answer(svc, security, case_id, thread_id, body="はい、管理対象です。")
    consultations.close(svc, fa, case_id, thread_id)

    def told(who: str, lang: str) -> list[str]:
        actor = drive.actor(who)
        with svc.db.reader() as session:
            case = session.get(Case, case_id)
            return [e.title for e in history(session, case_scope(actor, case), case, lang)
                    if e.event.action.startswith("consultation_")]

    # the FA (before the first submission), the lead's office and auditors read it as sentences of their language
    for who in ("fa_officer", "security", "auditor"):
        assert told(who, "ja") == ["資金配分機関が研究機関に相談しました：管理対象データの範囲",
                                   "研究機関が相談に回答しました：管理対象データの範囲",
                                   "資金配分機関が相談を終了しました：管理対象データの範囲"], who
    assert told("security", "en") == [
        "The funding agency asked the institution: 管理対象データの範囲",
        "The institution replied in the consultation: 管理対象データの範囲",
        "The funding agency closed the consultation: 管理対象データの範囲"]
    # not the partner, the ministry or the team's researchers
    for who in ("partner_security", "ministry", "researcher"):
        assert told(who, "ja") == [], who
    # the case page's own timeline shows it to the FA and not to the partner
    page = sign_in(app, world, "fa_officer").get(f"/cases/{case_id}").get_data(as_text=True)
    timeline = page[page.index('id="timeline-heading"'):]
    assert "資金配分機関が研究機関に相談しました：管理対象データの範囲" in timeline
    partner = sign_in(app, world, "partner_security").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "管理対象データの範囲" not in partner


def test_files_reach_a_consultation_through_the_api_with_the_page_s_checks(drive, svc, world, app):
    case_id = drive.start()
    thread_id = consultations.open_thread(svc, drive.actor("fa_officer"), case_id, subject="general",
                                          title="共同研究契約", body="契約書の写しを送ってください。")
    api = app.test_client()
    url = f"/api/v1/cases/{case_id}/consultations/{thread_id}/attachments"

    def post(who: str, files: list[tuple[bytes, str]], body: str = "契約書の写しです。"):
        return api.post(url, headers=token_for(api, world.username(who)), content_type="multipart/form-data",
                        data={"body": body, "files": [(io.BytesIO(content), name) for content, name in files]})

    sent = post("security", [(PDF, "契約書.pdf"), (b"signed on 2026-04-01\n", "署名記録.txt")])
    assert sent.status_code == 201, sent.get_json()
    listed = api.get(f"/api/v1/cases/{case_id}/consultations",
                     headers=token_for(api, world.username("fa_officer"))).get_json()["items"]
    message = listed[0]["messages"][-1]
    assert (message["id"], message["side"], message["body"]) == (
        sent.get_json()["id"], "institution", "契約書の写しです。")
    assert [(f["name"], f["content_type"]) for f in message["attachments"]] == [
        ("契約書.pdf", "application/pdf"), ("署名記録.txt", "text/plain")]
    downloaded = api.get(message["attachments"][0]["download"], headers=token_for(api, world.username("fa_officer")))
    assert downloaded.status_code == 200 and downloaded.data == PDF
    (event,) = drive.events(case_id, "consultation_answered")
    assert [a["name"] for a in event.data["attachments"]] == ["契約書.pdf", "署名記録.txt"]

    # the page's checks: a type from the bytes outside the allow-list, nothing written; no file, no message
    refused = post("security", [(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "見積.pdf")])
    assert refused.status_code == 415 and refused.mimetype == "application/problem+json"
    assert post("security", []).status_code == 422
    # not a party: the partner does not see the threads, the auditor reads only
    assert post("partner_security", [(PDF, "p.pdf")]).status_code == 404
    assert post("auditor", [(PDF, "a.pdf")]).status_code == 403
    assert len(drive.events(case_id, "consultation_answered")) == 1
    with svc.db.reader() as session:
        assert replay_and_compare(session, session.get(Case, case_id)).identical


def test_the_auditor_reads_each_consultation_event_in_sentences_without_keys(drive, svc, world, app):
    from tests.web.test_i18n import visible

    case_id = drive.start()
    thread_id = consultations.open_thread(svc, drive.actor("admin"), case_id, subject="measure", measure="M5",
                                          title="M5 の実施時期", body="M5 の実施を採択後にしてよいか。")
    consultations.answer(svc, drive.actor("fa_officer"), case_id, thread_id, body="採択後で結構です。",
                         files=[Upload("回答.pdf", io.BytesIO(PDF))])
    digest = drive.events(case_id, "consultation_answered")[0].data["attachments"][0]["sha256"]
    pages = {lang: visible(sign_in(app, world, "auditor", lang=lang).get(f"/audit/cases/{case_id}")
                           .get_data(as_text=True)) for lang in ("ja", "en")}
    assert "研究機関が資金配分機関に相談しました：M5 の実施時期" in pages["ja"]
    assert "相談の対象：A measure" not in pages["ja"] and "相談の対象：リスク軽減措置（M5 " in pages["ja"]
    assert "資金配分機関が相談に回答しました：M5 の実施時期" in pages["ja"]
    assert f"添付ファイル：回答.pdf（{len(PDF)} バイト、SHA-256 {digest}）" in pages["ja"]
    assert "The institution asked the funding agency: M5 の実施時期" in pages["en"]
    assert "About: A measure (M5 " in pages["en"].replace("（", " (").replace("）", ")")
    # the event's data keys and codes are not shown (in English, those that are no English word)
    keys = {"ja": ("thread", "subject", "side", "sha256", "content_type", "institution", "measure", "attachments"),
            "en": ("thread", "sha256", "content_type", "attachments", "fa")}
    for lang, text in pages.items():
        for key in keys[lang]:
            assert key not in text.split(), (lang, key)


def test_a_text_part_named_files_is_refused_not_a_server_error(drive, svc, world, app):
    case_id = drive.start()
    thread_id = consultations.open_thread(svc, drive.actor("fa_officer"), case_id, subject="general",
                                          title="確認", body="確認します。")
    api = app.test_client()
    sent = api.post(f"/api/v1/cases/{case_id}/consultations/{thread_id}/attachments",
                    headers=token_for(api, world.username("security")), content_type="multipart/form-data",
                    data={"body": "0", "files": "not a file"})
    assert sent.status_code == 422
    assert [e["message"] for e in sent.get_json()["errors"]] == ["a file is expected"]
