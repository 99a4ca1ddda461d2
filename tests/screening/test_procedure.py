"""Screening inside the procedure: the form pre-filled, hits reviewed (decisions in the case record), the
review gate, F2 from the reviewed results, and re-screening when a list changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.auth.actor import SYSTEM
from service.errors import Forbidden, InvalidRequest, NotFound, ValidationFailed
from service.models import PendingFollowUp, ScreeningHit
from service.screening.importers import import_list
from service.screening.review import review_hit
from tests.screening.driver import SAMPLES, Driver, import_sample, member


@pytest.fixture
def driver(svc, world):
    return Driver(svc, world)


def _team(world):
    return [member("山田 太郎", "pi", world.username("researcher")),
            member("佐藤 花子", "participant", world.username("researcher2")),
            member("鈴木 一郎", "student", filled_by="security_office")]


LISTED_APPOINTMENT = {"M2": {"appointments": [
    {"institution": "Strelsau Inst. of Technology", "country": "Ruritania", "current": True, "foreign": True}]}}


def _hits(svc, case_id):
    with svc.db.reader() as session:
        return list(session.scalars(select(ScreeningHit).where(ScreeningHit.case_id == case_id)
                                    .order_by(ScreeningHit.id)))


def test_the_screening_form_arrives_prefilled_with_the_hits_to_review(svc, world, driver):
    import_sample(svc, "meti_end_user_list", "meti_end_user_list.xlsx")
    partners = [{"organization_id": world.partner_id, "name": "株式会社トーキョー電子", "members": [
        member("田中 次郎", "co_pi", world.username("partner_researcher"))]}]
    case_id = driver.to_screening(_team(world), partners, LISTED_APPOINTMENT)

    rows = {r["subject_id"]: r for r in driver.screening_form(case_id)["results"]}
    assert set(rows) == {"M1", "M2", "M3", "P1", "P1-M1"}
    # (other tests may have imported more lists: this one checks against the METI list it imported)
    assert rows["M1"]["match_status"] == "no_match" and "meti_end_user_list" in rows["M1"]["lists_checked"]
    assert rows["M1"]["list_snapshot_date"] <= "2026-10-01"
    # a member's disclosed appointment at a listed institute, and the partner under its Japanese name
    assert rows["M2"]["match_status"] == "possible_match"
    assert "Strelsau Institute of Technology" in rows["M2"]["notes"]
    assert rows["P1"]["match_status"] == "possible_match" and "Tokyo Denshi Co., Ltd." in rows["P1"]["notes"]

    by_subject = {h.subject.subject_id: h for h in _hits(svc, case_id)}
    assert set(by_subject) == {"M2", "P1"}
    partner_hit = by_subject["P1"]
    assert partner_hit.classification == "probable" and partner_hit.score == 99.0
    evidence = partner_hit.evidence
    assert evidence["subject"]["name"] == "株式会社トーキョー電子"
    assert evidence["entry"]["name"] == "Tokyo Denshi Co., Ltd."
    assert evidence["space"] == "romaji" and evidence["subject"]["form"] == evidence["entry"]["form"] == "tokyo densi"
    assert any("romaji" in step for step in evidence["subject"]["normalizations"])
    assert by_subject["M2"].suggested_relation == "current_affiliation"
    assert by_subject["M2"].evidence["subject"]["label"].startswith("appointment")

    (performed,) = driver.events(case_id, "screening_performed")
    assert {h["entry_name"] for h in performed.data["hits"]} == {"Tokyo Denshi Co., Ltd.",
                                                                 "Strelsau Institute of Technology"}
    assert performed.data["snapshots"][0]["source"] == "meti_end_user_list"


def test_hits_must_be_reviewed_and_the_reviewed_results_drive_f2(svc, world, driver):
    import_sample(svc, "meti_end_user_list", "meti_end_user_list.xlsx")
    case_id = driver.to_screening(_team(world), extra=LISTED_APPOINTMENT)
    (hit,) = _hits(svc, case_id)

    # submitting while the hit waits for review is refused, pointing at the row
    with pytest.raises(ValidationFailed) as refused:
        driver.submit_screening(case_id)
    assert refused.value.errors[0]["pointer"] == "/screening_results/results/1/match_status"
    assert "await" in refused.value.errors[0]["message"]

    # only the lead institution's security officers decide, and always with a reason
    with pytest.raises((Forbidden, NotFound)):
        review_hit(svc, world.actor("partner_security"), hit.id, decision="false_positive", reason="別機関")
    with pytest.raises((Forbidden, NotFound)):
        review_hit(svc, world.actor("researcher"), hit.id, decision="false_positive", reason="別機関")
    with pytest.raises(InvalidRequest):
        review_hit(svc, world.actor("security"), hit.id, decision="confirmed_match", reason=" ")

    version = driver.case(case_id).version
    review_hit(svc, world.actor("security"), hit.id, decision="confirmed_match",
               reason="兼業先として本人が申告。リスト掲載機関と同一", listed_relation="current_affiliation")
    assert driver.case(case_id).version == version + 1  # the open form changed under its editors
    (reviewed,) = driver.events(case_id, "screening_hit_reviewed")
    assert reviewed.actor_name == world.username("security")
    assert reviewed.data["decision"] == "confirmed_match" and reviewed.data["reason"].startswith("兼業先")
    assert reviewed.data["entry_name"] == "Strelsau Institute of Technology"
    stored = _hits(svc, case_id)[0]
    assert stored.reviewer_id == world.users["security"] and stored.reviewed_at is not None

    rows = {r["subject_id"]: r for r in driver.screening_form(case_id)["results"]}
    assert rows["M2"]["match_status"] == "confirmed_match"
    assert rows["M2"]["listed_relation"] == "current_affiliation"

    # a submission contradicting the confirmed match is refused
    contradicting = [dict(r) for r in driver.screening_form(case_id)["results"]]
    contradicting[1].update(match_status="no_match", listed_relation="none")
    with pytest.raises(ValidationFailed, match="review"):
        driver.submit_screening(case_id, contradicting)

    driver.submit_screening(case_id)
    review = driver.item(case_id, "review_risk_assessment")
    data = driver.task_data(case_id, review.task_id)
    finding = next(f for f in data["findings"] if f["subject_id"] == "M2")
    # F2: a current affiliation with a listed entity, in a sensitive technology area, is L4 (risk_rubric.dmn)
    f2 = [f for f in finding["factors"] if f.get("factor") == "F2"]
    assert f2 and f2[0]["level"] == 4 and "listed entity" in f2[0]["reason"], finding
    assert finding["level"] == "L4" and data["proposed_level"] == "L4"


def test_a_false_positive_clears_the_row(svc, world, driver):
    import_sample(svc, "meti_end_user_list", "meti_end_user_list.xlsx")
    case_id = driver.to_screening(_team(world), extra=LISTED_APPOINTMENT)
    (hit,) = _hits(svc, case_id)
    review_hit(svc, world.actor("security2"), hit.id, decision="false_positive",
               reason="同名の別機関（所在地が異なる）")
    row = driver.screening_form(case_id)["results"][1]
    assert row["match_status"] == "no_match" and row["listed_relation"] == "none"
    assert "誤検知" in row["notes"]
    driver.submit_screening(case_id)
    review = driver.item(case_id, "review_risk_assessment")
    findings = driver.task_data(case_id, review.task_id)["findings"]
    finding = next(f for f in findings if f["subject_id"] == "M2")
    # no F2; only the disclosed foreign appointment itself (F6, L1)
    assert [f["factor"] for f in finding["factors"]] == ["F6"] and finding["level"] == "L1"


def test_a_new_list_snapshot_follows_up_on_exactly_the_affected_cases(svc, world, driver, tmp_path):
    from tests.data.screening.make_samples import METI_ROWS, write_meti

    import_sample(svc, "meti_end_user_list", "meti_end_user_list.xlsx")
    kanzaki = [member("山田 太郎", "pi", world.username("researcher")),
               member("神崎 凛太郎", "participant", world.username("researcher2"))]
    others = [member("山田 太郎", "pi", world.username("researcher")),
              member("鈴木 一郎", "student", filled_by="security_office")]
    affected = driver.to_screening(kanzaki)
    unaffected = driver.to_screening(others)
    in_application = driver.to_screening(kanzaki)
    for case_id in (affected, unaffected):
        driver.to_acceptance(case_id)
    driver.submit_screening(in_application)  # now in assessment: it cannot take a follow-up yet
    before = {c: driver.case(c).version for c in (affected, unaffected, in_application)}

    # a new US list names 神崎 凛太郎 (as "KANZAKI, Rintaro"): a probable hit through romaji
    csl = tmp_path / f"consolidated_{world.tag}.csv"
    csl.write_text((SAMPLES / "us_csl.csv").read_text(encoding="utf-8") + (
        f"csl-{world.tag},Specially Designated Nationals (SDN) - Treasury Department,,Individual,FICTION-EO,"
        '"KANZAKI, Rintaro",,,,,,,,,,,,,,,,,"KANZAKI, Rintarou",,,,,,\n'), encoding="utf-8")
    report = import_list(svc, SYSTEM, "us_csl", csl).rescreen
    assert set(report.affected_case_ids) >= {affected, in_application}
    assert unaffected not in report.affected_case_ids
    assert affected in report.follow_up_case_ids and in_application in report.pending_case_ids

    # the affected, accepted case is in a screening-hit follow-up, its report naming the subject
    (report_item,) = driver.items(affected, "follow_up_report")
    data = driver.task_data(affected, report_item.task_id)
    trigger = data["follow_up_trigger"]
    assert trigger["kind"] == "screening_hit" and trigger["subject_id"] == "M2"
    assert trigger["hits"][0]["entry_name"] == "KANZAKI, Rintaro" and trigger["hits"][0]["classification"] == "probable"
    assert data["follow_up_report"]["changed_subject_ids"] == ["M2"]
    (delivered,) = driver.events(affected, "message_delivered")
    assert delivered.actor_name == "system" and delivered.data["message"] == "screening_hit"
    # nothing happened to the case without that person
    assert driver.case(unaffected).version == before[unaffected]
    assert driver.items(unaffected, "follow_up_report") == []
    assert driver.events(unaffected, "screening_rescreened") == []
    # the case still in its application keeps the follow-up for later
    with svc.db.reader() as session:
        pending = session.scalars(select(PendingFollowUp).where(PendingFollowUp.case_id == in_application)).all()
    assert [(p.message, p.status) for p in pending] == [("screening_hit", "pending")]

    # the lead institution's security officers are told, nobody else
    for officer in ("security", "security2"):
        titles = [n.title for n in driver.notifications(officer, "screening_hit")]
        assert any(t.startswith(driver.case(affected).reference) and "神崎 凛太郎" in t for t in titles)
    for outsider in ("partner_security", "researcher", "fa_officer"):
        assert driver.notifications(outsider, "screening_hit") == []

    # the same list again: nothing new, no second follow-up
    assert import_list(svc, SYSTEM, "us_csl", csl).unchanged
    # a METI revision that touches nobody here: the cases are screened again, nobody is followed up
    path = tmp_path / "EndUserList_revised.xlsx"
    write_meti(path, METI_ROWS + [[5, "Sylvania", f"Sylvania Fictional Optics {world.tag}", "", "M"]],
               ["外国ユーザーリスト End User List", "令和8年11月20日改正"])
    rescreen = import_list(svc, SYSTEM, "meti_end_user_list", path).rescreen
    assert rescreen.cases_screened >= 3
    assert {affected, unaffected, in_application}.isdisjoint(rescreen.affected_case_ids)
    assert driver.items(unaffected, "follow_up_report") == []


def test_hits_are_reviewed_through_the_api_and_the_page(app, svc, world, driver, client):
    import re

    from tests.conftest import PASSWORD

    import_sample(svc, "meti_end_user_list", "meti_end_user_list.xlsx")
    case_id = driver.to_screening(_team(world), extra=LISTED_APPOINTMENT)

    def token(who):
        response = client.post("/api/v1/auth/token", json={"username": world.username(who), "password": PASSWORD})
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    officer = token("security")
    body = client.get(f"/api/v1/screening/cases/{case_id}", headers=officer).get_json()
    assert body["may_review"] is True and body["open_hits"] == 1
    (m2,) = [s for s in body["subjects"] if s["subject_id"] == "M2"]
    (hit,) = m2["hits"]
    assert hit["evidence"]["entry"]["name"] == "Strelsau Institute of Technology"
    assert client.get(f"/api/v1/screening/cases/{case_id}", headers=token("researcher")).status_code == 404
    denied = client.post(f"/api/v1/screening/hits/{hit['id']}/review", headers=token("fa_officer"),
                         json={"decision": "false_positive", "reason": "x"})
    assert denied.status_code == 403
    assert client.post(f"/api/v1/screening/hits/{hit['id']}/review", headers=officer,
                       json={"decision": "maybe", "reason": "x"}).status_code == 422

    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post("/login", data={"username": world.username("security"), "password": PASSWORD, "csrf_token": csrf})
    html = browser.get(f"/screening/cases/{case_id}?lang=en").get_data(as_text=True)
    assert "Strelsau Institute of Technology" in html and "Record decision" in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = browser.post(f"/screening/hits/{hit['id']}/review", data={
        "csrf_token": csrf, "case_id": case_id, "decision": "confirmed_match", "listed_relation": "current_affiliation",
        "reason": "本人申告の兼業先と一致"})
    assert done.status_code == 302
    after = client.get(f"/api/v1/screening/cases/{case_id}", headers=officer).get_json()
    assert after["open_hits"] == 0
    (m2,) = [s for s in after["subjects"] if s["subject_id"] == "M2"]
    assert m2["hits"][0]["decision"] == "confirmed_match"
    assert m2["hits"][0]["reviewer_name"] == world.username("security")
    driver.submit_screening(case_id)
    assert "review_risk_assessment" in driver.ready(case_id)


def test_a_hit_reviewed_while_the_screening_form_is_open_replays_identically(svc, world, driver):
    """The review rewrites the open form's rows: that change is part of the case's record, so `audit replay`
    puts the same rows (relation, decision) into the form."""
    from service.audit.replay import replay_and_compare
    from service.models import Case

    import_sample(svc, "meti_end_user_list", "meti_end_user_list.xlsx")
    case_id = driver.to_screening(_team(world), None, LISTED_APPOINTMENT)
    (hit, *_) = [h for h in _hits(svc, case_id) if h.decision is None]
    review_hit(svc, world.actor("security"), hit.id, decision="confirmed_match", reason="兼業先が掲載",
               listed_relation="current_affiliation")
    rows = {r["subject_id"]: r for r in driver.screening_form(case_id)["results"]}
    assert rows[hit.subject.subject_id]["listed_relation"] == "current_affiliation"
    with svc.db.reader() as session:
        result = replay_and_compare(session, session.get(Case, case_id))
    assert result.identical, [str(d) for d in result.differences]
