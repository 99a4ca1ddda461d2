"""Bad input is a 4xx, never a 500, on SQLite and PostgreSQL (issue 14, point 7).

Each bad value goes to every family of routes that takes input: the search boxes of the case list, the queue,
the audit index and the user administration; the sign-in name; the case title on the page and in the API;
page numbers and ids in query strings and paths; JSON bodies of the API and of the pages' form endpoints.
The guard that answers them is `service/input_guard.py` (rules in docs/security.md, "Input rules").
"""

from __future__ import annotations

import json

import pytest

from service.input_guard import MAX_JSON_DEPTH, loads
from tests.web.helpers import Case, csrf, sign_in

PROBLEM = "application/problem+json"

NUL = "a\x00b"
BIG = "99999999999999999999"  # beyond 64 bits
HUGE = "1" * 100  # a 100-digit integer
SUPERSCRIPT = "\u00b2"  # `isdigit()` but not `int()`
# percent-encoded UTF-8 of a lone surrogate (U+D800), and an invalid byte
RAW_SURROGATE = "%ED%A0%80"
RAW_INVALID = "%FF"

TEXT_VALUES = [NUL, BIG, HUGE, SUPERSCRIPT]


def is_client_error(response) -> bool:
    return 400 <= response.status_code < 500


def problem(response) -> dict:
    assert response.mimetype == PROBLEM, (response.status_code, response.get_data(as_text=True)[:300])
    return response.get_json()


def api_post(client, path: str, body: bytes | str, method: str = "POST"):
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return client.open(path, method=method, data=data, content_type="application/json",
                       headers={"X-CSRFToken": client.csrf, "Accept": "application/json, application/problem+json"})


@pytest.fixture
def people(app, world):
    return {who: sign_in(app, world, who) for who in ("security", "auditor", "sysadmin")}


# -- query strings: search boxes, filters, page numbers -------------------------------------------------------
PAGE_QUERIES = [
    ("security", "/cases", ("q", "page", "status")),
    ("security", "/", ("q", "page", "program", "tab", "sort")),
    ("auditor", "/audit/", ("q", "page")),
    ("sysadmin", "/admin/users", ("q", "page", "organization_id", "status")),
    ("sysadmin", "/admin/organizations", ("q",)),
    ("security", "/notifications", ("show",)),
]


@pytest.mark.parametrize("value", TEXT_VALUES, ids=["nul", "big", "huge", "superscript"])
def test_bad_values_in_page_query_strings_are_4xx_pages(people, value):
    for who, path, names in PAGE_QUERIES:
        for name in names:
            response = people[who].get(path, query_string={name: value})
            assert response.status_code < 500, (path, name, response.status_code)
            if not is_client_error(response):
                assert response.status_code == 200
            else:
                assert response.mimetype == "text/html"


def test_nul_and_out_of_range_numbers_in_page_queries_are_refused(people):
    security = people["security"]
    for path, query in (("/cases", f"q={NUL}"), ("/", f"q={NUL}"), ("/cases", f"page={BIG}"),
                        ("/", f"page={HUGE}"), ("/", f"program={BIG}")):
        response = security.get(path, query_string=query.replace("\x00", "%00"))
        assert response.status_code == 400, (path, query)
        assert "text/html" in response.content_type
        assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize("raw", [RAW_SURROGATE, RAW_INVALID, "%00", "%C0%80"])
def test_undecodable_and_nul_bytes_in_query_strings(people, raw):
    security = people["security"]
    for path in ("/cases", "/"):
        response = security.get(f"{path}?q=x{raw}y")
        assert response.status_code < 500, (path, raw)
    assert security.get(f"/cases?q={raw}").status_code in (200, 400)


API_QUERIES = [
    ("/api/v1/cases", ("q", "page", "per_page", "program_id", "status")),
    ("/api/v1/tasks", ("q", "page", "program_id", "tab")),
]


@pytest.mark.parametrize("value", TEXT_VALUES, ids=["nul", "big", "huge", "superscript"])
def test_bad_values_in_api_query_strings_are_problems(people, value):
    security = people["security"]
    for path, names in API_QUERIES:
        for name in names:
            response = security.get(path, query_string={name: value})
            assert is_client_error(response) or response.status_code == 200, (path, name, response.status_code)
            if response.status_code != 200:
                body = problem(response)
                assert body["status"] == 422
                assert body["errors"][0]["pointer"] == f"/{name}"


def test_nul_in_an_api_search_is_a_422_with_its_pointer(people):
    response = people["security"].get("/api/v1/cases?q=a%00b")
    assert response.status_code == 422
    assert [e["pointer"] for e in problem(response)["errors"]] == ["/q"]


# -- ids in paths ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", [BIG, HUGE, str(2**63), str(2**31)])
def test_ids_beyond_the_database_range_are_404(people, number):
    security, sysadmin = people["security"], people["sysadmin"]
    for path in (f"/cases/{number}", f"/notifications/{number}/open", f"/disclosure/{number}",
                 f"/screening/cases/{number}"):
        assert security.get(path).status_code == 404, path
    for path in (f"/admin/users/{number}", f"/admin/organizations/{number}", f"/designer/versions/{number}"):
        assert sysadmin.get(path).status_code == 404, path
    for path in (f"/api/v1/cases/{number}", f"/api/v1/screening/cases/{number}"):
        response = security.get(path)
        assert response.status_code == 404 and problem(response)["status"] == 404, path
    response = api_post(security, f"/api/v1/cases/{number}/messages", '{"name": "withdraw"}')
    assert response.status_code == 404


def test_nul_in_a_path_parameter_is_refused(people):
    sysadmin, security = people["sysadmin"], people["security"]
    assert sysadmin.get("/designer/sets/a%00b").status_code == 400
    assert security.get("/attachments/a%00b").status_code in (400, 404)
    assert security.get("/cases/1/diagram/a%00b.bpmn").status_code in (400, 404)


# -- forms of the pages -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [NUL, "x" * 5 + "\x00"], ids=["nul", "trailing-nul"])
def test_a_nul_in_the_sign_in_name_is_refused_not_a_500(app, world, value):
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": value, "password": "x", "csrf_token": token})
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)
    response = client.post("/api/v1/auth/token", json={"username": value, "password": "x"})
    assert response.status_code == 422 and problem(response)["errors"][0]["pointer"] == "/username"


def test_bad_values_in_the_new_case_form_are_4xx(people, world):
    security = people["security"]
    base = {"call_id": str(world.call_id), "lead_institution_id": str(world.lead_id), "variant": "domestic",
            "csrf_token": security.csrf}
    for field, value in (("title", NUL), ("title", "ok" + "\x00"), ("erad_project_number", NUL),
                         ("call_id", BIG), ("call_id", HUGE), ("lead_institution_id", BIG),
                         ("partner_ids", BIG), ("partner_ids", SUPERSCRIPT), ("project_end_date", NUL)):
        response = security.post("/cases/new", data={**base, "title": "量子", field: value})
        assert is_client_error(response), (field, value, response.status_code)


def test_bad_values_in_other_page_forms_are_4xx(people, svc, world):
    security, sysadmin = people["security"], people["sysadmin"]
    case = Case(svc, world)
    for data in ({"name": "withdraw", "withdraw_reason": NUL, "confirm": "yes"},
                 {"name": NUL}, {"name": "member_added", "member_name": "a\x00", "member_role": "pi",
                                 "member_consent": "yes"}):
        response = security.post(f"/cases/{case.id}/messages", data={**data, "csrf_token": security.csrf})
        assert is_client_error(response), (data, response.status_code)
    for ids in ([BIG], [SUPERSCRIPT], [HUGE]):
        response = security.post("/notifications/read", data={"id": ids, "csrf_token": security.csrf})
        assert response.status_code < 500, ids
    response = sysadmin.post("/admin/users/new", data={"username": NUL, "display_name": "x", "email": "a@b.jp",
                                                        "organization_id": BIG, "csrf_token": sysadmin.csrf})
    assert is_client_error(response)
    response = sysadmin.post("/admin/organizations/new", data={"code": "x\x00", "name": "n", "kind": "ministry",
                                                                "csrf_token": sysadmin.csrf})
    assert is_client_error(response)
    response = security.post("/disclosure", data={"profile": '{"a": "\\u0000"}', "csrf_token": security.csrf})
    assert response.status_code < 500


# -- JSON bodies ------------------------------------------------------------------------------------------------
def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


BAD_JSON = {
    "nan": '{"name": "withdraw", "payload": {"withdraw_reason": NaN}}',
    "infinity": '{"name": "withdraw", "payload": {"x": -Infinity}}',
    "overflowing float": '{"name": "withdraw", "payload": {"x": 1e400}}',
    "100 digits": '{"name": "withdraw", "payload": {"x": ' + HUGE + "}}",
    "5000 digits": '{"name": "withdraw", "payload": {"x": ' + "7" * 5000 + "}}",
    "deep": '{"name": "withdraw", "payload": {"x": ' + deep(5000) + "}}",
    "very deep": deep(200000),
    "nul": '{"name": "withdraw", "payload": {"withdraw_reason": "a\\u0000b"}}',
    "nul key": '{"name": "withdraw", "payload": {"a\\u0000": "x"}}',
    "lone surrogate": '{"name": "withdraw", "payload": {"withdraw_reason": "\\ud800"}}',
    "raw surrogate": '{"name": "withdraw", "payload": {"withdraw_reason": "\ud800"}}',
    "invalid utf-8": b'{"name": "withdraw", "payload": {"withdraw_reason": "\xff"}}',
}


@pytest.mark.parametrize("name", list(BAD_JSON))
def test_bad_json_bodies_are_problems_before_any_handler(people, svc, world, name):
    security = people["security"]
    case = Case(svc, world)
    item = case.item("fix_team_roster")
    for path, method in ((f"/api/v1/cases/{case.id}/messages", "POST"), ("/api/v1/cases", "POST"),
                         (f"/api/v1/tasks/{item.task_id}/draft", "POST"),
                         (f"/api/v1/tasks/{item.task_id}/complete", "POST"), ("/api/v1/disclosures/me", "PUT"),
                         ("/api/v1/auth/token", "POST")):
        response = api_post(security, path, BAD_JSON[name], method)
        assert response.status_code in (400, 422), (path, response.status_code, response.get_data(as_text=True))
        problem(response)
    # the pages' form endpoints (form.js) take JSON too
    for path in (f"/tasks/{item.task_id}/draft", f"/tasks/{item.task_id}/submit"):
        response = api_post(security, path, BAD_JSON[name])
        assert response.status_code in (400, 422), (path, response.status_code)
    with svc.db.reader() as session:
        from service.models import Case as CaseRow

        assert session.get(CaseRow, case.id).status == "running"
    assert case.item("fix_team_roster").draft is None


def test_nul_in_a_title_through_the_api_is_a_422_with_pointer(people, world):
    response = api_post(people["security"], "/api/v1/cases", json.dumps(
        {"call_id": world.call_id, "lead_institution_id": world.lead_id, "title": "a\x00b"}))
    assert response.status_code == 422
    assert [e["pointer"] for e in problem(response)["errors"]] == ["/title"]


def test_nul_deep_in_a_draft_points_at_it(people, svc, world):
    item = Case(svc, world).item("fix_team_roster")
    body = {"data": {"roster": {"members": [{"name": "ok"}, {"name": "x\x00"}]}}}
    response = api_post(people["security"], f"/api/v1/tasks/{item.task_id}/draft", json.dumps(body))
    assert response.status_code == 422
    assert [e["pointer"] for e in problem(response)["errors"]] == ["/data/roster/members/1/name"]


def test_bad_json_is_refused_even_before_sign_in(client):
    for body in (BAD_JSON["nan"], BAD_JSON["very deep"], BAD_JSON["5000 digits"]):
        response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert response.status_code == 400 and problem(response)["status"] == 400


# -- the parser itself -----------------------------------------------------------------------------------------
def test_the_strict_parser_keeps_ordinary_json_and_refuses_the_rest():
    assert loads('{"a": [1, 2.5, true, null, "x"], "b": {"c": -3}}') == {"a": [1, 2.5, True, None, "x"],
                                                                           "b": {"c": -3}}
    assert loads(deep(MAX_JSON_DEPTH)) is not None
    assert loads(str(2**63 - 1)) == 2**63 - 1 and loads(str(-(2**63))) == -(2**63)
    for text in ("NaN", "[Infinity]", "-Infinity", "1e400", str(2**63), str(-(2**63) - 1), HUGE,
                 deep(MAX_JSON_DEPTH + 1), deep(100000)):
        with pytest.raises(ValueError):
            loads(text)
    # brackets inside strings do not count
    assert loads(json.dumps("[" * 1000)) == "[" * 1000


def test_a_request_without_a_body_that_says_json_goes_through(client):
    """API clients send `Content-Type: application/json` on every call, GETs included (the benchmark does)."""
    response = client.get("/healthz", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
