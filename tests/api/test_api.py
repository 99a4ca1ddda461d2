"""The REST API over HTTP (Flask's test client): authentication, problem details, the task round trip."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, model_set
from tests.web.helpers import token_for

PROBLEM = "application/problem+json"


@pytest.fixture
def api_case(svc, world, client):
    model_set(svc, "loop")
    headers = token_for(client, world.username("security"))
    # the API starts cases on the default model set; start this one through the service instead
    from service.cases import commands

    outcome = commands.start_case(
        svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
        title="API case", process_id="loop_case", model_set="test-loop",
    )
    return outcome, headers


def test_nothing_but_login_and_health_is_anonymous(app, client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint == "auth.Token":
            continue
        path = re.sub(r"<int:[a-z_]+>", "1", rule.rule)
        path = re.sub(r"<uuid:[a-z_]+>", "00000000-0000-4000-8000-000000000000", path)
        path = path.replace("<public_id>", "0" * 32)
        assert "<" not in path, f"give the test a value for {path}"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method, json={})
            assert response.status_code == 401, (method, path)
            assert response.mimetype == PROBLEM
            assert response.get_json()["status"] == 401


def test_wrong_password_is_a_problem_not_a_token(client, world):
    response = client.post("/api/v1/auth/token", json={"username": world.username("security"), "password": "nope"})
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert "wrong username or password" in response.get_json()["detail"]


def test_unknown_fields_and_wrong_types_are_clear_422s(client, world):
    headers = token_for(client, world.username("security"))
    response = client.post("/api/v1/cases", json={"call_id": "x", "title": "", "surprise": 1}, headers=headers)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    pointers = {e["pointer"] for e in response.get_json()["errors"]}
    assert {"/call_id", "/title", "/surprise", "/lead_institution_id"} <= pointers


def test_task_round_trip(client, world, api_case):
    outcome, headers = api_case
    queue = client.get("/api/v1/tasks?tab=team&counts=true", headers=headers).get_json()
    (item,) = [i for i in queue["items"] if i["case_id"] == outcome.case_id]
    assert queue["counts"]["team"] == queue["total"] >= 1 and set(queue["counts"]) == {"mine", "team", "org", "overdue"}
    # the four counts only when asked for (a client fetching its next task does not pay for them)
    assert "counts" not in client.get("/api/v1/tasks?tab=team", headers=headers).get_json()
    detail = client.get(f"/api/v1/tasks/{item['task_id']}?lang=en", headers=headers).get_json()
    assert detail["form_schema"]["title"] == "Edit" and detail["may_work"] is True
    claim = client.post(f"/api/v1/tasks/{item['task_id']}/claim", headers=headers)
    assert claim.status_code == 200
    other = token_for(client, world.username("security2"))
    faster = client.post(f"/api/v1/tasks/{item['task_id']}/claim", headers=other)
    assert faster.status_code == 409 and "claimed" in faster.get_json()["detail"]
    bad = client.post(f"/api/v1/tasks/{item['task_id']}/complete", json={"data": {"contact": "x"}}, headers=headers)
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.get_json()["errors"]} >= {"/summary", "/contact"}
    done = client.post(
        f"/api/v1/tasks/{item['task_id']}/complete",
        json={"data": {"summary": "ok"}, "expected_version": detail["case_version"]}, headers=headers,
    )
    assert done.status_code == 200 and done.get_json()["version"] == detail["case_version"] + 1
    again = client.post(f"/api/v1/tasks/{item['task_id']}/complete", json={"data": {"summary": "ok"}}, headers=headers)
    assert again.status_code == 409  # completed meanwhile: a conflict the caller lost
    case = client.get(f"/api/v1/cases/{outcome.case_id}", headers=headers).get_json()
    assert case["stage"] == "fa_review"


def test_cases_are_visible_only_within_scope(client, world, api_case):
    outcome, headers = api_case
    listed = client.get("/api/v1/cases?per_page=100", headers=headers).get_json()
    assert outcome.case_id in {c["id"] for c in listed["items"]}
    for outsider in ("partner_security", "ministry", "designer"):
        outsider_headers = token_for(client, world.username(outsider))
        assert client.get(f"/api/v1/cases/{outcome.case_id}", headers=outsider_headers).status_code == 404
        listed = client.get("/api/v1/cases?per_page=100", headers=outsider_headers).get_json()
        assert outcome.case_id not in {c["id"] for c in listed["items"]}
    fa = token_for(client, world.username("fa_officer"))
    assert client.get(f"/api/v1/cases/{outcome.case_id}", headers=fa).status_code == 200


def test_read_only_tokens_cannot_write(client, world, api_case):
    outcome, _ = api_case
    reader = token_for(client, world.username("security"), scopes=["read"])
    assert client.get("/api/v1/tasks", headers=reader).status_code == 200
    queue = client.get("/api/v1/tasks?tab=team", headers=reader).get_json()
    task_id = next(i["task_id"] for i in queue["items"] if i["case_id"] == outcome.case_id)
    response = client.post(f"/api/v1/tasks/{task_id}/claim", headers=reader)
    assert response.status_code == 403 and "write" in response.get_json()["detail"]


def test_openapi_document_describes_the_api(client, world):
    headers = token_for(client, world.username("security"))
    spec = client.get("/api/v1/openapi.json", headers=headers).get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/api/v1/cases", "/api/v1/tasks", "/api/v1/tasks/{task_id}/complete", "/api/v1/model-versions"):
        assert path in paths
    assert "application/problem+json" in spec["components"]["responses"]["DEFAULT_ERROR"]["content"]


def test_session_writes_need_the_csrf_token(app, world, api_case):
    outcome, _ = api_case
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    credentials = {"username": world.username("security"), "password": PASSWORD}
    assert browser.post("/login", data=credentials).status_code == 400  # forged form: no token
    assert browser.post("/login", data={**credentials, "csrf_token": token}).status_code == 302
    queue = browser.get("/api/v1/tasks?tab=team").get_json()
    task_id = next(i["task_id"] for i in queue["items"] if i["case_id"] == outcome.case_id)
    forged = browser.post(f"/api/v1/tasks/{task_id}/claim")
    assert forged.status_code == 400 and forged.mimetype == PROBLEM
    home = browser.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    assert browser.post(f"/api/v1/tasks/{task_id}/claim", headers={"X-CSRFToken": token}).status_code == 200


def test_security_headers_are_set(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_tokens_can_be_listed_and_revoked_by_their_owner(client, world):
    headers = token_for(client, world.username("security"))
    mine = client.get("/api/v1/auth/tokens", headers=headers).get_json()
    assert mine and all("token" not in t for t in mine)
    other = token_for(client, world.username("security2"))
    theirs = client.get("/api/v1/auth/tokens", headers=other).get_json()
    assert client.delete(f"/api/v1/auth/tokens/{theirs[0]['id']}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/auth/tokens/{mine[0]['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    assert client.get("/api/v1/tasks", headers=other).status_code == 200


def test_a_token_stops_working_when_it_expires_or_its_owner_is_deactivated(svc, world, client, api_case):
    """Nothing about a token's owner is remembered between requests: each request sees the owner's current
    memberships, and an expired token or a deactivated account is refused at once."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from service import clock
    from service.models import ApiToken, Organization, User

    _, headers = api_case
    assert client.get("/api/v1/tasks?tab=team&counts=1", headers=headers).get_json()["counts"]["team"] >= 1
    with svc.db.reader() as session:
        used = session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == world.users["security"]))
    assert used is not None  # the first use is recorded

    # a membership in a deactivated organization grants nothing
    with svc.db.transaction() as session:
        session.execute(update(Organization).where(Organization.id == world.lead_id).values(active=False))
    assert client.get("/api/v1/tasks?tab=team&counts=1", headers=headers).get_json()["counts"]["team"] == 0
    with svc.db.transaction() as session:
        session.execute(update(Organization).where(Organization.id == world.lead_id).values(active=True))
    assert client.get("/api/v1/tasks?tab=team&counts=1", headers=headers).get_json()["counts"]["team"] >= 1

    with svc.db.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.user_id == world.users["security"])
                        .values(expires_at=clock.now() - timedelta(seconds=1)))
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401

    fresh = token_for(client, world.username("security"))
    assert client.get("/api/v1/tasks", headers=fresh).status_code == 200
    with svc.db.transaction() as session:
        session.execute(update(User).where(User.id == world.users["security"]).values(active=False))
    assert client.get("/api/v1/tasks", headers=fresh).status_code == 401
