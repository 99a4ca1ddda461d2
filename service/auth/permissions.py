"""Who may see and do what, per organization. Every entry point (pages, API, CLI, worker) asks these.

The rules, by role (docs/security.md has the full matrix, role × organization kind × resource):

* FA staff see the cases of their funding agency's programs; `fa_manager` also designates and decides.
* Lead-institution staff see their institution's cases in full.
* Partner-institution staff see only their part of a case: the tasks routed to their organization.
* Ministry officers see the consultations routed to their ministry.
* Researchers see their own tasks and the summary of the cases they are on.
* Process designers see models, not case data. Auditors read in their scope (all, or one FA's cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from sqlalchemy import and_, exists, false, or_, select, true

from ..models import Case, CaseMember, CaseParty, WorkItem
from .actor import Actor
from .roles import FA_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES

LEAD_STAFF = ("security_officer", "institution_admin")


class View(IntEnum):
    """How much of a case an actor may see; higher includes lower."""

    NONE = 0
    SUMMARY = 1  # researchers on the team
    PART = 2  # partner institutions and consulted ministries: their own part
    FULL = 3  # the FA, the lead institution, auditors in scope


# Roles that make an organization's people see that organization's part of a case it is a party to: an
# institution's office (a partner's own part) and a ministry's officers (the consultations routed to it).
PART_ROLES = (*LEAD_STAFF, *MINISTRY_ROLES)


@dataclass(frozen=True)
class CaseScope:
    """What one actor may see of one case: the view, and which organizations' parts of it.

    A part of a case (a task, a submitted step, an evidence file, a team list, a certification) belongs to the
    organization it was routed to. Whether a person sees it is decided by their role *in that organization*
    (a security officer or institution administrator of a partner institution, an officer of a consulted
    ministry), never by a membership they hold elsewhere: a researcher of the lead institution who is also a
    partner's security officer sees the partner's part as the partner does, and nothing more of the lead's.
    """

    view: View
    # organizations whose parts a PART view covers; FULL covers every part, SUMMARY and NONE none
    part_orgs: frozenset[int] = frozenset()
    user_id: int | None = None
    # the organizations the actor works for in this case (their own part, even within a FULL view), and
    # whether they read everything (auditors, the system): for parts an organization keeps to itself
    own_orgs: frozenset[int] = frozenset()
    unrestricted: bool = False

    def sees(self, organization_id: int | None) -> bool:
        """May the actor see what was done by or for this organization inside the case?"""
        if self.view >= View.FULL:
            return True
        return self.view >= View.PART and organization_id is not None and organization_id in self.part_orgs

    def sees_private(self, organization_id: int | None, shared_with: frozenset[int] | set[int] = frozenset()) -> bool:
        """May the actor see a part the organization keeps to itself (a partner's people's disclosures,
        `privateToOrganization` steps)? Its own people, auditors, and the organizations it shared it with; a
        FULL view of the case (the lead institution, the FA) is not enough."""
        if self.unrestricted:
            return True
        return any(org is not None and org in self.own_orgs for org in {organization_id, *shared_with})


    @property
    def full(self) -> bool:
        return self.view >= View.FULL


NO_SCOPE = CaseScope(View.NONE)


def case_scope(actor: Actor, case: Case | None) -> CaseScope:
    """The one rule for what of a case an actor sees (pages, API, timeline, evidence, profiles, lists).

    FA staff see their FA's cases in full, except before the institution's first submission to the FA
    (`case.fa_submission == "awaiting"`): then only the FA's own part (docs/security.md)."""
    if case is None:
        return NO_SCOPE
    if actor.is_system:
        return CaseScope(View.FULL, user_id=actor.user_id, unrestricted=True)
    for grant in actor.grants:
        if grant.role == "auditor" and (grant.scope == "all" or grant.organization_id == case.funding_agency_id):
            return CaseScope(View.FULL, user_id=actor.user_id, unrestricted=True)
    # a party organization counts only where the actor holds a part-seeing role in that very organization
    part = frozenset({p.organization_id for p in case.parties} & actor.orgs_with(*PART_ROLES))
    part -= {case.lead_institution_id, case.funding_agency_id}
    fa_staff = case.funding_agency_id in actor.orgs_with(*FA_ROLES)
    if fa_staff and case.fa_submission != "awaiting":
        return CaseScope(View.FULL, user_id=actor.user_id, own_orgs=part | {case.funding_agency_id})
    if case.lead_institution_id is not None and case.lead_institution_id in actor.orgs_with(*LEAD_STAFF):
        return CaseScope(View.FULL, user_id=actor.user_id, own_orgs=part | {case.lead_institution_id})
    if fa_staff:
        # before the institution's first submission (service/cases/submissions.py) the FA sees its own part:
        # the case's status and stage and the tasks routed to it, not the institution's working data
        part |= {case.funding_agency_id}
    if part:
        return CaseScope(View.PART, part, actor.user_id, own_orgs=part)
    if actor.user_id is not None and "researcher" in actor.roles and _is_member(case, actor):
        return CaseScope(View.SUMMARY, user_id=actor.user_id)
    return CaseScope(View.NONE, user_id=actor.user_id)


def case_view(actor: Actor, case: Case) -> View:
    return case_scope(actor, case).view


def _is_member(case: Case, actor: Actor) -> bool:
    from sqlalchemy.orm import object_session

    session = object_session(case)
    if session is None:
        return False
    return bool(
        session.scalar(
            select(exists().where(CaseMember.case_id == case.id, CaseMember.user_id == actor.user_id))
        )
    )


def full_view_clause(actor: Actor):
    """A SQL condition on `Case`: the cases `case_scope` shows the actor in FULL (for lists' per-row detail)."""
    if actor.is_system:
        return true()
    clauses = []
    for grant in actor.grants:
        if grant.role == "auditor":
            clauses.append(true() if grant.scope == "all" else Case.funding_agency_id == grant.organization_id)
    fa = actor.orgs_with(*FA_ROLES)
    if fa:
        # as case_scope: not before the institution's first submission
        clauses.append(and_(Case.funding_agency_id.in_(fa),
                            or_(Case.fa_submission.is_(None), Case.fa_submission != "awaiting")))
    lead = actor.orgs_with(*LEAD_STAFF)
    if lead:
        clauses.append(Case.lead_institution_id.in_(lead))
    return or_(*clauses) if clauses else false()


def visible_cases_clause(actor: Actor):
    """A SQL condition on `Case` matching exactly the cases `case_view` would let the actor see."""
    if actor.is_system:
        return true()
    clauses = []
    for grant in actor.grants:
        if grant.role == "auditor":
            clauses.append(true() if grant.scope == "all" else Case.funding_agency_id == grant.organization_id)
    fa = actor.orgs_with(*FA_ROLES)
    if fa:
        clauses.append(Case.funding_agency_id.in_(fa))
    lead = actor.orgs_with(*LEAD_STAFF)
    if lead:
        clauses.append(Case.lead_institution_id.in_(lead))
    party = actor.orgs_with(*PART_ROLES)
    if party:
        clauses.append(
            exists().where(CaseParty.case_id == Case.id, CaseParty.organization_id.in_(party))
        )
    if actor.user_id is not None and "researcher" in actor.roles:
        clauses.append(exists().where(CaseMember.case_id == Case.id, CaseMember.user_id == actor.user_id))
    return or_(*clauses) if clauses else false()


def may_work(actor: Actor, item: WorkItem) -> bool:
    """May the actor claim and complete this work item?"""
    if actor.user_id is None:
        return False
    if item.assignee_id == actor.user_id:
        return True
    if actor.has(item.role, item.organization_id):
        # researchers only ever do the tasks meant for them personally
        return item.role != "researcher"
    # the research-security office may fill a researcher's form on their behalf
    return item.role == "researcher" and actor.has("security_officer", item.organization_id)


def may_assign(actor: Actor, item: WorkItem) -> bool:
    """May the actor hand this work item to someone else (or take it from someone)?"""
    if item.role in FA_ROLES:
        return actor.has("fa_manager", item.organization_id)
    if item.role in INSTITUTION_ROLES:
        return actor.has("institution_admin", item.organization_id) or actor.has(
            "security_officer", item.organization_id
        )
    return actor.has(item.role, item.organization_id) and item.role in MINISTRY_ROLES


def may_start_application(actor: Actor, lead_institution_id: int) -> bool:
    return any(actor.has(role, lead_institution_id) for role in LEAD_STAFF)


def may_start_designation(actor: Actor, funding_agency_id: int) -> bool:
    return actor.has("fa_officer", funding_agency_id) or actor.has("fa_manager", funding_agency_id)


def may_send(actor: Actor, case: Case, role: str) -> bool:
    """May the actor trigger a case action offered to `role` (a waiting message event in that lane)?"""
    if role in FA_ROLES:
        return actor.has(role, case.funding_agency_id)
    if role in INSTITUTION_ROLES and case.lead_institution_id is not None:
        return actor.has(role, case.lead_institution_id) or (
            role == "researcher" and actor.has("security_officer", case.lead_institution_id)
        )
    return False


def queue_roles(actor: Actor) -> dict[int, set[str]]:
    """Per organization, the task roles whose open items the actor may take (their own roles, and a security
    officer also their researchers')."""
    roles: dict[int, set[str]] = {}
    for grant in actor.grants:
        if grant.role in FA_ROLES | MINISTRY_ROLES | set(LEAD_STAFF):
            roles.setdefault(grant.organization_id, set()).add(grant.role)
        if grant.role == "security_officer":
            roles.setdefault(grant.organization_id, set()).add("researcher")
    return roles


def routed_to_roles(actor: Actor):
    """Condition: routed to a role the actor holds in that organization (one `role IN` per organization, which
    PostgreSQL answers from the (organization, role, assignee) index)."""
    clauses = [
        and_(WorkItem.organization_id == org, WorkItem.role.in_(sorted(roles)))
        for org, roles in sorted(queue_roles(actor).items())
    ]
    return or_(*clauses) if clauses else false()




def may_download_attachment(actor: Actor, scope: CaseScope, organization_id: int, uploaded_by_id: int | None,
                            shared_with: set[int] | frozenset[int] = frozenset()) -> bool:
    """Evidence files: whoever may see that part of the case, whoever may see the part of an organization the
    file was shared with through a task's context (`attachments.sharing`), and the person who uploaded it."""
    if actor.user_id is not None and uploaded_by_id == actor.user_id:
        return True
    return scope.sees(organization_id) or any(scope.sees(org) for org in shared_with)


# -- who may use which part of tejun (beyond one case) ----------------------------------------------------------
DESIGN_ROLES = ("process_designer", "system_admin")


def may_design(actor: Actor) -> bool:
    """Process designers and system administrators: the model store, editors and case migration."""
    return any(actor.has(role) for role in DESIGN_ROLES)


def may_read_history(actor: Actor) -> bool:
    """The auditor pages' case list: auditors, and the FA and lead-institution staff (each case still needs a
    FULL view)."""
    return actor.has("auditor") or bool(actor.orgs_with("fa_officer", "fa_manager", "security_officer",
                                                        "institution_admin"))


def may_review(actor: Actor, case: Case) -> bool:
    """Deciding on a case's screening hits: the lead institution's security officer (and tejun itself)."""
    return actor.is_system or (case.lead_institution_id is not None
                               and actor.has("security_officer", case.lead_institution_id))


def may_start_cases(actor: Actor) -> bool:
    """Does the actor hold a role that opens cases for one of their institutions (the "New case" button)?"""
    return any(g.organization_kind == "institution" and may_start_application(actor, g.organization_id)
               for g in actor.grants)
