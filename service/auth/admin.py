"""Administration of organizations, users and role grants. Every change is recorded as a system event.

Only system administrators (and tejun itself: the demo seed, fixtures) may call these; each function checks
its actor (`require_admin`) so that pages, API and CLI cannot forget it. The `ensure_*` and `grant_role`
functions are idempotent (for seeding); the functions after them are what the administration pages call:
they refuse bad input with `ValidationFailed` (one `{pointer, message}` per field, `/username` etc.) and
change nothing then.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import clock
from ..errors import N_, Forbidden, InvalidRequest, NotFound, ValidationFailed
from ..eventlog import chain
from ..forms import references
from ..models import Membership, Organization, User
from ..unit_of_work import use_case
from . import sessions, tokens
from .actor import Actor
from .passwords import hash_password, password_problems
from .roles import ALL_ROLES, ORG_KIND_ROLES

ADMIN_ROLE = "system_admin"
AUDITOR_SCOPES = ("all", "fa")


def is_admin(actor: Actor) -> bool:
    return actor.is_system or actor.has(ADMIN_ROLE)


def require_admin(actor: Actor) -> None:
    if not is_admin(actor):
        raise Forbidden(N_("only system administrators may administer users and organizations"))


def _record(session: Session, actor: Actor, action: str, data: dict) -> None:
    chain.append(
        session, stream=chain.SYSTEM_STREAM, action=action, actor_id=actor.user_id, actor_name=actor.username,
        data=data,
    )


def ensure_organization(
    session: Session, actor: Actor, *, code: str, name: str, name_en: str, kind: str, country: str = "JP"
) -> Organization:
    require_admin(actor)
    if kind not in ORG_KIND_ROLES:
        raise InvalidRequest(N_("unknown organization kind %(kind)s"), params={"kind": kind})
    org = session.scalars(select(Organization).where(Organization.code == code)).first()
    if org is None:
        org = Organization(code=code, name=name, name_en=name_en, kind=kind, country=country, created_at=clock.now())
        session.add(org)
        session.flush()
        _record(session, actor, "organization_created", {"id": org.id, "code": code, "kind": kind})
        references.forget()  # forms that list organizations see it at once (other processes within a minute)
    return org


def ensure_user(
    session: Session, actor: Actor, *, username: str, display_name: str, email: str, password: str | None,
    locale: str = "ja", erad_researcher_number: str | None = None,
) -> tuple[User, bool]:
    require_admin(actor)
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is not None:
        return user, False
    user = User(
        username=username, display_name=display_name, email=email, locale=locale,
        password_hash=hash_password(password) if password else None,
        erad_researcher_number=erad_researcher_number, created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    _record(session, actor, "user_created", {"id": user.id, "username": username})
    return user, True


def _end_credentials(session: Session, actor: Actor, user: User, reason: str) -> None:
    """End every session of the user and revoke every API token, for good (reactivation restores neither)."""
    user.session_generation += 1  # kept as a count of forced sign-outs; the sessions end in user_sessions
    sessions.end_all(session, user.id, reason)
    tokens.revoke_all(session, user, reason=reason, actor_id=actor.user_id, actor_name=actor.username)


def set_password(session: Session, actor: Actor, user: User, password: str) -> None:
    """A new password: every session of the user ends and every API token is revoked."""
    require_admin(actor)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    _record(session, actor, "password_set", {"user_id": user.id})
    _end_credentials(session, actor, user, sessions.PASSWORD_RESET)


def grant_role(
    session: Session, actor: Actor, user: User, organization: Organization, role: str, scope: str = "organization"
) -> Membership:
    require_admin(actor)
    if role not in ALL_ROLES:
        raise InvalidRequest(N_("unknown role %(role)s"), params={"role": role})
    if role not in ORG_KIND_ROLES[organization.kind]:
        raise InvalidRequest(N_("role %(role)s cannot be held in a %(kind)s"),
                             params={"role": role, "kind": organization.kind})
    if role == "auditor" and scope not in AUDITOR_SCOPES:
        raise InvalidRequest(N_("an auditor's scope is 'all' or 'fa'"))
    existing = session.scalars(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organization_id == organization.id, Membership.role == role
        )
    ).first()
    if existing is not None:
        return existing
    membership = Membership(
        user_id=user.id, organization_id=organization.id, role=role, scope=scope, created_at=clock.now()
    )
    session.add(membership)
    session.flush()
    _record(session, actor, "role_granted",
            {"user_id": user.id, "organization_id": organization.id, "role": role, "scope": scope})
    return membership


def revoke_role(session: Session, actor: Actor, membership: Membership) -> None:
    require_admin(actor)
    _record(session, actor, "role_revoked", {
        "user_id": membership.user_id, "organization_id": membership.organization_id, "role": membership.role,
    })
    session.delete(membership)


# -- what the administration pages call ------------------------------------------------------------------

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{1,149}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
COUNTRY = re.compile(r"[A-Z]{2}")
PER_PAGE = 25


def _problem(field: str, message: str) -> dict:
    return {"pointer": f"/{field}", "message": message}


def _refuse(errors: list[dict]) -> None:
    if errors:
        raise ValidationFailed(errors)


def generate_password() -> str:
    """A random password that meets the password rules (shown once to the administrator)."""
    while True:
        candidate = f"Tejun-{secrets.token_urlsafe(15)}"
        if not password_problems(candidate):
            return candidate


def _password_error(password: str) -> dict | None:
    if password_problems(password):
        return _problem("password", N_("a password needs at least 12 characters, with upper- and lower-case "
                                       "letters"))
    return None


def create_organization(
    session: Session, actor: Actor, *, code: str, name: str, name_en: str, kind: str, country: str = "JP"
) -> Organization:
    """A new organization; refuses a code or name that another organization has already."""
    require_admin(actor)
    code, name, name_en = (code or "").strip(), (name or "").strip(), (name_en or "").strip()
    country = (country or "JP").strip().upper()
    errors = []
    if not CODE.fullmatch(code):
        errors.append(_problem("code", N_("use 1 to 64 letters, digits, _ . - (starting with a letter or digit)")))
    elif session.scalar(select(Organization.id).where(func.lower(Organization.code) == code.lower())):
        errors.append(_problem("code", N_("another organization has this code already")))
    if not name:
        errors.append(_problem("name", N_("enter the name")))
    elif len(name) > 255:
        errors.append(_problem("name", N_("at most 255 characters")))
    elif session.scalar(select(Organization.id).where(func.lower(Organization.name) == name.lower())):
        errors.append(_problem("name", N_("another organization has this name already")))
    if len(name_en) > 255:
        errors.append(_problem("name_en", N_("at most 255 characters")))
    elif name_en and session.scalar(select(Organization.id).where(func.lower(Organization.name_en) == name_en.lower())):
        errors.append(_problem("name_en", N_("another organization has this name already")))
    if kind not in ORG_KIND_ROLES:
        errors.append(_problem("kind", N_("choose the kind of organization")))
    if not COUNTRY.fullmatch(country):
        errors.append(_problem("country", N_("a two-letter country code, e.g. JP")))
    _refuse(errors)
    return ensure_organization(session, actor, code=code, name=name, name_en=name_en, kind=kind, country=country)


def update_organization(
    session: Session, actor: Actor, *, organization_id: int, name: str | None = None, name_en: str | None = None,
    country: str | None = None,
) -> Organization:
    """Rename an organization or correct its country (its code and kind stay: grants and cases refer to them);
    refuses a name another organization has already."""
    require_admin(actor)
    org = session.get(Organization, organization_id) if organization_id else None
    if org is None:
        raise NotFound(N_("no such organization"))
    errors = []
    changes: dict = {}
    if name is not None:
        name = name.strip()
        if not name:
            errors.append(_problem("name", N_("enter the name")))
        elif len(name) > 255:
            errors.append(_problem("name", N_("at most 255 characters")))
        elif session.scalar(select(Organization.id).where(func.lower(Organization.name) == name.lower(),
                                                          Organization.id != org.id)):
            errors.append(_problem("name", N_("another organization has this name already")))
        changes["name"] = name
    if name_en is not None:
        name_en = name_en.strip()
        if len(name_en) > 255:
            errors.append(_problem("name_en", N_("at most 255 characters")))
        elif name_en and session.scalar(select(Organization.id).where(
                func.lower(Organization.name_en) == name_en.lower(), Organization.id != org.id)):
            errors.append(_problem("name_en", N_("another organization has this name already")))
        changes["name_en"] = name_en
    if country is not None:
        country = country.strip().upper()
        if not COUNTRY.fullmatch(country):
            errors.append(_problem("country", N_("a two-letter country code, e.g. JP")))
        changes["country"] = country
    _refuse(errors)
    changes = {key: value for key, value in changes.items() if getattr(org, key) != value}
    if changes:
        for key, value in changes.items():
            setattr(org, key, value)
        _record(session, actor, "organization_updated", {"id": org.id, "code": org.code, **changes})
        references.forget()
    return org


def set_organization_active(session: Session, actor: Actor, *, organization_id: int, active: bool) -> Organization:
    """Deactivate an organization (forms no longer offer it, no new role can be granted in it; its cases and
    grants stay) or reactivate it."""
    require_admin(actor)
    org = session.get(Organization, organization_id) if organization_id else None
    if org is None:
        raise NotFound(N_("no such organization"))
    if org.active != active:
        org.active = active
        _record(session, actor, "organization_reactivated" if active else "organization_deactivated",
                {"id": org.id, "code": org.code})
        references.forget()
    return org


def _grant_errors(organization: Organization | None, role: str, scope: str, field: str = "role") -> list[dict]:
    if organization is None:
        return [_problem("organization_id", N_("choose an organization"))]
    if not organization.active:
        return [_problem("organization_id", N_("this organization is inactive"))]
    if role not in ALL_ROLES:
        return [_problem(field, N_("choose a role"))]
    if role not in ORG_KIND_ROLES[organization.kind]:
        return [_problem(field, N_("this role cannot be held in this kind of organization"))]
    if role == "auditor":
        if scope not in AUDITOR_SCOPES:
            return [_problem("scope", N_("choose what the auditor may read"))]
        if scope == "fa" and organization.kind != "funding_agency":
            return [_problem("scope", N_("the scope 'own funding agency' needs a funding agency"))]
    return []


def create_user_with_roles(
    session: Session, actor: Actor, *, username: str, display_name: str, email: str, organization_id: int | None,
    roles: list[str], auditor_scope: str = "all", password: str | None = None, locale: str = "ja",
) -> tuple[User, str | None]:
    """A new user holding `roles` in one organization. Returns the user and the generated password (None when
    the administrator gave one)."""
    require_admin(actor)
    username, display_name, email = (username or "").strip(), (display_name or "").strip(), (email or "").strip()
    errors = []
    if not USERNAME.fullmatch(username):
        errors.append(_problem("username", N_("use 2 to 150 letters, digits, _ . @ - (starting with a letter or "
                                              "digit)")))
    elif session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        errors.append(_problem("username", N_("this username is taken already")))
    if not display_name:
        errors.append(_problem("display_name", N_("enter the name")))
    elif len(display_name) > 255:
        errors.append(_problem("display_name", N_("at most 255 characters")))
    if len(email) > 255 or not EMAIL.fullmatch(email):
        errors.append(_problem("email", N_("enter an e-mail address")))
    organization = session.get(Organization, organization_id) if organization_id else None
    roles = list(dict.fromkeys(roles or []))
    if not roles:
        errors.append(_problem("roles", N_("choose at least one role")))
    for role in roles:
        found = _grant_errors(organization, role, auditor_scope if role == "auditor" else "organization", "roles")
        errors += [e for e in found if e not in errors]
        if found:
            break
    if organization is None and not roles:
        errors.append(_problem("organization_id", N_("choose an organization")))
    if password:
        problem = _password_error(password)
        if problem:
            errors.append(problem)
    if locale not in ("ja", "en"):
        errors.append(_problem("locale", N_("choose a language")))
    _refuse(errors)
    generated = None if password else generate_password()
    user, _created = ensure_user(session, actor, username=username, display_name=display_name, email=email,
                                 password=password or generated, locale=locale)
    for role in roles:
        grant_role(session, actor, user, organization, role, auditor_scope if role == "auditor" else "organization")
    return user, generated


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if user_id else None
    if user is None:
        raise NotFound(N_("no such user"))
    return user


def add_grant(
    session: Session, actor: Actor, *, user_id: int, organization_id: int | None, role: str, scope: str = "all"
) -> Membership:
    """Grant a role in an organization; refuses roles the organization's kind cannot hold and grants held
    already."""
    require_admin(actor)
    user = _user(session, user_id)
    organization = session.get(Organization, organization_id) if organization_id else None
    scope = scope if role == "auditor" else "organization"
    errors = _grant_errors(organization, role, scope)
    if not errors and any(m.organization_id == organization.id and m.role == role for m in user.memberships):
        errors.append(_problem("role", N_("the user holds this role in this organization already")))
    _refuse(errors)
    return grant_role(session, actor, user, organization, role, scope)


def remove_grant(session: Session, actor: Actor, *, user_id: int, membership_id: int) -> Membership:
    """Revoke one of the user's grants. An administrator cannot take their own administrator role away (so that
    tejun always keeps one)."""
    require_admin(actor)
    membership = session.get(Membership, membership_id) if membership_id else None
    if membership is None or membership.user_id != user_id:
        raise NotFound(N_("this user holds no such role"))
    if membership.user_id == actor.user_id and membership.role == ADMIN_ROLE:
        raise InvalidRequest(N_("you cannot revoke your own system administrator role"))
    revoke_role(session, actor, membership)
    session.flush()
    return membership


def set_active(session: Session, actor: Actor, *, user_id: int, active: bool) -> User:
    """Deactivate (no sign-in; every session ends and every API token is revoked, for good) or reactivate an
    account (which starts without sessions and tokens)."""
    require_admin(actor)
    user = _user(session, user_id)
    if not active and user.id == actor.user_id:
        raise InvalidRequest(N_("you cannot deactivate your own account"))
    if user.active == active:
        return user
    user.active = active
    _record(session, actor, "user_reactivated" if active else "user_deactivated",
            {"user_id": user.id, "username": user.username})
    if not active:
        _end_credentials(session, actor, user, sessions.DEACTIVATED)
    return user


def reset_password(session: Session, actor: Actor, *, user_id: int, password: str | None = None) -> str:
    """Set a new password (a generated one unless given): existing sessions end, a lockout is lifted.
    Returns the password, for the administrator to pass on."""
    require_admin(actor)
    user = _user(session, user_id)
    if password:
        problem = _password_error(password)
        if problem:
            raise ValidationFailed([problem])
    password = password or generate_password()
    set_password(session, actor, user, password)
    return password


def clear_lockout(session: Session, actor: Actor, *, user_id: int) -> bool:
    """Lift the account lockout after failed sign-ins; False when there was none to lift."""
    require_admin(actor)
    user = _user(session, user_id)
    locked = user.locked_until is not None and user.locked_until > clock.now()
    if not locked and not user.failed_logins:
        return False
    user.locked_until = None
    user.failed_logins = 0
    _record(session, actor, "lockout_cleared", {"user_id": user.id, "was_locked": locked})
    return True


# -- reads for the administration pages ------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizationRow:
    organization: Organization
    members: int


@dataclass(frozen=True)
class UserPage:
    items: list[User]
    total: int
    page: int
    pages: int


def list_organizations(session: Session, actor: Actor) -> list[OrganizationRow]:
    """Every organization with how many people hold a role in it."""
    require_admin(actor)
    counts = dict(session.execute(
        select(Membership.organization_id, func.count(func.distinct(Membership.user_id)))
        .group_by(Membership.organization_id)
    ).all())
    orgs = session.scalars(select(Organization).order_by(Organization.kind, Organization.name, Organization.id))
    return [OrganizationRow(org, counts.get(org.id, 0)) for org in orgs]


def organization_detail(session: Session, actor: Actor, organization_id: int) -> tuple[Organization, list[tuple]]:
    """One organization and its members: (user, [membership in this organization])."""
    require_admin(actor)
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound(N_("no such organization"))
    members: dict[int, tuple[User, list[Membership]]] = {}
    rows = session.execute(
        select(User, Membership).join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id).order_by(User.display_name, User.id, Membership.role)
    ).all()
    for user, membership in rows:
        members.setdefault(user.id, (user, []))[1].append(membership)
    return org, list(members.values())


def list_users(session: Session, actor: Actor, *, q: str = "", organization_id: int | None = None,
          status: str = "", page: int = 1, per_page: int = PER_PAGE) -> UserPage:
    """Users matching a search (username, name or e-mail), optionally in one organization or of one status."""
    require_admin(actor)
    query = select(User)
    q = (q or "").strip()[:100]
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(User.username).like(pattern, escape="\\"),
                                func.lower(User.display_name).like(pattern, escape="\\"),
                                func.lower(User.email).like(pattern, escape="\\")))
    if organization_id:
        query = query.where(User.id.in_(select(Membership.user_id)
                                        .where(Membership.organization_id == organization_id)))
    if status == "active":
        query = query.where(User.active.is_(True))
    elif status == "inactive":
        query = query.where(User.active.is_(False))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(session.scalars(query.order_by(func.lower(User.username), User.id).offset((page - 1) * per_page)
                                 .limit(per_page)))
    return UserPage(items, total, page, pages)


def user_detail(session: Session, actor: Actor, user_id: int) -> User:
    require_admin(actor)
    return _user(session, user_id)


def active_organizations(session: Session, actor: Actor) -> list[Organization]:
    require_admin(actor)
    return list(session.scalars(select(Organization).where(Organization.active.is_(True))
                                .order_by(Organization.kind, Organization.name)))


def actor_named(svc, username: str) -> Actor | None:
    """The actor of a user by username (None when there is none), e.g. for commands run on someone's behalf."""
    with svc.db.reader() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        return None if user is None else Actor.from_user(user)


def display_name_of(svc, username: str) -> str | None:
    """A user's display name by username (None when unknown or not set)."""
    with svc.db.reader() as session:
        return session.scalar(select(User.display_name).where(User.username == username))


# -- use cases: each step above in a transaction of its own, `(svc, actor, **args)` (pages, API and CLI) ---------
new_organization = use_case(create_organization)
change_organization = use_case(update_organization)
change_organization_active = use_case(set_organization_active)
new_user = use_case(create_user_with_roles)
grant = use_case(add_grant)
revoke = use_case(remove_grant)
change_active = use_case(set_active)
lift_lockout = use_case(clear_lockout)


@use_case
def new_password(session: Session, actor: Actor, *, user_id: int, password: str | None = None) -> tuple[str, str]:
    """(the user's username, their new password): a password reset, their sessions and tokens ended."""
    username = user_detail(session, actor, user_id).username
    return username, reset_password(session, actor, user_id=user_id, password=password)


@use_case
def grant_named(session: Session, actor: Actor, **args) -> tuple[str, str | None]:
    """`grant`, answering the organization's (Japanese, English) name for the message."""
    membership = add_grant(session, actor, **args)
    return membership.organization.name, membership.organization.name_en


@use_case
def edit_organization(session: Session, actor: Actor, *, organization_id: int, name: str | None = None,
                      name_en: str | None = None, country: str | None = None,
                      active: bool | None = None) -> tuple[Organization, int]:
    """Rename an organization, correct its country, (de)activate it: (the organization, how many people hold
    roles in it)."""
    org = update_organization(session, actor, organization_id=organization_id, name=name, name_en=name_en,
                              country=country)
    if active is not None:
        org = set_organization_active(session, actor, organization_id=organization_id, active=active)
    members = len({m.user_id for _u, grants in organization_detail(session, actor, org.id)[1] for m in grants})
    return org, members


@use_case
def new_user_loaded(session: Session, actor: Actor, **args) -> tuple[User, str | None]:
    """`new_user`, the user read back whole (grants and all) for an answer that lists them."""
    user, generated = create_user_with_roles(session, actor, **args)
    session.flush()
    session.refresh(user)
    return user, generated
