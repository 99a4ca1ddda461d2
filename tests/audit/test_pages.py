"""Auditor pages: who may read a case's history, what the step control shows, exports, and the read log."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from service.audit.dossier import verify_dossier
from service.auth.actor import SYSTEM
from service.auth.admin import ensure_organization, ensure_user, grant_role
from service.models import Event
from service.unit_of_work import unit_of_work
from tests.conftest import PASSWORD
from tests.web.helpers import sign_in

from .helpers import loop_case


@pytest.fixture
def history(svc, world, travel) -> int:
    return loop_case(svc, world, travel, rounds=2)


def _reads(svc, user_id: int) -> list[Event]:
    with svc.db.reader() as session:
        return list(session.scalars(select(Event).where(Event.stream == f"user:{user_id}",
                                                        Event.action == "audit_read").order_by(Event.seq)))


def test_an_auditor_steps_through_the_history(app, svc, world, history):
    client = sign_in(app, world, "auditor", lang="en")
    listing = client.get("/audit/?q=量子センサー")
    assert listing.status_code == 200 and f"/audit/cases/{history}" in listing.get_data(as_text=True)

    page = client.get(f"/audit/cases/{history}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    last = int(re.search(r'type="range" min="1" max="(\d+)"', html).group(1))
    assert f"The case after event {last} of {last}" in html
    assert "Verified" in html and "Identical" in html
    assert 'id="tejun-diagram-data"' in html and '"active": []' in html  # completed: nothing active

    second = client.get(f"/audit/cases/{history}?at=2").get_data(as_text=True)
    assert f"The case after event 2 of {last}" in second
    assert '"active": ["edit"]' in second and 'aria-current="step"' in second
    after_first = client.get(f"/audit/cases/{history}?at=4").get_data(as_text=True)  # the first completion
    assert "Tasks opened" in after_first and "Review" in after_first and "rounds" in after_first


def test_the_diagram_of_the_version_the_case_ran_on(app, world, history):
    client = sign_in(app, world, "auditor")
    html = client.get(f"/audit/cases/{history}").get_data(as_text=True)
    xml_url = re.search(r'"xml_url": "([^"]+)"', html).group(1)
    diagram = client.get(xml_url)
    assert diagram.status_code == 200 and b'<bpmn:process id="loop_case"' in diagram.data
    other_version = re.sub(r"/diagram/(\d+)/", lambda m: f"/diagram/{int(m.group(1)) + 1000}/", xml_url)
    assert client.get(other_version).status_code == 404


def test_exports_verify_offline(app, world, history):
    client = sign_in(app, world, "fa_officer")
    zipped = client.get(f"/audit/cases/{history}/dossier.zip")
    assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
    assert "attachment;" in zipped.headers["Content-Disposition"]
    intact, lines = verify_dossier(io.BytesIO(zipped.data))
    assert intact, lines
    report = client.get(f"/audit/cases/{history}/report.html").get_data(as_text=True)
    assert "RS-" in report and "@page" in report and "第1版: 入退室管理を強化" in report


def test_who_may_read_a_history(app, svc, world, history):
    for who in ("auditor", "fa_auditor", "fa_officer", "security"):
        assert sign_in(app, world, who).get(f"/audit/cases/{history}").status_code == 200, who
    for who in ("researcher", "partner_security", "ministry", "designer"):
        assert sign_in(app, world, who).get(f"/audit/cases/{history}").status_code == 404, who
    with unit_of_work(svc) as session:  # an auditor of another funding agency
        other = ensure_organization(session, SYSTEM, code=f"{world.tag}-other-fa", name="他機構", name_en="Other",
                                    kind="funding_agency")
        user, _ = ensure_user(session, SYSTEM, username=f"{world.tag}-other-auditor", display_name="other",
                              email=f"{world.tag}-oa@example.jp", password=PASSWORD)
        grant_role(session, SYSTEM, user, other, "auditor", "fa")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": f"{world.tag}-other-auditor", "password": PASSWORD, "csrf_token": token})
    assert client.get(f"/audit/cases/{history}").status_code == 404


def test_every_read_an_auditor_makes_is_logged(app, svc, world, history):
    auditor = sign_in(app, world, "auditor")
    before = len(_reads(svc, world.users["auditor"]))
    auditor.get(f"/audit/cases/{history}?at=3")
    auditor.get(f"/cases/{history}")  # the ordinary case page too
    auditor.get(f"/api/v1/cases/{history}")
    auditor.get("/static/css/audit.css")  # not a read of case information
    reads = _reads(svc, world.users["auditor"])[before:]
    assert [(e.case_id, e.data["path"]) for e in reads] == [
        (history, f"/audit/cases/{history}?at=3"), (history, f"/cases/{history}"),
        (history, f"/api/v1/cases/{history}")]
    assert all(e.actor_id == world.users["auditor"] for e in reads)

    officer = sign_in(app, world, "fa_officer")
    officer.get(f"/audit/cases/{history}")
    assert _reads(svc, world.users["fa_officer"]) == []


def test_a_read_that_cannot_be_logged_is_refused(app, world, history, monkeypatch):
    auditor = sign_in(app, world, "auditor")

    def broken(*args, **kwargs):
        raise RuntimeError("the log is unavailable")

    monkeypatch.setattr("service.audit.reads.chain.append", broken)
    refused = auditor.get(f"/audit/cases/{history}")
    assert refused.status_code == 503 and "量子センサー" not in refused.get_data(as_text=True)


def test_the_reports_anchor_time_is_in_japan_time_like_every_other_time(app, svc, world, history, travel):
    from datetime import UTC, datetime

    from service.eventlog.anchors import create_anchor

    travel.moment = datetime(2026, 6, 30, 15, 30, tzinfo=UTC)  # 2026-07-01 00:30 in Japan
    create_anchor(svc)
    for lang, line in (("ja", "アンカー"), ("en", "anchor")):
        report = sign_in(app, world, "auditor", lang=lang).get(f"/audit/cases/{history}/report.html")
        text = re.sub(r"<[^>]+>", " ", report.get_data(as_text=True))
        anchored = next(part for part in text.split("\n") if line in part and "2026-0" in part)
        assert "2026-07-01 00:30" in anchored, anchored
        assert "2026-06-30" not in anchored and " JST" not in anchored.replace("(JST)", ""), anchored
