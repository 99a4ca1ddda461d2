"""Restarting a case in error (`commands.retry_case`): the case page, the admin list, the API and the CLI."""

from __future__ import annotations

from sqlalchemy import select, update

from service.auth.actor import SYSTEM
from service.auth.admin import grant_role
from service.cases import commands
from service.models import Case, Event, Organization, User
from service.unit_of_work import unit_of_work
from tests.conftest import model_set
from tests.web.helpers import post, sign_in


def _case_in_error(svc, world, reason: str = "boom: a script failed") -> tuple[int, str]:
    model_set(svc, "loop")
    case_id = commands.start_case(
        svc, world.actor("security"), call_id=world.call_id, lead_institution_id=world.lead_id,
        title="再開", process_id="loop_case", model_set="test-loop",
    ).case_id
    with unit_of_work(svc) as session:  # as the pipeline leaves a case whose model failed
        session.execute(update(Case).where(Case.id == case_id).values(status="error", error_message=reason))
        reference = session.get(Case, case_id).reference
    return case_id, reference


def _status(svc, case_id: int) -> str:
    with svc.db.reader() as session:
        return session.get(Case, case_id).status


def _retried(svc, case_id: int) -> int:
    with svc.db.reader() as session:
        return len(session.scalars(select(Event).where(Event.case_id == case_id,
                                                       Event.action == "case_retried")).all())


def test_a_system_administrator_restarts_a_case_from_the_admin_list(app, svc, world):
    case_id, reference = _case_in_error(svc, world)
    admin = sign_in(app, world, "sysadmin")
    page = admin.get("/admin/cases-in-error").get_data(as_text=True)
    assert reference in page and "boom: a script failed" in page
    assert f'action="/cases/{case_id}/retry"' in page
    done = post(admin, f"/cases/{case_id}/retry", {"next": "/admin/cases-in-error"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/cases-in-error")
    assert _status(svc, case_id) == "running" and _retried(svc, case_id) == 1
    assert reference not in admin.get("/admin/cases-in-error").get_data(as_text=True)
    again = post(admin, f"/cases/{case_id}/retry", {"next": "/admin/cases-in-error"})  # not in error any more
    assert again.status_code == 302 and _retried(svc, case_id) == 1
    assert "エラーで停止していません" in admin.get("/admin/cases-in-error").get_data(as_text=True)
    # nobody else: 403 for who sees the case, 404 for the rest; the list does not exist for them
    case_id, _ = _case_in_error(svc, world)
    assert post(sign_in(app, world, "security"), f"/cases/{case_id}/retry").status_code == 403
    assert post(sign_in(app, world, "partner_researcher"), f"/cases/{case_id}/retry").status_code == 404
    assert sign_in(app, world, "security").get("/admin/cases-in-error").status_code == 404
    assert _status(svc, case_id) == "error"


def test_the_case_page_offers_a_restart_to_a_system_administrator_only(app, svc, world):
    case_id, _ = _case_in_error(svc, world)
    with unit_of_work(svc) as session:  # an FA officer who also administers the system sees the case in full
        grant_role(session, SYSTEM, session.get(User, world.users["fa_officer"]),
                   session.get(Organization, world.fa_id), "system_admin", "organization")
    page = sign_in(app, world, "fa_officer").get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'action="/cases/{case_id}/retry"' in page and "案件を再開する</button>" in page
    other = sign_in(app, world, "fa_manager").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "boom" in other and f'action="/cases/{case_id}/retry"' not in other


def test_the_api_restarts_a_case_in_error(app, svc, world):
    case_id, _ = _case_in_error(svc, world)
    admin = sign_in(app, world, "sysadmin")
    headers = {"X-CSRFToken": admin.csrf, "Accept": "application/json"}
    security = sign_in(app, world, "security")
    refused = security.post(f"/api/v1/cases/{case_id}/retry",
                            headers={"X-CSRFToken": security.csrf, "Accept": "application/json"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    done = admin.post(f"/api/v1/cases/{case_id}/retry", headers=headers)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["status"] == "running" and done.get_json()["case_id"] == case_id
    conflict = admin.post(f"/api/v1/cases/{case_id}/retry", headers=headers)
    assert conflict.status_code == 409 and conflict.mimetype == "application/problem+json"
    assert "not in error" in conflict.get_json()["detail"]
    spec = admin.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/cases/{case_id}/retry"]["post"]
    assert {"200", "403", "404", "409"} <= set(operation["responses"])


def test_the_cli_lists_and_restarts_cases_in_error(app, svc, world):
    case_id, reference = _case_in_error(svc, world)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["cases", "errors"])
    assert listed.exit_code == 0 and f"{case_id}\t{reference}" in listed.output
    done = runner.invoke(args=["cases", "retry", str(case_id)])
    assert done.exit_code == 0, done.output
    assert f"case {case_id} restarted" in done.output and _status(svc, case_id) == "running"
    again = runner.invoke(args=["cases", "retry", str(case_id)])
    assert again.exit_code == 1 and "not in error" in again.output
