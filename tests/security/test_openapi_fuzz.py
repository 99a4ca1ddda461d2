"""Schemathesis over the OpenAPI document, in process against the WSGI app, with valid credentials.

Every operation gets generated requests (valid and invalid) as a lead institution's security officer and as an
FA officer, with a token per operation (an example may revoke it). The responses must not be 5xx, must
have a status code, content type and body the document declares (errors: application/problem+json, Problem).
Examples are few and derandomized, so the run is reproducible and takes about a minute.
"""

from __future__ import annotations

import secrets

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.auth import tokens
from service.auth.actor import SYSTEM
from service.auth.admin import ensure_organization, ensure_user, grant_role
from service.models import User
from service.unit_of_work import unit_of_work
from tests.conftest import PASSWORD, World
from tests.web.helpers import Case

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# a different address than the other tests' sign-ins: generated wrong passwords for POST /auth/token count
# towards the per-address throttle (TEJUN_LOGIN_IP_MAX_FAILURES), which answers 429 here and not there
FUZZ_ADDRESS = "198.51.100.7"
TOKENS: dict[tuple[str, str], dict[str, str]] = {}


@pytest.fixture(scope="module")
def people(app):
    """An FA with a call, a lead institution with a case on it: the callers and something to find."""
    from datetime import date

    from service import clock
    from service.models import Call, Program

    svc = app.extensions["tejun"]
    tag = f"fz{secrets.token_hex(3)}"
    with unit_of_work(svc) as session:
        fa = ensure_organization(session, SYSTEM, code=f"{tag}-fa", name=f"{tag} 機構", name_en=f"{tag} FA",
                                 kind="funding_agency")
        lead = ensure_organization(session, SYSTEM, code=f"{tag}-lead", name=f"{tag} 大学", name_en=f"{tag} U",
                                   kind="institution")
        users = {}
        for name, org, role in (("security", lead, "security_officer"), ("fa_officer", fa, "fa_officer")):
            user, _ = ensure_user(session, SYSTEM, username=f"{tag}-{name}", display_name=name,
                                  email=f"{tag}-{name}@example.jp", password=PASSWORD)
            grant_role(session, SYSTEM, user, org, role, "organization")
            users[name] = user.id
        program = Program(code=f"{tag}-prog", title="プログラム", title_en="program", funding_agency_id=fa.id,
                          designated=True, created_at=clock.now())
        session.add(program)
        session.flush()
        call = Call(program_id=program.id, code=f"{tag}-call", title="公募", risk_deadline=date(2027, 1, 29),
                    follow_up_interval="P12M", status="open", created_at=clock.now())
        session.add(call)
        session.flush()
        world = World(svc=svc, tag=tag, fa_id=fa.id, lead_id=lead.id, call_id=call.id, users=users)
    Case(svc, world, title="fuzz")
    return world


def bearer(svc, user_id: int) -> dict[str, str]:
    with unit_of_work(svc) as session:
        plain, _token = tokens.issue(session, session.get(User, user_id), "fuzz", ["read", "write"])
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture(scope="module")
def api_schema(app, people):
    headers = bearer(app.extensions["tejun"], people.users["security"])
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)


schema = schemathesis.pytest.from_fixture("api_schema")

# The HTTP contract (status codes, content types, bodies the document declares) is the same on either database,
# whose queries the API tests run in both passes: one pass of `make test` fuzzes it.
pytestmark = [pytest.mark.one_pass, pytest.mark.slow]



def _fuzz_as(who: str):
    @schema.parametrize()
    @settings(max_examples=12, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case, app, people):
        # a token per operation (not per example: issuing is a write and an audit event); one operation's
        # examples may revoke its token, which then meets the documented 401
        key = (who, case.operation.label)
        if key not in TOKENS:
            TOKENS[key] = bearer(app.extensions["tejun"], people.users[who])
        headers = TOKENS[key]
        case.call_and_validate(headers=headers, checks=CHECKS, environ_base={"REMOTE_ADDR": FUZZ_ADDRESS})

    return check


test_the_api_keeps_its_promises_to_a_security_officer = _fuzz_as("security")
test_the_api_keeps_its_promises_to_an_fa_officer = _fuzz_as("fa_officer")
