"""Researchers' disclosure profiles: one per researcher, reused by every case, certified per case.

* The profile is the `disclosure` object of `forms/disclosure.schema.json` without its certification (consent,
  certified, date), which belongs to one case. Only the researcher edits their own profile (API, the
  /disclosure page, or by submitting a disclosure task themselves); the security officers of an institution
  the researcher belongs to may read it, and sees the certifications of the parts of cases it may see.
* A disclosure form starts from the member's profile (certification left empty: the researcher re-certifies for
  this case) only for the people who may have that profile in it (`starting_disclosure`): the researcher
  themselves, or the research-security office of the institution the task is routed to when the researcher
  belongs to that institution and has consented for this case (`grant_consent`). The pre-fill is computed
  when the form is shown, never stored in the case: nothing of the profile enters the case (its workflow
  data, its event log) until someone entitled to it submits the form.
* Submitting a disclosure task records a certification (case, member, date, profile version, who filled it).
  Submitted by the researcher, it also becomes their profile.
* A change to the profile (other than from that case) is a `disclosure_changed` follow-up on every running case
  the researcher has certified a disclosure for (service/followups), and the cases' security officers are told.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import case_scope, may_work
from ..clock import JST
from ..designer.store import form_json, latest_published, model_hash
from ..engine.runtime import TaskNotReady
from ..errors import N_, Conflict, Forbidden, InvalidRequest, NotFound, ValidationFailed
from ..eventlog import chain
from ..forms.schema import validate
from ..models import (
    Case,
    DisclosureCertification,
    DisclosureConsent,
    DisclosureProfile,
    Membership,
    User,
    WorkItem,
)
from ..notifications import notify
from ..services import Services
from ..unit_of_work import unit_of_work

DISCLOSURE_FORM = "disclosure.schema.json"
CASE_ONLY = ("certification",)


def _today() -> date:
    return clock.now().astimezone(JST).date()


def profile_part(disclosure: dict | None) -> dict:
    """What of a disclosure lasts beyond one case: everything but its certification."""
    return {k: copy.deepcopy(v) for k, v in (disclosure or {}).items() if k not in CASE_ONLY}


def changed_sections(before: dict | None, after: dict) -> list[str]:
    before = before or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


# -- who may see and edit ------------------------------------------------------------------------------------
def may_view(session: Session, actor: Actor, user_id: int) -> bool:
    if actor.user_id == user_id or actor.is_system:
        return True
    orgs = set(session.scalars(select(Membership.organization_id).where(Membership.user_id == user_id)))
    return bool(orgs & actor.orgs_with("security_officer"))


def _profile_schema(session: Session) -> dict:
    version = latest_published(session)
    schema = form_json(session, version.id, DISCLOSURE_FORM) if version is not None else None
    if schema is None:
        raise InvalidRequest("no published disclosure form: run `flask --app wsgi models sync`")
    schema = copy.deepcopy(schema)
    disclosure = schema["properties"]["disclosure"]
    for key in CASE_ONLY:
        disclosure.get("properties", {}).pop(key, None)
        if key in disclosure.get("required", []):
            disclosure["required"] = [r for r in disclosure["required"] if r != key]
    return schema


DISCLOSURE_UI = "disclosure.uischema.json"


def profile_form(session: Session, lang: str) -> tuple[dict, dict]:
    """The profile as the disclosure form people fill in: (schema, UI schema) in `lang`, reference lists
    expanded, without the certification (which belongs to one case)."""
    from ..forms import references
    from ..forms.schema import expand_references, localize, localize_ui

    schema = localize(expand_references(_profile_schema(session), references.provider(session), lang), lang)
    version = latest_published(session)
    ui = copy.deepcopy(form_json(session, version.id, DISCLOSURE_UI) or {}) if version is not None else {}
    part = ui.get("disclosure") if isinstance(ui.get("disclosure"), dict) else {}
    for key in CASE_ONLY:
        part.pop(key, None)
        if isinstance(part.get("ui:order"), list):
            part["ui:order"] = [k for k in part["ui:order"] if k != key]
    return schema, localize_ui(ui, lang)


def section_titles(schema: dict, sections: list[str]) -> list[str]:
    """The profile's sections (top-level keys) by their titles in the form."""
    props = ((schema.get("properties") or {}).get("disclosure") or {}).get("properties") or {}
    return [str((props.get(key) or {}).get("title") or key) for key in sections]


def _section_names(session: Session, sections: list[str]) -> list[str]:
    """Sections by their Japanese titles (for notifications, which are stored as written)."""
    from ..forms.schema import localize

    try:
        return section_titles(localize(_profile_schema(session), "ja"), sections)
    except InvalidRequest:
        return list(sections)


def validate_profile(session: Session, data) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed([{"pointer": "", "message": "a profile is a JSON object", "keyword": "type"}])
    clean = profile_part(data)
    errors = [{"pointer": e.pointer, "message": e.message, "keyword": e.keyword}
              for e in validate(_profile_schema(session), {"disclosure": clean})]
    if errors:
        raise ValidationFailed(errors)
    return clean


# -- reading -------------------------------------------------------------------------------------------------
@dataclass
class ProfileView:
    user: User
    profile: DisclosureProfile | None
    certifications: list[dict]
    may_edit: bool


def get_profile(session: Session, actor: Actor, user_id: int) -> ProfileView:
    user = session.get(User, user_id)
    if user is None or not may_view(session, actor, user_id):
        raise NotFound(N_("no such disclosure profile"))
    profile = session.scalars(select(DisclosureProfile).where(DisclosureProfile.user_id == user_id)).first()
    rows = session.execute(
        select(DisclosureCertification, Case.reference, Case.title, Case.status)
        .join(Case, Case.id == DisclosureCertification.case_id)
        .where(DisclosureCertification.user_id == user_id)
        .order_by(DisclosureCertification.recorded_at.desc(), DisclosureCertification.id.desc())
    ).all()
    if actor.user_id != user_id and not actor.is_system:
        # another reader sees a certification only where they see that part of the case (per organization)
        cases = {c.case_id: session.get(Case, c.case_id) for c, *_ in rows}
        rows = [row for row in rows if case_scope(actor, cases[row[0].case_id]).sees(row[0].organization_id)]
    certifications = [
        {"case_id": c.case_id, "case_reference": ref, "case_title": title, "case_status": status,
         "member_id": c.member_id, "certification_date": c.certification_date, "profile_version": c.profile_version,
         "filled_by": c.filled_by, "recorded_at": c.recorded_at}
        for c, ref, title, status in rows
    ]
    return ProfileView(user, profile, certifications, may_edit=actor.user_id == user_id)


# -- changing ------------------------------------------------------------------------------------------------
@dataclass
class SaveResult:
    profile: DisclosureProfile
    changed_sections: list[str]
    follow_up_case_ids: list[int] = field(default_factory=list)  # follow-up started now
    pending_case_ids: list[int] = field(default_factory=list)  # follow-up starts once the case waits for one


def _store(session: Session, actor: Actor, user_id: int, data: dict, *, origin: str,
           exclude_case_id: int | None = None, expected_version: int | None = None) -> tuple:
    profile = session.scalars(select(DisclosureProfile).where(DisclosureProfile.user_id == user_id)).first()
    if expected_version is not None and profile is not None and profile.version != expected_version:
        raise Conflict(N_("the profile changed since you loaded it (version %(loaded)d, now %(now)d); reload it"),
                       params={"loaded": expected_version, "now": profile.version}, current_version=profile.version)
    now = clock.now()
    changes = changed_sections(profile.data if profile else None, data)
    if profile is not None and not changes:
        return profile, [], []
    if profile is None:
        profile = DisclosureProfile(user_id=user_id, data=data, created_at=now, updated_at=now,
                                    updated_by_id=actor.user_id)
        session.add(profile)
    else:
        profile.data, profile.updated_at, profile.updated_by_id = data, now, actor.user_id
    session.flush()
    chain.append(session, stream=f"user:{user_id}", action="disclosure_profile_updated", actor_id=actor.user_id,
                 actor_name=actor.username, data={"user_id": user_id, "version": profile.version,
                                                  "changed_sections": changes, "origin": origin})
    cases = _follow_up_on_cases(session, actor, user_id, profile.version, changes, exclude_case_id)
    return profile, changes, cases


def save_profile(svc: Services, actor: Actor, user_id: int, data, expected_version: int | None = None) -> SaveResult:
    """The researcher saves their own profile; their running cases follow up on what changed."""
    from ..cases.follow_up_delivery import deliver_pending

    with unit_of_work(svc) as session:
        user = session.get(User, user_id)
        if user is None or not may_view(session, actor, user_id):
            raise NotFound(N_("no such disclosure profile"))
        if actor.user_id != user_id:
            raise Forbidden(N_("only the researcher edits their own disclosure profile"))
        clean = validate_profile(session, data)
        profile, changes, cases = _store(session, actor, user_id, clean, origin="profile",
                                         expected_version=expected_version)
        result = SaveResult(profile, changes, cases)
    if result.follow_up_case_ids:
        delivery = deliver_pending(svc, case_ids=result.follow_up_case_ids)
        result.follow_up_case_ids = sorted(set(delivery.delivered))
        result.pending_case_ids = sorted(set(delivery.pending))
    return result


def _follow_up_on_cases(session: Session, actor: Actor, user_id: int, version: int, changes: list[str],
                        exclude_case_id: int | None) -> list[int]:
    """Ask every running case the researcher certified a disclosure for to follow up on the change."""
    from ..followups import request_follow_up

    latest: dict[int, DisclosureCertification] = {}
    for certification in session.scalars(
        select(DisclosureCertification).join(Case, Case.id == DisclosureCertification.case_id)
        .where(DisclosureCertification.user_id == user_id, Case.status == "running")
        .order_by(DisclosureCertification.id)
    ):
        latest[certification.case_id] = certification
    user = session.get(User, user_id)
    started = []
    for case_id, certification in sorted(latest.items()):
        if case_id == exclude_case_id:
            continue
        case = session.get(Case, case_id)
        trigger = {"kind": "disclosure_changed", "member_id": certification.member_id, "username": user.username,
                   "changed_sections": changes, "profile_version": version}
        request = request_follow_up(session, case, "disclosure_changed", trigger,
                                    reason=f"disclosure profile of {user.username} changed: {', '.join(changes)}")
        chain.append(session, stream=chain.case_stream(case.id), case_id=case.id, action="disclosure_profile_changed",
                     actor_id=actor.user_id, actor_name=actor.username,
                     model_hash=model_hash(session, case.model_version_id),
                     data={**trigger, "follow_up_request": request.id})
        officers = list(session.scalars(
            select(Membership.user_id).where(Membership.organization_id == case.lead_institution_id,
                                             Membership.role == "security_officer")))
        notify(session, user_ids=officers, kind="follow_up",
               title=f"{case.reference}: 申告内容の変更（{certification.member_id} "
                     f"{user.display_name or user.username}）",
               body=f"申告内容が変更されました（{'、'.join(_section_names(session, changes))}）。"
                    "案件がフォローアップを受け付ける段階になり次第、フォローアップが始まります。",
               case_id=case.id, url=f"/cases/{case.id}",
               dedupe_key=f"disclosure_changed:{request.id}")
        started.append(case.id)
    return started


# -- consent and pre-fill ------------------------------------------------------------------------------------
def _consented(session: Session, user_id: int, case_id: int) -> bool:
    return session.scalar(select(DisclosureConsent.id).where(
        DisclosureConsent.user_id == user_id, DisclosureConsent.case_id == case_id,
        DisclosureConsent.revoked_at.is_(None))) is not None


def starting_data(session: Session, actor: Actor, case: Case, item: WorkItem, task_data: dict) -> dict:
    """A disclosure form's starting data for this viewer (hook `starting_data`, service/task_hooks.py): the
    researcher's profile when the viewer may have it, what the roster already says (name, e-Rad number) and
    the institution the task is routed to."""
    if item.form and not task_data.get("disclosure"):
        member = task_data.get("member") or {}
        disclosure = starting_disclosure(session, actor, case, item, member) or {}
        identity = {**roster_identity(session, item, member), **(disclosure.get("identity") or {})}
        if identity and roster_identity(session, item, member):
            disclosure = {**disclosure, "identity": identity}
        if disclosure:
            return {"disclosure": disclosure}
    return {}


def starting_disclosure(session: Session, actor: Actor, case: Case, item: WorkItem, member: dict) -> dict | None:
    """The profile part a disclosure form starts from for this viewer, or None.

    Only from the profile of a person who belongs to the institution the task is routed to (one of the case's
    institutions), and only for that person, or for someone who works the task in that institution's
    research-security office while the person consents for this case."""
    username = (member or {}).get("username") if isinstance(member, dict) else None
    if not username or item.form != DISCLOSURE_FORM:
        return None
    user = session.scalars(select(User).where(User.username == str(username), User.active.is_(True))).first()
    if user is None:
        return None
    if item.organization_id not in _case_institutions(case):
        return None
    belongs = session.scalar(select(Membership.id).where(Membership.user_id == user.id,
                                                         Membership.organization_id == item.organization_id))
    if belongs is None:
        return None
    if actor.user_id != user.id:
        office = may_work(actor, item) and actor.has("security_officer", item.organization_id)
        if not (office and _consented(session, user.id, case.id)):
            return None
    profile = session.scalars(select(DisclosureProfile).where(DisclosureProfile.user_id == user.id)).first()
    return profile_part(profile.data) if profile is not None and profile.data else None


def roster_identity(session: Session, item: WorkItem, member: dict) -> dict:
    """The identity part of a disclosure form as the roster and the routing already know it (not private: the
    roster is the case's own data): the member's name and e-Rad number, and the institution the task is
    routed to as the affiliation. Empty for tasks that are not disclosures."""
    from ..models import Organization

    if item.form != DISCLOSURE_FORM or not isinstance(member, dict):
        return {}
    identity = {}
    for source, target in (("name", "name"), ("name_latin", "name_latin"),
                           ("erad_researcher_number", "erad_researcher_number")):
        value = member.get(source)
        if isinstance(value, str) and value.strip():
            identity[target] = value.strip()
    organization = session.get(Organization, item.organization_id)
    if organization is not None and organization.kind == "institution":
        identity["affiliation"] = organization.name
    return identity


def _case_institutions(case: Case) -> set[int]:
    orgs = {p.organization_id for p in case.parties if p.role != "ministry"}
    if case.lead_institution_id is not None:
        orgs.add(case.lead_institution_id)
    return orgs


@dataclass
class ConsentView:
    case_id: int
    case_reference: str
    case_title: str
    case_status: str
    granted: bool
    granted_at: object = None


def my_consents(session: Session, actor: Actor) -> list[ConsentView]:
    """The cases whose team the researcher is on, each with whether they consent to the office's pre-fill."""
    from ..models import CaseMember

    if actor.user_id is None:
        return []
    cases = session.execute(
        select(Case.id, Case.reference, Case.title, Case.status).join(CaseMember, CaseMember.case_id == Case.id)
        .where(CaseMember.user_id == actor.user_id).order_by(Case.id.desc()).distinct()
    ).all()
    granted = {c.case_id: c for c in session.scalars(select(DisclosureConsent).where(
        DisclosureConsent.user_id == actor.user_id, DisclosureConsent.revoked_at.is_(None)))}
    return [ConsentView(cid, ref, title, status, cid in granted,
                        granted[cid].granted_at if cid in granted else None)
            for cid, ref, title, status in cases]


def set_consent(svc: Services, actor: Actor, case_id: int, granted: bool) -> ConsentView:
    """The researcher lets (or no longer lets) their institution's office start this case's disclosure form
    from their profile. Only for a case whose team they are on (else NotFound); an event in their stream."""
    from ..models import CaseMember

    with unit_of_work(svc) as session:
        if actor.user_id is None:
            raise NotFound(N_("no such case"))
        case = session.get(Case, case_id)
        on_team = case is not None and session.scalar(select(CaseMember.id).where(
            CaseMember.case_id == case_id, CaseMember.user_id == actor.user_id)) is not None
        if not on_team:
            raise NotFound(N_("no such case"))
        row = session.scalars(select(DisclosureConsent).where(DisclosureConsent.user_id == actor.user_id,
                                                              DisclosureConsent.case_id == case_id)).first()
        now = clock.now()
        changed = False
        if granted and (row is None or row.revoked_at is not None):
            if row is None:
                row = DisclosureConsent(user_id=actor.user_id, case_id=case_id, granted_at=now)
                session.add(row)
            else:
                row.granted_at, row.revoked_at = now, None
            changed = True
        elif not granted and row is not None and row.revoked_at is None:
            row.revoked_at = now
            changed = True
        if changed:
            session.flush()
            chain.append(session, stream=f"user:{actor.user_id}",
                         action="disclosure_consent_granted" if granted else "disclosure_consent_revoked",
                         actor_id=actor.user_id, actor_name=actor.username,
                         data={"user_id": actor.user_id, "case_id": case_id})
        return ConsentView(case.id, case.reference, case.title, case.status, granted,
                           row.granted_at if (row is not None and granted) else None)


# -- hooks (service/task_hooks.py) ---------------------------------------------------------------------------
def record_disclosure_certification(session: Session, case: Case, item: WorkItem, flow, actor: Actor,
                                    data: dict) -> None:
    if item.form != DISCLOSURE_FORM:
        return
    try:
        member = flow.human_task(item.task_id).data.get("member") or {}
    except TaskNotReady:
        return  # completed meanwhile: complete_task answers with a conflict

    disclosure = data.get("disclosure") or {}
    username = member.get("username")
    user = session.scalars(select(User).where(User.username == username)).first() if username else None
    by_self = user is not None and actor.user_id == user.id
    profile = None
    if by_self:
        profile, _changes, _cases = _store(session, actor, user.id, profile_part(disclosure),
                                           origin=f"case:{case.id}", exclude_case_id=case.id)
    elif user is not None:
        profile = session.scalars(select(DisclosureProfile).where(DisclosureProfile.user_id == user.id)).first()
    certified = (disclosure.get("certification") or {}).get("certification_date")
    try:
        certification_date = date.fromisoformat(str(certified)) if certified else _today()
    except ValueError:
        certification_date = _today()
    row = DisclosureCertification(
        profile_id=profile.id if profile else None, user_id=user.id if user else None, case_id=case.id,
        member_id=str(member.get("member_id") or "")[:64], task_id=item.task_id,
        certification_date=certification_date, profile_version=profile.version if (profile and by_self) else None,
        filled_by="self" if by_self else "security_office", recorded_by_id=actor.user_id, recorded_at=clock.now(),
        organization_id=item.organization_id,
    )
    session.add(row)
    chain.append(session, stream=chain.case_stream(case.id), case_id=case.id, action="disclosure_certified",
                 actor_id=actor.user_id, actor_name=actor.username, task_id=item.task_id,
                 model_hash=model_hash(session, case.model_version_id),
                 data={"member_id": row.member_id, "username": username,
                       "certification_date": certification_date.isoformat(),
                       "profile_version": row.profile_version, "filled_by": row.filled_by})
