"""Every route and every API operation, against a user of every role in every kind of organization.

One table, RULES, says for each endpoint (and method) what each fixture user gets: `ok` (the permission check
let them through: 2xx, a redirect that is not to the sign-in page, or a 400/409/422 the use case answered
after its permission check), `403` (they may see the object but not do this), `404` (the object is outside
their scope, or the page does not exist for their role), `login` (anonymous on a page: the sign-in redirect)
or `401` (anonymous on the API: a problem). A route without a rule fails `test_every_route_has_a_rule`,
naming it: adding a route means deciding who may use it, here.

The fixture world: funding agency FA1 with a case led by institution A with partner B, and FA2 with a case
led by institution C (the "other" side), a ministry, and the staff roles. Every case-scoped route is also
tried on the other side's case, where everyone of FA1's side who was let through must get 404, not 403.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from service import clock
from service.attachments import store_upload
from service.auth import tokens
from service.auth.actor import SYSTEM
from service.auth.admin import ensure_organization, ensure_user, grant_role
from service.auth.roles import ORG_KIND_ROLES, STAFF_ROLES
from service.designer import versions
from service.models import (
    Call,
    CaseMember,
    MigrationJob,
    Organization,
    Program,
    ScreeningEntry,
    ScreeningHit,
    ScreeningSnapshot,
    ScreeningSubject,
    User,
    WorkItem,
)
from service.notifications import notify
from service.unit_of_work import unit_of_work
from tests.conftest import DATA, PASSWORD, World
from tests.web.helpers import Case, csrf, sign_in_as

PROBLEM = "application/problem+json"

# -- the fixture users ---------------------------------------------------------------------------------------

# key: (organization, role, scope); organizations: fa (FA1), fa2, lead (A), partner (B), other (C), ministry
USERS = {
    "fa_officer": ("fa", "fa_officer", "organization"),
    "fa_manager": ("fa", "fa_manager", "organization"),
    "fa2_officer": ("fa2", "fa_officer", "organization"),
    "fa2_manager": ("fa2", "fa_manager", "organization"),
    "security": ("lead", "security_officer", "organization"),
    "admin": ("lead", "institution_admin", "organization"),
    "researcher": ("lead", "researcher", "organization"),  # on case A's team
    "bystander": ("lead", "researcher", "organization"),  # same institution, not on the team
    "partner_security": ("partner", "security_officer", "organization"),
    "partner_admin": ("partner", "institution_admin", "organization"),
    "partner_researcher": ("partner", "researcher", "organization"),
    "other_security": ("other", "security_officer", "organization"),
    "other_admin": ("other", "institution_admin", "organization"),
    "other_researcher": ("other", "researcher", "organization"),
    "ministry": ("ministry", "ministry_officer", "organization"),
    "designer": ("fa", "process_designer", "organization"),
    "auditor": ("fa", "auditor", "all"),
    "fa_auditor": ("fa", "auditor", "fa"),
    "sysadmin": ("fa", "system_admin", "organization"),
}
ANON = "anonymous"
EVERYONE = (*USERS, ANON)
ORG_KINDS = {"fa": "funding_agency", "fa2": "funding_agency", "lead": "institution", "partner": "institution",
             "other": "institution", "ministry": "ministry"}
# who sees case A in full (FA1, the lead institution's staff, auditors in scope), in part, as a summary
FULL_A = {"fa_officer", "fa_manager", "security", "admin", "auditor", "fa_auditor"}
PART_A = {"partner_security", "partner_admin"}
SUMMARY_A = {"researcher"}
SIGNED_IN = set(USERS)
INSTITUTION_STAFF = {"security", "admin", "partner_security", "partner_admin", "other_security", "other_admin"}
DESIGNERS = {"designer", "sysadmin"}
# FA1's side: everyone who may reach something of case A; the other side's case must be 404 for them
SIDE_A = {"fa_officer", "fa_manager", "security", "admin", "researcher", "bystander", "partner_security",
          "partner_admin", "partner_researcher", "fa_auditor"}


def rule(ok=(), forbidden=(), anonymous=None, **exceptions) -> dict[str, str]:
    """`ok` users get through, `forbidden` get 403, every other signed-in user 404; anonymous as the route kind
    says (None: `login` for pages, `401` for the API) unless given; `exceptions` name single users."""
    table = {user: "ok" if user in ok else "403" if user in forbidden else "404" for user in USERS}
    table[ANON] = anonymous
    table.update(exceptions)
    return table


def signed_in(anonymous=None) -> dict[str, str]:
    return rule(ok=SIGNED_IN, anonymous=anonymous)


def public() -> dict[str, str]:
    return rule(ok=SIGNED_IN, anonymous="ok")


# -- the rules -----------------------------------------------------------------------------------------------

CASE_TASK = "fix_team_roster"  # case A's open task for the lead institution's security officers (role holders)
RULES: dict[str, dict[str, str]] = {
    # anonymous entry points and files
    "static GET": public(),
    "web.static GET": public(),
    "healthz GET": public(),
    "readyz GET": public(),
    # open to the addresses in TEJUN_METRICS_ALLOW (the test client's 127.0.0.1) or a bearer token
    # (tests/ops/test_observability.py); not a signed-in user's right
    "metrics_endpoint GET": public(),
    "web.login GET": public(),
    # POST /login is the sign-in form itself: not probed with failures here (they would trip the per-IP
    # throttle for the whole test session); tests/security/test_login.py covers it
    "web.login POST": public(),
    "api-docs.openapi_json GET": signed_in(),  # like every /api/ path (tests/api/test_api.py)
    "auth.Token POST": public(),  # an empty body: a 422 problem before any password is checked
    # everyone signed in: their own things
    "web.home GET": signed_in(),
    "web.case_list GET": signed_in(),
    "web.language POST": signed_in(),
    "web.logout POST": signed_in(),
    "web.notification_list GET": signed_in(),
    "web.notification_read POST": signed_in(),
    "web.notification_open GET": rule(ok={"security"}),  # the security officer's notification
    "screening_pages.my_disclosure GET": signed_in(),
    "screening_pages.save_my_disclosure POST": signed_in(),
    "auth.Tokens GET": signed_in(),
    "auth.TokenRevocation DELETE": rule(ok={"security"}),  # a second token of the security officer
    "disclosures.MyProfile GET": signed_in(),
    "disclosures.MyProfile PUT": signed_in(),
    "disclosures.MyConsents GET": signed_in(),
    # consent to the office's pre-fill: only for a case whose team one is on (case A: the researcher)
    "disclosures.MyConsent PUT": rule(ok={"researcher"}),
    "disclosures.MyConsent DELETE": rule(ok={"researcher"}),
    "screening_pages.set_disclosure_consent POST": rule(ok={"researcher"}),
    # the researcher's profile: themselves and the security officers of an institution they belong to
    "screening_pages.disclosure_of GET": rule(ok={"researcher", "security"}),
    "disclosures.Profile GET": rule(ok={"researcher", "security"}),
    # lists filter by scope: everyone signed in gets their own list
    "cases.Cases GET": signed_in(),
    "tasks.Tasks GET": signed_in(),
    "model_versions.ModelVersions GET": signed_in(),
    "screening.Snapshots GET": signed_in(),
    # dashboards and exports count and list only the viewer's own cases (tests/dashboards): everyone signed in
    "dashboard.dashboard GET": signed_in(),
    "dashboard.table_export GET": rule(),  # probed without ?table=: no such table (tests/dashboards covers it)
    "dashboard.measures_export GET": signed_in(),
    "dashboard.cases_export GET": signed_in(),
    "dashboard.queue_export GET": signed_in(),
    # starting a case: the lead institution's security officer or administrator, for their institution
    # (the probe names institution A as lead: the other institutions' staff get 404 "no such institution")
    "cases.Cases POST": rule(ok={"security", "admin"}),
    # a case: FULL, PART and SUMMARY views see it, nobody else (not even that it exists)
    "web.case GET": rule(ok=FULL_A | PART_A | SUMMARY_A),
    "cases.CaseResource GET": rule(ok=FULL_A | PART_A | SUMMARY_A),
    "web.case_diagram GET": rule(ok=FULL_A),  # progress through every party's steps: full views only
    # a message the case is not waiting for: 409 for whoever sees the case (may_send is checked for the
    # messages it waits for); 404 for everyone else
    "cases.CaseMessages POST": rule(ok=FULL_A | PART_A),
    # restarting a case in error: system administrators (case A is not in error: a 409 past the check), 403 for
    # whoever sees the case, 404 for the rest; the admin list of cases in error is an admin.* page
    "cases.CaseRetry POST": rule(ok={"sysadmin"}, forbidden=FULL_A | PART_A | SUMMARY_A),
    "web.case_retry POST": rule(ok={"sysadmin"}, forbidden=FULL_A | PART_A | SUMMARY_A),
    # a task of the lead institution's security officers
    "web.task GET": rule(ok=FULL_A),
    "tasks.TaskResource GET": rule(ok=FULL_A),
    "web.submit POST": rule(ok={"security"}, forbidden=FULL_A - {"security"}),
    "tasks.TaskComplete POST": rule(ok={"security"}, forbidden=FULL_A - {"security"}),
    "web.draft POST": rule(ok={"security"}, forbidden=FULL_A - {"security"}),
    "tasks.TaskDraft POST": rule(ok={"security"}, forbidden=FULL_A - {"security"}),
    "web.upload POST": rule(ok={"security"}, forbidden=FULL_A - {"security"}),
    "web.claim POST": rule(ok={"security"}, forbidden=FULL_A - {"security"}),
    "tasks.TaskClaim POST": rule(ok={"security"}, forbidden=FULL_A - {"security"}),
    "web.release POST": rule(ok={"security", "admin"}, forbidden=FULL_A - {"security", "admin"}),
    "tasks.TaskRelease POST": rule(ok={"security", "admin"}, forbidden=FULL_A - {"security", "admin"}),
    "web.assign POST": rule(ok={"security", "admin"}, forbidden=FULL_A - {"security", "admin"}),
    "tasks.TaskAssign POST": rule(ok={"security", "admin"}, forbidden=FULL_A - {"security", "admin"}),
    # evidence: whoever may see that part of the case, and the uploader
    "web.attachment GET": rule(ok=FULL_A),
    # screening: a FULL view reads, the lead institution's security officers decide
    "screening_pages.case_screening GET": rule(ok=FULL_A),
    "screening.CaseScreening GET": rule(ok=FULL_A),
    "screening_pages.review POST": rule(ok={"security"}, forbidden=(FULL_A | PART_A) - {"security"}),
    "screening.HitReview POST": rule(ok={"security"}, forbidden=(FULL_A | PART_A) - {"security"}),
    # the cases with hits waiting for a decision: everyone signed in gets their own list (FULL views only)
    "screening_pages.open_hits GET": signed_in(),
    # importing restricted-party lists: an institution's security officers and administrators (their own list),
    # system administrators (the published lists); the page does not exist for anyone else (the POST probes,
    # without a file, are answered 422 past the check)
    **{f"screening_pages.{name} {method}": rule(ok=INSTITUTION_STAFF | {"sysadmin"}) for name, method in (
        ("lists", "GET"), ("upload_list", "POST"), ("import_uploaded_list", "POST"))},
    # starting a programme designation from a page: FA officers and managers (of any agency: the form offers
    # their own) and a ministry's officers (the ministry designates, any agency's programme); the empty POST
    # probe is answered 422 past the check
    "web.designation_new GET": rule(ok={"fa_officer", "fa_manager", "fa2_officer", "fa2_manager", "ministry"}),
    "web.designation_new POST": rule(ok={"fa_officer", "fa_manager", "fa2_officer", "fa2_manager", "ministry"}),
    # audit pages: auditors and FA / institution staff, on the cases they see in full
    "audit.index GET": rule(ok={"fa_officer", "fa_manager", "fa2_officer", "fa2_manager", "auditor",
                                "fa_auditor"} | INSTITUTION_STAFF),
    "audit.history GET": rule(ok=FULL_A),
    "audit.report GET": rule(ok=FULL_A),
    "audit.dossier GET": rule(ok=FULL_A),
    "audit.diagram GET": rule(ok=FULL_A),
    # the model store: process designers and system administrators; for everyone else it does not exist
    **{f"designer.{name} {method}": rule(ok=DESIGNERS) for name, method in (
        ("index", "GET"), ("model_set", "GET"), ("version", "GET"), ("file", "GET"), ("diff", "GET"),
        ("edit", "GET"), ("upload", "GET"), ("upload", "POST"), ("validate", "POST"), ("save_draft", "POST"),
        ("publish", "POST"), ("retire", "POST"), ("cases", "GET"), ("preview", "POST"), ("migrate", "POST"),
        ("job", "GET"), ("job_progress", "GET"), ("form_preview", "POST"))},
    # single sign-on (registered only when TEJUN_OIDC_ISSUER is set: see
    # test_single_sign_on_routes_have_rules_and_are_public, which builds such an app)
    "sso.start GET": public(),
    "sso.callback GET": public(),
    # a case's data through the API: the case page's views (a summary view gets empty lists, as on the page)
    **{f"case_data.{name} GET": rule(ok=FULL_A | PART_A | SUMMARY_A) for name in (
        "CaseSteps", "CaseTimeline", "CaseTasks", "CaseTeam", "CaseAttachments", "CaseSubmissions")},
    "case_data.AttachmentDownload GET": rule(ok=FULL_A),  # as web.attachment
    # programmes, calls, organizations and reference lists: everyone signed in
    **{f"catalog.{name} GET": signed_in() for name in (
        "Programs", "ProgramResource", "Calls", "CallResource", "Organizations", "OrganizationResource",
        "TechnologyAreas", "RiskLevels", "MitigationCatalog")},
    # the call's e-Rad file: FA1's staff and auditors in scope; everyone else sees the call, so 403
    "catalog.CallEradExport GET": rule(ok={"fa_officer", "fa_manager", "auditor", "fa_auditor"},
                                       forbidden=SIGNED_IN - {"fa_officer", "fa_manager", "auditor", "fa_auditor"}),
    # a programme designation: FA1's officers and managers (for another agency: 404 "no such funding agency");
    # the probe names no ministry, so a ministry's officer gets 404 too (with `ministry_id`: test_case_api)
    "catalog.Designations POST": rule(ok={"fa_officer", "fa_manager"}),
    # e-Rad pages: the per-call files for whoever may export a call (FA staff, auditors); importing a roster file
    # into the case's open roster task for who may work it (403 for the others who see the case)
    "web.erad_exports GET": rule(ok={"fa_officer", "fa_manager", "fa2_officer", "fa2_manager", "auditor",
                                     "fa_auditor"}),
    **{f"web.{name} {method}": rule(ok={"security"}, forbidden=(FULL_A | PART_A | SUMMARY_A) - {"security"})
       for name, method in (("roster_import_page", "GET"), ("roster_import_page", "POST"),
                            ("roster_import_apply", "POST"))},
    # administration through the API: system administrators only, 404 for everyone else (as the pages)
    **{f"administration.{name} {method}": rule(ok={"sysadmin"}) for name, method in (
        ("AdminOrganizations", "GET"), ("AdminOrganizations", "POST"), ("AdminOrganization", "PATCH"),
        ("AdminUsers", "GET"), ("AdminUsers", "POST"), ("AdminUser", "GET"), ("AdminUserActive", "POST"),
        ("AdminUserPassword", "POST"), ("AdminUserGrants", "POST"), ("AdminUserGrant", "DELETE"))},
    # FA–institution consultation (service/consultations): the FA's officers and managers and the lead's office
    # write, auditors read (403 on writes); partners, researchers and ministries do not see the threads (404;
    # the API's list answers them an empty list). Closing: the side that asked (the fixture's thread: the lead's)
    "consultations.Consultations GET": rule(ok=FULL_A | PART_A | SUMMARY_A),
    **{f"{name} POST": rule(ok={"fa_officer", "fa_manager", "security", "admin"}, forbidden={"auditor", "fa_auditor"})
       for name in ("consultations.Consultations", "consultations.ConsultationMessages", "web.consultation_open",
                    "web.consultation_answer", "consultations.ConsultationAttachments")},
    **{f"{name} POST": rule(ok={"security", "admin"}, forbidden={"fa_officer", "fa_manager", "auditor", "fa_auditor"})
       for name in ("consultations.ConsultationClose", "web.consultation_close")},
}
# routes other engineers are adding; their rules are decided here so that they are checked once they exist
PLANNED_RULES: dict[str, dict[str, str]] = {
    # opening a case: the staff of an institution (any: the form offers only their own institutions as lead;
    # the POST probe, an incomplete form, is answered 422 past the check), 403 for every other role
    "web.case_new GET": rule(ok=INSTITUTION_STAFF, forbidden=SIGNED_IN - INSTITUTION_STAFF),
    "web.case_new POST": rule(ok=INSTITUTION_STAFF, forbidden=SIGNED_IN - INSTITUTION_STAFF),
    # a case event from its page: whoever sees the case at least in part (the probe's unknown message is a
    # 400 past the check; send_message checks may_send), 403 for the team's researcher, 404 for the rest
    "web.case_message POST": rule(ok=FULL_A | PART_A, forbidden=SUMMARY_A),
}
ADMIN_RULE = rule(ok={"sysadmin"})  # every admin.* endpoint

# case-scoped routes: tried on the other side's case too (everyone of FA1's side who got through gets 404)
CASE_SCOPED = {"case_id", "task_id", "hit_id", "public_id"}


def rule_for(endpoint: str, method: str) -> dict[str, str] | None:
    key = f"{endpoint} {method}"
    if key in RULES:
        return RULES[key]
    if key in PLANNED_RULES:
        return PLANNED_RULES[key]
    if endpoint.startswith("admin."):
        return ADMIN_RULE
    return None


# -- the fixture world ---------------------------------------------------------------------------------------


@dataclass
class Matrix:
    app: object
    world: World
    params: dict[str, str]  # URL arguments pointing at case A's objects
    other: dict[str, str]  # the same, for the other side's case
    clients: dict[str, object] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def svc(self):
        return self.app.extensions["tejun"]


def _people(session, tag: str, orgs: dict) -> dict[str, int]:
    found = {}
    for key, (org_key, role, scope) in USERS.items():
        assert role in ORG_KIND_ROLES[orgs[org_key].kind], (key, role)
        user, _ = ensure_user(session, SYSTEM, username=f"{tag}-{key}", display_name=key,
                              email=f"{tag}-{key}@example.jp", password=PASSWORD)
        grant_role(session, SYSTEM, user, orgs[org_key], role, scope)
        found[key] = user.id
    return found


def _call(session, tag: str, fa_id: int) -> int:
    program = Program(code=f"{tag}-prog-{fa_id}", title=f"{tag} プログラム", title_en=f"{tag} program",
                      funding_agency_id=fa_id, designated=True, created_at=clock.now())
    session.add(program)
    session.flush()
    call = Call(program_id=program.id, code=f"{tag}-call-{fa_id}", title="公募", risk_deadline=clock.now().date()
                + timedelta(days=300), follow_up_interval="P12M", status="open", created_at=clock.now())
    session.add(call)
    session.flush()
    return call.id


def _screening_hit(session, case_id: int, tag: str) -> int:
    now = clock.now()
    snapshot = ScreeningSnapshot(source="us_csl", label=f"{tag} list", list_date=now.date(), file_name="x.csv",
                                 checksum=secrets.token_hex(32), row_count=1, imported_by_name="test",
                                 imported_at=now)
    session.add(snapshot)
    session.flush()
    entry = ScreeningEntry(snapshot_id=snapshot.id, entry_key=f"{tag}-1", content_hash="0" * 64,
                           entity_type="person", name="Yamada Taro")
    subject = ScreeningSubject(case_id=case_id, subject_id="M1", subject_type="person", name="山田 太郎",
                               first_screened_at=now, last_screened_at=now)
    session.add_all([entry, subject])
    session.flush()
    hit = ScreeningHit(case_id=case_id, subject_ref_id=subject.id, snapshot_id=snapshot.id, entry_id=entry.id,
                       source="us_csl", entry_key=entry.entry_key, content_hash=entry.content_hash,
                       entry_name=entry.name, score=91.0, classification="probable", found_by="test",
                       evidence={  # as procedure.screen_case records it
                           "subject": {"label": "name", "name": subject.name, "form": "yamada taro",
                                       "normalizations": []},
                           "entry": {"label": "name", "name": entry.name, "form": "yamada taro", "normalizations": []},
                           "space": "latin", "scorer": "ratio", "score": 91.0,
                           "list": {"source": "us_csl", "list_date": now.date().isoformat(),
                                    "snapshot_id": snapshot.id, "countries": [], "programs": []}},
                       found_at=now)
    session.add(hit)
    session.flush()
    return hit.id


def _case_objects(svc, world: World, case: Case, who: str, tag: str) -> dict[str, str]:
    """URL arguments for the case's task (of the lead's security officers), an upload, a screening hit."""
    (item,) = [i for i in case.items() if i.element_id == CASE_TASK]
    stored = store_upload(svc, world.actor(who), item.task_id, "evidence.txt", io.BytesIO(b"evidence\n"))
    with unit_of_work(svc) as session:
        hit_id = _screening_hit(session, case.id, tag)
    with svc.db.reader() as session:
        version_id = session.get(WorkItem, item.id).case.model_version_id
        process_id = session.get(WorkItem, item.id).case.process_id
    return {"case_id": str(case.id), "task_id": item.task_id, "public_id": stored.id, "hit_id": str(hit_id),
            "version_id": str(version_id), "process_id": process_id, "item_id": str(item.id)}


@pytest.fixture(scope="module")
def matrix(app) -> Matrix:
    svc = app.extensions["tejun"]
    tag = f"rm{secrets.token_hex(3)}"
    with unit_of_work(svc) as session:
        orgs = {key: ensure_organization(session, SYSTEM, code=f"{tag}-{key}", name=f"{tag} {key}",
                                         name_en=f"{tag} {key}", kind=kind) for key, kind in ORG_KINDS.items()}
        users = _people(session, tag, orgs)
        calls = {key: _call(session, tag, orgs[key].id) for key in ("fa", "fa2")}
        ids = {key: org.id for key, org in orgs.items()}
    world = World(svc=svc, tag=tag, fa_id=ids["fa"], lead_id=ids["lead"], partner_id=ids["partner"],
                  ministry_id=ids["ministry"], call_id=calls["fa"], users=users)
    case_a = Case(svc, world, title="案件A", partner=True)
    # the other side: FA2's call, institution C leading (the helper starts cases as "security" of world.lead)
    other_world = World(svc=svc, tag=tag, fa_id=ids["fa2"], lead_id=ids["other"], call_id=calls["fa2"],
                        users={**users, "security": users["other_security"]})
    case_c = Case(svc, other_world, title="案件C")
    params = _case_objects(svc, world, case_a, "security", tag)
    other = _case_objects(svc, other_world, case_c, "security", tag + "c")
    from service import consultations  # a thread of case A, opened by the lead's office

    params["thread_id"] = str(consultations.open_thread(svc, world.actor("security"), case_a.id, subject="general",
                                                        title="matrix", body="matrix"))
    other["thread_id"] = str(consultations.open_thread(svc, other_world.actor("security"), case_c.id,
                                                       subject="general", title="matrix", body="matrix"))
    # RULES are the FA's view once the institution has submitted; before that it sees only its own part
    # (docs/security.md, tests/procedure/test_submissions.py, tests/security/test_confidentiality.py)
    from service.models import Case as CaseRow

    with unit_of_work(svc) as session:
        session.execute(update(CaseRow).where(CaseRow.id.in_([case_a.id, case_c.id])).values(fa_submission="submitted"))
    # the team of case A: the researcher is on it (a case member), the bystander is not
    with unit_of_work(svc) as session:
        session.add(CaseMember(case_id=case_a.id, user_id=users["researcher"]))
    with unit_of_work(svc) as session:
        designer = world.actor("designer")
        files = {p.name: p.read_bytes() for p in sorted((DATA / "models" / "loop").iterdir()) if p.is_file()}
        set_name = f"{tag}-set"
        version_id, _ = versions.upload_draft(svc, designer, files, "matrix", set_name=set_name)
        versions.publish(svc, designer, version_id)
        job = MigrationJob(target_version_id=version_id, status="finished", case_ids=[case_a.id], predicted={},
                           results={}, total=1, done=1, requested_by_id=users["designer"], created_at=clock.now())
        session.add(job)
        session.add(ScreeningSnapshot(source="institution_list", organization_id=ids["other"], label=f"{tag} C's own",
                                      list_date=clock.now().date(), file_name="c.csv", checksum="1" * 64,
                                      imported_by_name="other_security", imported_at=clock.now()))
        notice = notify(session, user_ids=[users["security"]], kind="test", title="t", url=f"/cases/{case_a.id}")
        session.flush()
        _plain, second = tokens.issue(session, session.get(User, users["security"]), "second", ["read"])
        session.flush()
        token_id = second.id
        params.update(job_id=str(job.id), notification_id=str(notice[0].id), token_id=str(token_id),
                      user_id=str(users["researcher"]), set_name=set_name, name="loop.bpmn",
                      model_version_id=str(version_id), filename="favicon.svg")
        victim, _ = ensure_user(session, SYSTEM, username=f"{tag}-managed", display_name="managed",
                                email=f"{tag}-managed@example.jp", password=PASSWORD)
        victim_grant = grant_role(session, SYSTEM, victim, session.get(Organization, ids["ministry"]),
                                  "ministry_officer", "organization")
        session.flush()
        params.update(admin_user_id=str(victim.id), admin_organization_id=str(ids["ministry"]),
                      admin_grant_id=str(victim_grant.id), call_id=str(calls["fa"]), organization_id=str(ids["lead"]),
                      program_id=str(session.get(Call, calls["fa"]).program_id))
        plain = {key: tokens.issue(session, session.get(User, uid), "matrix", ["read", "write"])[0]
                 for key, uid in users.items()}
    other.update({k: v for k, v in params.items() if k not in other})
    m = Matrix(app=app, world=world, params=params, other=other, tokens=plain)
    for key in USERS:
        m.clients[key] = sign_in_as(app, f"{tag}-{key}", lang="en")
    m.clients[ANON] = anonymous = app.test_client()
    anonymous.set_cookie("lang", "en")
    anonymous.csrf = csrf(anonymous.get("/login").get_data(as_text=True))  # so that POSTs meet login_required
    return m


# -- probing -------------------------------------------------------------------------------------------------

# the designer's state-changing routes run last among theirs, logging out last of all
LAST = ("designer.publish", "designer.retire", "web.logout")
# flashes by which redirecting task actions say no (service/web/pages.py action_failed)
DENIED_FLASHES = {"You may not do that with this task.": "403",
                  "That task is no longer open (it may have been completed already).": "404"}


def _path(rule_text: str, params: dict[str, str]) -> str:
    def fill(match):
        name = match.group(2)
        if name == "version_id" and "/designer/" in rule_text:
            name = "model_version_id"
        if rule_text.startswith(("/admin/", "/api/v1/admin/")):  # on a user and an org of their own
            name = {"user_id": "admin_user_id", "organization_id": "admin_organization_id",
                    "grant_id": "admin_grant_id"}.get(name, name)
        return params[name]

    return re.sub(r"<(?:([a-z]+):)?([a-z_]+)>", fill, rule_text)


def _request(m: Matrix, user: str, endpoint: str, method: str, path: str, params: dict[str, str]) -> dict:
    """How to call the route: a minimal request that reaches its permission check without doing much."""
    api = path.startswith("/api/")
    client = m.clients[user]
    kwargs: dict = {"method": method}
    if api:
        kwargs["headers"] = {"Authorization": f"Bearer {m.tokens[user]}"} if user != ANON else {}
        bodies = {
            "cases.Cases POST": {"call_id": m.world.call_id, "lead_institution_id": m.world.lead_id,
                                 "title": "matrix"},
            "cases.CaseMessages POST": {"name": "no_such_message", "payload": {}},
            "tasks.TaskAssign POST": {"user_id": m.world.users["fa_officer"]},
            "tasks.TaskComplete POST": {"data": {}},
            "tasks.TaskDraft POST": {"data": {}},
            "screening.HitReview POST": {"decision": "false_positive", "reason": "matrix"},
            "disclosures.MyProfile PUT": {"data": {"no_such_section": {}}},
            "catalog.Designations POST": {"funding_agency_id": m.world.fa_id, "title": "matrix"},
            "consultations.Consultations POST": {"subject": "general", "title": "matrix", "body": "matrix"},
            "consultations.ConsultationMessages POST": {"body": "matrix"},
        }
        if endpoint == "consultations.ConsultationAttachments":  # multipart: a message with a file
            kwargs["data"] = {"body": "matrix", "files": (io.BytesIO(b"matrix evidence\n"), "matrix.txt")}
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = bodies.get(f"{endpoint} {method}", {})
        return kwargs
    token = getattr(client, "csrf", "")
    if method == "POST":
        json_bodies = {"web.submit": {"data": {}}, "web.draft": {"data": {}}, "designer.validate": {"files": {}},
                       "designer.save_draft": {"files": {}}, "designer.form_preview": {"schema": {}}}
        if endpoint in json_bodies:
            kwargs.update(json=json_bodies[endpoint], headers={"X-CSRFToken": token, "Accept": "application/json"})
            return kwargs
        forms = {
            "web.assign": {"assignee_id": m.world.users["fa_officer"]},
            "web.language": {"lang": "en"},
            "web.upload": {"file": (io.BytesIO(b"more evidence\n"), "more.txt")},
            "screening_pages.review": {"decision": "false_positive", "reason": "matrix"},
            "screening_pages.save_my_disclosure": {"profile": "{\"no_such_section\": {}}"},
            "web.case_message": {"name": "no_such_message"},
        }
        kwargs["data"] = {"csrf_token": token, **forms.get(endpoint, {})}
    elif endpoint == "designer.diff":
        kwargs["query_string"] = {"old": params["model_version_id"], "new": params["model_version_id"]}
    return kwargs


def _outcome(response, client, path: str) -> str:
    status = response.status_code
    if status >= 500:
        return f"5xx ({status})"
    if path.startswith("/api/") and status in (401, 403, 404):
        assert response.mimetype == PROBLEM, (path, status, response.mimetype)
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("Location", ""))
        if target.path == "/login" and (path != "/logout" or "next=" in target.query):
            return "login"
        with client.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        for _category, text in flashes:
            if str(text) in DENIED_FLASHES:
                return DENIED_FLASHES[str(text)]
        return "ok"
    if status in (401, 403, 404):
        return str(status)
    return "ok"  # 2xx, or a 400/405/409/413/415/422 the route answered past its permission check


def _reset(m: Matrix, params: dict[str, str]) -> None:
    """Undo a claim or an assignment, so that every user meets the task as it was."""
    with unit_of_work(m.svc) as session:
        session.execute(update(WorkItem).where(WorkItem.id == int(params["item_id"])).values(assignee_id=None))


# the API's answers the probes met: (path template, method, status), for test_api_errors_are_documented
SEEN: set[tuple[str, str, int]] = set()


def _probe(m: Matrix, endpoint: str, method: str, rule_text: str, params: dict[str, str], users) -> dict[str, str]:
    got = {}
    path = _path(rule_text, params)
    for user in users:
        client = m.clients[user]
        response = client.open(path, **_request(m, user, endpoint, method, path, params))
        got[user] = _outcome(response, client, path)
        if path.startswith("/api/v1/") and endpoint != "api-docs.openapi_json":
            SEEN.add((rule_text, method, response.status_code))
        if method != "GET" and "task_id" in rule_text:
            _reset(m, params)
    return got


def _routes(app) -> list[tuple[str, str, str]]:
    found = []
    for url_rule in app.url_map.iter_rules():
        for method in sorted(url_rule.methods - {"HEAD", "OPTIONS"}):
            found.append((url_rule.endpoint, method, url_rule.rule))
    return sorted(found, key=lambda r: (r[0] in LAST or r[0].startswith("designer.") and r[1] == "POST",
                                        LAST.index(r[0]) if r[0] in LAST else -1, r))


def _expected(table: dict[str, str], user: str, path: str) -> str:
    value = table[user]
    if value is None:
        return "401" if path.startswith("/api/") else "login"
    return value


def _openapi_operations(app) -> set[tuple[str, str]]:
    with app.app_context():
        spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return {(path, method.upper()) for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


def test_every_route_has_a_rule(app):
    missing = [f"{endpoint} {method}  ({path})" for endpoint, method, path in _routes(app)
               if rule_for(endpoint, method) is None]
    assert not missing, "routes without a rule in RULES:\n" + "\n".join(missing)
    # every API operation of the OpenAPI document is a route of the URL map (and so has its rule)
    in_map = {(re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path), method) for _e, method, path in _routes(app)}
    undocumented = sorted(op for op in in_map if op[0].startswith("/api/v1/") and op[0] != "/api/v1/openapi.json"
                          and op not in _openapi_operations(app))
    assert not undocumented, f"API routes missing from the OpenAPI document: {undocumented}"
    assert _openapi_operations(app) <= in_map, _openapi_operations(app) - in_map
    for table in (*RULES.values(), *PLANNED_RULES.values()):
        assert set(table) == set(EVERYONE)


def test_every_fixture_user_holds_a_role_valid_in_their_organization():
    for org_key, role, _scope in USERS.values():
        assert role in ORG_KIND_ROLES[ORG_KINDS[org_key]]
    kinds = {ORG_KINDS[org] for org, _r, _s in USERS.values()}
    assert kinds == set(ORG_KIND_ROLES)
    held = {(ORG_KINDS[org], role) for org, role, _s in USERS.values()}
    for kind, roles in ORG_KIND_ROLES.items():
        assert {(kind, role) for role in roles - STAFF_ROLES} <= held, kind
    assert {role for _o, role, _s in USERS.values()} >= STAFF_ROLES


@pytest.mark.slow  # thousands of requests: started first in the parallel pass
def test_route_matrix(matrix):
    """Every route, every user: the outcome the rules give, and never a 5xx."""
    wrong = []
    probed = 0
    for endpoint, method, rule_text in _routes(matrix.app):
        table = rule_for(endpoint, method)
        if table is None or endpoint == "web.logout" or (endpoint, method) == ("web.login", "POST"):
            continue  # test_every_route_has_a_rule names it; POST /login: see its rule; logout: the last test
        got = _probe(matrix, endpoint, method, rule_text, matrix.params, EVERYONE)
        probed += len(got)
        for user, outcome in got.items():
            want = _expected(table, user, rule_text)
            if outcome != want:
                wrong.append(f"{method} {endpoint} as {user}: expected {want}, got {outcome}")
    assert probed > 1000
    assert not wrong, f"{len(wrong)} of {probed} outcomes differ from RULES:\n" + "\n".join(wrong)


@pytest.mark.slow  # thousands of requests: started first in the parallel pass
def test_objects_outside_ones_scope_are_not_found(matrix):
    """The other side's case, its task, file and screening hit: 404 for everyone of FA1's side, never 403."""
    wrong = []
    probed = 0
    for endpoint, method, rule_text in _routes(matrix.app):
        names = set(re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule_text))
        table = rule_for(endpoint, method)
        if table is None or not names & CASE_SCOPED:
            continue
        users = sorted(u for u in SIDE_A if table[u] != "404")
        got = _probe(matrix, endpoint, method, rule_text, matrix.other, users)
        probed += len(got)
        wrong += [f"{method} {endpoint} as {user}: expected 404, got {outcome}"
                  for user, outcome in got.items() if outcome != "404"]
        # and the other side's own people meet their case as FA1's side meets theirs
        mirror = {"other_security": "security", "other_admin": "admin", "fa2_officer": "fa_officer",
                  "fa2_manager": "fa_manager"}
        got = _probe(matrix, endpoint, method, rule_text, matrix.other, sorted(mirror))
        probed += len(got)
        wrong += [f"{method} {endpoint} as {user} on their own case: expected {table[mirror[user]]}, got {outcome}"
                  for user, outcome in got.items() if outcome != table[mirror[user]]]
    assert probed > 100
    assert not wrong, "\n".join(wrong)


def test_api_errors_are_documented_as_problems(matrix):
    """Every error status the probes met is in that operation's responses, as application/problem+json."""
    assert len({(r, m) for r, m, _s in SEEN}) >= 20, "run after test_route_matrix"
    with matrix.app.app_context():
        spec = matrix.app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    undocumented = []
    for rule_text, method, status in sorted(SEEN):
        if status < 400:
            continue
        operation = spec["paths"][re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule_text)][method.lower()]
        response = operation["responses"].get(str(status))
        if response is None:
            undocumented.append(f"{method} {rule_text}: {status}")
            continue
        name = response["$ref"].rsplit("/", 1)[-1]
        content = spec["components"]["responses"][name]["content"]
        assert set(content) == {PROBLEM} and content[PROBLEM]["schema"]["$ref"].endswith("/Problem"), name
    assert not undocumented, "\n".join(undocumented)


def test_ids_beyond_the_databases_integers_are_not_found(matrix):
    """An id larger than the database's integers is a 404 everywhere (PostgreSQL would refuse the query)."""
    wrong = []
    for endpoint, method, rule_text in _routes(matrix.app):
        if "<int:" not in rule_text or endpoint == "web.logout":
            continue
        huge = re.sub(r"<int:[a-z_]+>", str(10**15), rule_text)
        for user in ("security", "sysadmin"):
            got = _probe(matrix, endpoint, method, huge, matrix.params, [user])[user]
            if got != "404":
                wrong.append(f"{method} {huge} as {user}: {got}")
    assert not wrong, "\n".join(wrong)


def _api(m: Matrix, user: str, path: str):
    response = m.clients[user].get(path, headers={"Authorization": f"Bearer {m.tokens[user]}"})
    assert response.status_code == 200, (user, path, response.status_code)
    return response.get_json()


def test_an_institutions_own_screening_lists_are_listed_only_for_its_people(matrix):
    own = f"{matrix.world.tag} C's own"
    # the institution's office (by role there), auditors of every case; not its researchers
    for user in ("other_security", "other_admin", "auditor"):
        assert own in {s["label"] for s in _api(matrix, user, "/api/v1/screening/snapshots")}, user
    for user in ("other_researcher", "security", "researcher", "partner_security", "fa_officer", "fa2_officer",
                 "fa_auditor"):
        labels = {s["label"] for s in _api(matrix, user, "/api/v1/screening/snapshots")}
        assert own not in labels and f"{matrix.world.tag} list" in labels, user


def test_why_a_case_stopped_is_shown_only_to_full_views(matrix):
    from service.models import Case as CaseRow

    case_id = int(matrix.params["case_id"])
    with unit_of_work(matrix.svc) as session:
        session.execute(update(CaseRow).where(CaseRow.id == case_id).values(error_message="ScriptError: secret"))
    try:
        for user in ("security", "fa_officer", "auditor", "researcher", "partner_security"):
            one = _api(matrix, user, f"/api/v1/cases/{case_id}")
            (listed,) = [c for c in _api(matrix, user, "/api/v1/cases?per_page=100")["items"] if c["id"] == case_id]
            want = "ScriptError: secret" if user in FULL_A else None
            assert one["error_message"] == listed["error_message"] == want, user
    finally:
        with unit_of_work(matrix.svc) as session:
            session.execute(update(CaseRow).where(CaseRow.id == case_id).values(error_message=None))


def test_single_sign_on_routes_have_rules_and_are_public(settings):
    """The SSO routes exist only when TEJUN_OIDC_ISSUER is set: an app configured so, against a real provider."""
    import dataclasses

    from service.app import create_app
    from tests.security.oidc_provider import Provider

    with Provider() as provider:
        configured = dataclasses.replace(settings, oidc={"issuer": provider.issuer, "client_id": provider.client_id,
                                                         "client_secret": provider.client_secret})
        sso_app = create_app(configured)
        try:
            sso_routes = [r for r in _routes(sso_app) if r[0].startswith("sso.")]
            assert {e for e, _m, _r in sso_routes} == {"sso.start", "sso.callback"}
            assert all(rule_for(e, m) is not None for e, m, _r in _routes(sso_app))
            client = sso_app.test_client()
            start = client.get("/login/sso")
            assert start.status_code == 302 and start.location.startswith(provider.issuer)
            # a callback without the state the start stored: back to the sign-in page, signed in as nobody
            back = client.get("/login/sso/callback?code=x&state=forged")
            assert back.status_code == 302 and urlsplit(back.location).path == "/login"
            assert client.get("/").status_code == 302
        finally:
            sso_app.extensions["tejun"].db.dispose()


def test_signing_out(matrix):
    """Last, as it ends the module's sessions: everyone signed in may sign out, anonymous meets the sign-in."""
    (rule_text,) = [r for e, _m, r in _routes(matrix.app) if e == "web.logout"]
    got = _probe(matrix, "web.logout", "POST", rule_text, matrix.params, EVERYONE)
    assert got == {user: _expected(RULES["web.logout POST"], user, rule_text) for user in EVERYONE}
    assert matrix.clients["security"].get("/").status_code == 302  # signed out indeed
