"""The pages over HTTP (Flask's test client) on the real procedure: what each kind of user sees and can do."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

from sqlalchemy import event, select

from service.app import create_app
from service.cases import commands
from service.models import Case as CaseRow
from service.models import Notification, User
from tests.conftest import PASSWORD
from tests.web.helpers import MANAGED_DATA, Case, disclosure, post, post_json, sign_in

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4f00000000049454e44ae426082"
)


def text(response) -> str:
    return response.get_data(as_text=True)


def data_block(page: str, block_id: str):
    return json.loads(re.search(rf'id="{block_id}">(.*?)</script>', page, re.S).group(1))


# -- signing in, language --------------------------------------------------------------------------------
def test_pages_need_a_signed_in_user(client):
    for path in ("/", "/cases", "/notifications", "/cases/1", "/tasks/00000000-0000-4000-8000-000000000000",
                 "/attachments/abc", "/cases/1/diagram/research_security_case.bpmn"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location, path


def test_login_page_is_japanese_by_default_and_english_on_request(client):
    page = text(client.get("/login"))
    assert '<html lang="ja">' in page and "ログイン" in page and "ユーザー名" in page
    client.set_cookie("lang", "en")
    page = text(client.get("/login"))
    assert '<html lang="en">' in page and "Username" in page and "ログイン" not in page


def test_wrong_password_is_a_clear_message(client, world):
    page = text(client.get("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": world.username("security"), "password": "nope",
                                           "csrf_token": token})
    assert response.status_code == 401
    assert "ユーザー名またはパスワードが正しくありません。" in text(response)


def test_forms_without_the_csrf_token_are_refused(app, world):
    client = sign_in(app, world, "security")
    response = client.post("/language", data={"lang": "en"})
    assert response.status_code == 400 and "Traceback" not in text(response)
    assert "フォームの有効期限が切れました" in text(response)


def test_language_switch_is_kept_as_the_users_preference(app, svc, world):
    client = sign_in(app, world, "fa_officer")
    assert "自分のタスク" in text(client.get("/"))
    response = post(client, "/language", {"lang": "en", "next": "/cases"})
    assert response.status_code == 302 and response.location == "/cases"
    assert "lang=en" in response.headers["Set-Cookie"]
    assert "Cases" in text(client.get("/cases"))
    with svc.db.reader() as session:
        assert session.get(User, world.users["fa_officer"]).locale == "en"
    # a new browser (no cookie) gets the stored preference after signing in
    fresh = sign_in(app, world, "fa_officer")
    assert "My tasks" in text(fresh.get("/"))
    assert post(fresh, "/language", {"lang": "xx"}).status_code == 400


def test_redirects_after_sign_in_stay_inside_tejun(app, world):
    client = app.test_client()
    page = text(client.get("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login?next=https://evil.example/", data={
        "username": world.username("security"), "password": PASSWORD,
        "csrf_token": token})
    assert response.location == "/"


# -- the queue ---------------------------------------------------------------------------------------------
def test_queue_tabs_counts_and_columns(app, svc, world):
    case = Case(svc, world, title="キュー表示の確認")
    client = sign_in(app, world, "security")
    page = text(client.get("/?tab=team"))
    for label in ("自分の担当", "チームの未割当", "組織内のすべての未完了", "期限超過"):
        assert label in page
    assert "研究チーム名簿と同意" in page and case_ref(svc, case) in page
    assert "2027-01-29 23:59" in page  # due date: absolute, JST
    assert 'data-relative' in page  # and relative
    assert f"{world.tag} プログラム" in page and f"{world.tag} 大学A" in page
    counts = dict(re.findall(r'\?tab=(\w+)[^>]*>\s*[^<]+<span class="count">(\d+)</span>', page))
    assert int(counts["team"]) >= 1


def case_ref(svc, case) -> str:
    from service.models import Case as CaseRow

    with svc.db.reader() as session:
        return session.get(CaseRow, case.id).reference


def test_search_program_filter_sort_and_paging(app, svc, world):
    for n in range(27):
        Case(svc, world, title=f"一覧テスト{n:02d}")
    client = sign_in(app, world, "security")
    first = text(client.get("/?tab=team&sort=case"))
    assert "1 / 2 ページ" in first and 'rel="next"' in first
    second = text(client.get("/?tab=team&sort=case&page=2"))
    assert 'rel="prev"' in second
    found = text(client.get("/?tab=team&q=一覧テスト07"))
    assert "一覧テスト07" in found and "一覧テスト08" not in found and "1 件のタスク" in found
    empty = text(client.get("/?tab=team&program=999999"))
    assert "タスクはありません。" in empty
    assert text(client.get("/?tab=nonsense&sort=nonsense&page=-3")).count("自分のタスク") >= 1


def test_claim_release_and_someone_else_was_faster(app, svc, world):
    case = Case(svc, world)
    item = case.item("fix_team_roster")
    mine, theirs = sign_in(app, world, "security"), sign_in(app, world, "security2")
    claimed = post(mine, f"/tasks/{item.task_id}/claim", {"next": "/?tab=team"})
    assert claimed.status_code == 302 and claimed.location == f"/tasks/{item.task_id}"
    assert "タスクを引き受けました。" in text(mine.get(claimed.location))
    late = post(theirs, f"/tasks/{item.task_id}/claim", {"next": "/?tab=team"}, follow_redirects=True)
    assert late.status_code == 200 and "Traceback" not in text(late)
    assert "他の人が先に操作しました" in text(late)
    assert "自分のタスク" in text(late)  # back on the queue
    page = text(theirs.get(f"/tasks/{item.task_id}"))
    assert "さんがこのタスクを担当しています" in page and 'data-readonly="true"' in page
    released = post(mine, f"/tasks/{item.task_id}/release", {"next": "/"}, follow_redirects=True)
    assert "タスクをチームの未割当に戻しました。" in text(released)


def test_reassign_by_a_manager_notifies_the_new_assignee(app, svc, world):
    case = Case(svc, world)
    item = case.item("fix_team_roster")
    admin = sign_in(app, world, "admin")
    page = text(admin.get(f"/tasks/{item.task_id}"))
    assert 'id="reassign"' in page and "security2" in page
    response = post(admin, f"/tasks/{item.task_id}/assign", {"assignee_id": world.users["security2"]},
                    follow_redirects=True)
    assert "タスクの担当者を変更しました。" in text(response)
    assert case.item("fix_team_roster").assignee_id == world.users["security2"]
    with svc.db.reader() as session:
        note = session.scalars(select(Notification).where(Notification.user_id == world.users["security2"],
                                                          Notification.kind == "assigned")).one()
    assert note.title == "新しいタスク: 研究チーム名簿と同意" and note.url == f"/tasks/{item.task_id}"
    # a researcher may not reassign at all
    assert 'id="reassign"' not in text(sign_in(app, world, "researcher").get(f"/tasks/{item.task_id}"))
    refused = post(sign_in(app, world, "researcher"), f"/tasks/{item.task_id}/assign",
                   {"assignee_id": world.users["security"]})
    assert refused.status_code == 302
    assert case.item("fix_team_roster").assignee_id == world.users["security2"]


# -- the task page and its JSON endpoints ------------------------------------------------------------------
def test_task_page_mounts_the_form_for_form_js(app, svc, world):
    case = Case(svc, world)
    item = case.to_disclosure()
    page = text(sign_in(app, world, "researcher").get(f"/tasks/{item.task_id}"))
    assert f'data-submit-url="/tasks/{item.task_id}/submit"' in page
    assert f'data-draft-url="/tasks/{item.task_id}/draft"' in page
    assert f'data-upload-url="/tasks/{item.task_id}/attachments"' in page
    assert 'data-lang="ja"' in page and 'id="tejun-form-schema"' in page
    assert "<script>" not in page  # only data blocks and external bundles: the CSP allows nothing inline
    schema = data_block(page, "tejun-form-schema")
    assert schema["title"].startswith("研究者の申告") and "x-i18n" not in json.dumps(schema)
    en = text(sign_in(app, world, "researcher", lang="en").get(f"/tasks/{item.task_id}"))
    assert 'data-lang="en"' in en and "isclosure" in data_block(en, "tejun-form-schema")["title"]


def test_people_outside_the_task_get_404(app, svc, world):
    case = Case(svc, world)
    item = case.to_disclosure()
    for who in ("partner_security", "ministry", "researcher2", "designer"):
        response = sign_in(app, world, who).get(f"/tasks/{item.task_id}")
        assert response.status_code == 404, who
        assert "見つかりません" in text(response) and "Traceback" not in text(response)


def test_submit_answers_the_form_js_contract(app, svc, world):
    case = Case(svc, world)
    item = case.to_disclosure()
    client = sign_in(app, world, "researcher")
    bad = post_json(client, f"/tasks/{item.task_id}/submit", {"data": {"disclosure": {"identity": {"name": 3}}}})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    errors = {e["pointer"]: e["message"] for e in bad.get_json()["errors"]}
    assert errors["/disclosure/identity/affiliation"] == "入力してください。"
    assert errors["/disclosure/identity/name"] == "値の種類が正しくありません。"
    assert bad.get_json()["detail"].endswith("件の項目を確認してください。")
    en = sign_in(app, world, "researcher", lang="en")
    bad_en = post_json(en, f"/tasks/{item.task_id}/submit", {"data": {"disclosure": {}}})
    assert {e["message"] for e in bad_en.get_json()["errors"]} == {"This field is required."}
    unknown = post_json(client, f"/tasks/{item.task_id}/submit", {"data": {"outcome": "accepted"}})
    assert "この項目はフォームにありません。" in {e["message"] for e in unknown.get_json()["errors"]}
    assert post_json(client, f"/tasks/{item.task_id}/submit", {"nodata": 1}).status_code == 400

    done = post_json(client, f"/tasks/{item.task_id}/submit", disclosure_body())
    assert done.status_code == 200 and done.get_json() == {"next_url": "/"}
    assert "提出しました。" in text(client.get("/"))
    again = post_json(client, f"/tasks/{item.task_id}/submit", disclosure_body())
    assert again.status_code == 404 and "完了している可能性" in again.get_json()["detail"]


def disclosure_body() -> dict:
    return {"data": disclosure()}


def test_submit_when_someone_else_holds_the_task_is_409(app, svc, world):
    case = Case(svc, world)
    item = case.item("fix_team_roster")
    commands.claim_task(svc, world.actor("security2"), item.task_id)
    client = sign_in(app, world, "security")
    response = post_json(client, f"/tasks/{item.task_id}/submit", {"data": {}})
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    # the conflict's own reason (who holds the task), in the reader's language, not a generic text
    assert "担当しています" in response.get_json()["detail"]
    draft = post_json(client, f"/tasks/{item.task_id}/draft", {"data": {"roster": {}}})
    assert draft.status_code == 409


def test_a_stale_task_page_sends_its_version_and_gets_the_409(app, svc, world):
    case = Case(svc, world)
    item = case.to_disclosure()
    client = sign_in(app, world, "researcher")
    page = text(client.get(f"/tasks/{item.task_id}"))
    seen = int(re.search(r'data-expected-version="(\d+)"', page).group(1))
    with svc.db.reader() as session:
        assert seen == session.get(CaseRow, case.id).version
    case.do("record_managed_data", "security", MANAGED_DATA)  # the case moves on meanwhile
    stale = post_json(client, f"/tasks/{item.task_id}/submit", {**disclosure_body(), "expected_version": seen})
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    detail = stale.get_json()["detail"]
    assert "表示した後に案件が変更されました" in detail and f"版 {seen}" in detail  # its own reason, translated
    assert post_json(client, f"/tasks/{item.task_id}/submit",
                     {**disclosure_body(), "expected_version": "x"}).status_code == 400
    fresh = int(re.search(r'data-expected-version="(\d+)"', text(client.get(f"/tasks/{item.task_id}"))).group(1))
    done = post_json(client, f"/tasks/{item.task_id}/submit", {**disclosure_body(), "expected_version": fresh})
    assert done.status_code == 200, done.get_json()


def test_draft_is_saved_and_comes_back(app, svc, world):
    case = Case(svc, world)
    item = case.to_disclosure()
    client = sign_in(app, world, "researcher")
    saved = post_json(client, f"/tasks/{item.task_id}/draft",
                      {"data": {"disclosure": {"identity": {"name": "下書き 太郎"}}}})
    assert saved.status_code == 200
    page = text(client.get(f"/tasks/{item.task_id}"))
    assert data_block(page, "tejun-form-data")["disclosure"]["identity"]["name"] == "下書き 太郎"
    assert "下書きの最終保存" in page


# -- attachments -------------------------------------------------------------------------------------------
def upload(client, task_id: str, name: str, content: bytes):
    return client.post(f"/tasks/{task_id}/attachments", data={"file": (io.BytesIO(content), name)},
                       headers={"X-CSRFToken": client.csrf, "Accept": "application/json"},
                       content_type="multipart/form-data")


def test_evidence_upload_detects_type_by_content_and_serves_downloads_only(app, svc, world, settings):
    case = Case(svc, world)
    item = case.to_disclosure()
    researcher = sign_in(app, world, "researcher")
    stored = upload(researcher, item.task_id, "誓約書.pdf", PDF)
    assert stored.status_code == 201
    body = stored.get_json()
    assert body["name"] == "誓約書.pdf" and body["content_type"] == "application/pdf" and body["size"] == len(PDF)
    image = upload(researcher, item.task_id, "../../etc/photo.png", PNG).get_json()
    assert image["content_type"] == "image/png" and image["name"] == "photo.png"
    csv = upload(researcher, item.task_id, "一覧.csv", "氏名,所属\n山田,A大学\n".encode()).get_json()
    assert csv["content_type"] == "text/csv"

    html = upload(researcher, item.task_id, "report.pdf", b"<!doctype html><html><script>alert(1)</script></html>")
    assert html.status_code == 415 and "アップロードできません" in html.get_json()["detail"]
    exe = upload(researcher, item.task_id, "tool.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    assert exe.status_code == 415
    assert upload(researcher, item.task_id, "empty.txt", b"").status_code == 400
    outsider = sign_in(app, world, "researcher2")
    assert upload(outsider, item.task_id, "x.pdf", PDF).status_code == 404

    stored_files = list(settings.upload_dir.rglob("*"))
    assert all("誓約書" not in p.name for p in stored_files)  # generated names on disk

    download = researcher.get(f"/attachments/{body['id']}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "application/pdf"
    assert sign_in(app, world, "security").get(f"/attachments/{body['id']}").status_code == 200
    # the FA, like those outside the case, before the institution submitted (docs/security.md)
    for who in ("researcher2", "partner_security", "ministry", "fa_officer"):
        assert sign_in(app, world, who).get(f"/attachments/{body['id']}").status_code == 404, who

    case_page = text(sign_in(app, world, "security").get(f"/cases/{case.id}"))
    assert "誓約書.pdf" in case_page and "application/pdf" in case_page and "資料のアップロード" in case_page


def test_uploads_over_the_size_limit_are_refused(svc, world, settings):
    small = create_app(replace(settings, max_upload_bytes=1024))
    small.config.update(TESTING=True)
    try:
        case = Case(svc, world)
        item = case.to_disclosure()
        client = sign_in(small, world, "researcher")
        response = upload(client, item.task_id, "big.pdf", PDF + b"0" * 2048)
        assert response.status_code == 413 and "大きすぎます" in response.get_json()["detail"]
        assert upload(client, item.task_id, "ok.pdf", PDF).status_code == 201
    finally:
        small.extensions["tejun"].db.dispose()


# -- the case page -------------------------------------------------------------------------------------
def test_case_page_for_the_lead_institution_shows_everything(app, svc, world):
    case = Case(svc, world)
    case.to_fa_review()
    page = text(sign_in(app, world, "security").get(f"/cases/{case.id}"))
    assert "FAによる確認" in page and "L0 リスクなし" in page and "進行中" in page
    assert "山田 太郎" in page and "研究代表者" in page  # the team
    assert 'id="tejun-diagram"' in page and 'id="tejun-diagram-data"' in page
    data = re.search(r'id="tejun-diagram-data">(.*?)</script>', page, re.S).group(1)
    assert "fix_team_roster" in data and "review_submission" in data
    assert "機関の承認とFAへの提出" in page  # a step, with its form's labels
    assert "判断" in page and '<span class="data-text">approve</span>' not in page  # choices by their titles
    assert "案件の開始" in page and "ステップの完了" in page  # timeline
    assert "サブプロセスの図を開く" in page


def test_case_page_scopes(app, svc, world):
    case = Case(svc, world)
    case.to_fa_review()
    researcher = text(sign_in(app, world, "researcher").get(f"/cases/{case.id}"))
    assert "概要" in researcher and "tejun-diagram" not in researcher and "経過" not in researcher
    assert "各ステップの入力内容" not in researcher
    for who in ("partner_security", "ministry", "researcher2", "designer"):
        assert sign_in(app, world, who).get(f"/cases/{case.id}").status_code == 404, who
    fa = text(sign_in(app, world, "fa_officer").get(f"/cases/{case.id}"))
    assert "各ステップの入力内容" in fa and "経過" in fa


def test_diagram_xml_is_the_models_and_permission_checked(app, svc, world):
    case = Case(svc, world)
    case.to_disclosure()
    security = sign_in(app, world, "security")
    xml = security.get(f"/cases/{case.id}/diagram/research_security_case.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b'id="research_security_case"' in xml.data
    called = security.get(f"/cases/{case.id}/diagram/member_disclosure.bpmn")
    assert called.status_code == 200 and b'id="member_disclosure"' in called.data
    assert security.get(f"/cases/{case.id}/diagram/no_such_process.bpmn").status_code == 404
    assert sign_in(app, world, "researcher").get(
        f"/cases/{case.id}/diagram/research_security_case.bpmn").status_code == 404
    sub = text(security.get(f"/cases/{case.id}?process=member_disclosure"))
    assert '"process_id": "member_disclosure"' in sub and "手順全体に戻る" in sub


# -- notifications and errors ------------------------------------------------------------------------------
def test_notification_list_unread_count_and_mark_read(app, svc, world):
    case = Case(svc, world)
    item = case.to_disclosure()  # routed to the researcher by name: they are told
    client = sign_in(app, world, "researcher")
    home = text(client.get("/"))
    assert re.search(r'<span class="badge" aria-label="未読 1 件">1</span>', home)
    listing = text(client.get("/notifications"))
    assert "新しいタスク: 研究者の申告（自己申告）" in listing
    note_id = re.search(r'/notifications/(\d+)/open', listing).group(1)
    opened = client.get(f"/notifications/{note_id}/open")
    assert opened.status_code == 302 and opened.location == f"/tasks/{item.task_id}"
    assert 'class="badge"' not in text(client.get("/"))
    assert sign_in(app, world, "security").get(f"/notifications/{note_id}/open").status_code == 404
    assert "新しいお知らせはありません。" in text(client.get("/notifications"))
    assert "研究者の申告" in text(client.get("/notifications?show=all"))


def test_mark_all_read(app, svc, world):
    for _ in range(2):
        Case(svc, world).to_disclosure()
    client = sign_in(app, world, "researcher")
    assert ">2</span>" in text(client.get("/"))
    response = post(client, "/notifications/read", follow_redirects=True)
    assert "既読にしました。" in text(response) and 'class="badge"' not in text(response)


def test_error_pages_are_translated_and_never_a_traceback(app, world):
    client = sign_in(app, world, "security")
    missing = client.get("/cases/99999999")
    assert missing.status_code == 404 and "見つかりません" in text(missing)
    en = sign_in(app, world, "security", lang="en").get("/cases/99999999")
    assert "Not found" in text(en) and "Traceback" not in text(en)


def test_pages_carry_the_strict_csp(app, world):
    response = sign_in(app, world, "security").get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_queue_and_case_pages_need_few_queries(app, svc, world):
    for _ in range(12):
        Case(svc, world)
    case = Case(svc, world)
    case.to_fa_review()
    client = sign_in(app, world, "security")
    engine = svc.db.engine
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        statements.clear()
        assert client.get("/?tab=org").status_code == 200
        queue_queries = len(statements)
        statements.clear()
        assert client.get(f"/cases/{case.id}").status_code == 200
        case_queries = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert queue_queries <= 15, statements
    assert case_queries <= 30, statements


def test_partner_institutions_see_only_their_part(app, svc, world):
    from service.attachments import store_upload

    case = Case(svc, world, title="共同研究の案件", partner=True)
    roster_item = case.item("fix_team_roster")
    stored = store_upload(svc, world.actor("security"), roster_item.task_id, "名簿.pdf", io.BytesIO(PDF))
    partner = sign_in(app, world, "partner_security")
    page = text(partner.get(f"/cases/{case.id}"))
    assert "概要" in page  # their part: the summary, their own steps
    # the diagram's progress runs through the lead's steps: not shown to a partner (docs/security.md)
    assert 'id="tejun-diagram"' not in page
    assert "名簿.pdf" not in page and "研究チーム名簿と同意" not in page  # not the lead's work
    assert partner.get(f"/attachments/{stored.id}").status_code == 404
    assert partner.get(f"/tasks/{roster_item.task_id}").status_code == 404
    lead = text(sign_in(app, world, "security").get(f"/cases/{case.id}"))
    assert "名簿.pdf" in lead and f"{world.tag} 大学B" in lead


def test_form_fields_keep_the_schemas_order(app, svc, world):
    case = Case(svc, world)
    item = case.to_disclosure()
    page = text(sign_in(app, world, "researcher").get(f"/tasks/{item.task_id}"))
    block = re.search(r'id="tejun-form-schema">(.*?)</script>', page, re.S).group(1)
    identity = json.loads(block)["properties"]["disclosure"]["properties"]["identity"]["properties"]
    assert list(identity)[:2] == ["name", "name_latin"]  # as written in forms/disclosure.schema.json
    assert "<" not in block.replace("</script>", "")  # still HTML-safe
