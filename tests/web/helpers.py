"""Helpers for the page tests: signing in through the login form, and moving a real case along.

Cases run the real procedure (bpmn/, forms/) through the use cases, with a small team: the world's
researcher is the PI and fills their own disclosure; no partner institution.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from service import clock
from service.cases import commands
from service.models import WorkItem
from tests.conftest import PASSWORD


def today() -> str:
    return clock.now().astimezone(clock.JST).date().isoformat()


def csrf(page_html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page_html).group(1)


def sign_in_as(app, username: str, password: str = PASSWORD, lang: str | None = None):
    """A test client signed in as `username` through the login form (optionally with the `lang` cookie); its
    `csrf` attribute is the token for posts (`post`, `post_json`)."""
    client = app.test_client()
    if lang:
        client.set_cookie("lang", lang)
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(page)})
    assert response.status_code == 302, (username, response.status_code, response.get_data(as_text=True)[:500])
    client.csrf = csrf(client.get("/").get_data(as_text=True))
    return client


def sign_in(app, world, who: str, lang: str | None = None):
    """A test client signed in as the world's `who`."""
    return sign_in_as(app, world.username(who), lang=lang)


def token_for(client, username: str, scopes=None, **body) -> dict:
    """A bearer header for the API, from a new token (POST /api/v1/auth/token; `body`: more of its fields)."""
    body = {"username": username, "password": PASSWORD, **body}
    if scopes:
        body["scopes"] = scopes
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


_TOKENS: dict[str, dict] = {}


def bearer(client, world, who: str) -> dict:
    """A bearer header for `who`, one token per person for the whole session (issuing has a quota)."""
    username = world.username(who)
    if username not in _TOKENS:
        _TOKENS[username] = token_for(client, username)
    return _TOKENS[username]


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf, **(data or {})}, **kwargs)


def post_json(client, path: str, body: dict):
    return client.post(path, json=body, headers={"X-CSRFToken": client.csrf,
                                                 "Accept": "application/json, application/problem+json"})


def roster(world) -> dict:
    member = {"name": "山田 太郎", "role": "pi", "username": world.username("researcher"), "consent_obtained": True,
              "consent_date": today(), "filled_by": "self"}
    return {"roster": {"project": {"title": "量子センサの研究", "technology_areas": ["9"], "export_controlled": False,
                                   "dual_use": False}, "members": [member], "partners": []}}


def disclosure(name: str = "山田 太郎") -> dict:
    return {"disclosure": {
        "identity": {"name": name, "affiliation": "A大学"},
        "disciplinary_history": {"has_history": False},
        "restricted_list": {"currently_listed_affiliation": False, "listed_funding": False,
                            "past_listed_affiliation": False, "ties_to_listed_researchers": False},
        "certification": {"consent": True, "certified": True, "certification_date": today()},
    }}


MANAGED_DATA = {"managed_data_inventory": {"items": [
    {"title": "測定データ", "publication_status": "non_public", "storage_location": "学内NAS",
     "encryption": "both", "personal_data": "none", "custodian": "山田 太郎"}]}}


def screening(subject_ids) -> dict:
    return {"screening_results": {"results": [
        {"subject_id": sid, "subject_type": "person", "lists_checked": ["meti_end_user_list"],
         "screened_on": today(), "match_status": "no_match"} for sid in subject_ids]}}


class Case:
    """One case of the real procedure, moved along through the use cases."""

    def __init__(self, svc, world, title: str = "量子センサの研究", partner: bool = False):
        self.svc, self.world = svc, world
        self.id = commands.start_case(svc, world.actor("security"), call_id=world.call_id,
                                      lead_institution_id=world.lead_id, title=title,
                                      partner_ids=(world.partner_id,) if partner else ()).case_id

    def items(self, element_id: str | None = None) -> list[WorkItem]:
        with self.svc.db.reader() as session:
            query = select(WorkItem).where(WorkItem.case_id == self.id).order_by(WorkItem.id)
            if element_id:
                query = query.where(WorkItem.element_id == element_id)
            return list(session.scalars(query))

    def item(self, element_id: str) -> WorkItem:
        found = self.items(element_id)
        assert len(found) == 1, (element_id, [i.element_id for i in self.items()])
        return found[0]

    def do(self, element_id: str, who: str, data: dict) -> None:
        commands.complete_task(self.svc, self.world.actor(who), self.item(element_id).task_id, data)

    def to_disclosure(self) -> WorkItem:
        """Roster submitted: the PI's disclosure waits for the researcher."""
        self.do("fix_team_roster", "security", roster(self.world))
        return self.item("fill_disclosure")

    def to_assessment(self) -> WorkItem:
        self.to_disclosure()
        self.do("fill_disclosure", "researcher", disclosure())
        self.do("record_managed_data", "security", MANAGED_DATA)
        self.do("record_screening_results", "security", screening(["M1"]))
        return self.item("review_risk_assessment")

    def to_fa_review(self) -> WorkItem:
        self.to_assessment()
        self.do("review_risk_assessment", "security", {"assessment_review": {"override": False,
                                                                           "mitigation_needed": False}})
        self.do("institutional_approval", "admin", {"institutional_approval": {"decision": "approve",
                                                                               "approved_on": today()}})
        return self.item("review_submission")
