"""Administration of organizations, users and role grants. Every change is recorded as a system event."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..audit import chain
from ..errors import InvalidRequest
from ..forms import references
from ..models import Membership, Organization, User
from .actor import Actor
from .passwords import hash_password
from .roles import ALL_ROLES, ORG_KIND_ROLES


def _record(session: Session, actor: Actor, action: str, data: dict) -> None:
    chain.append(
        session, stream=chain.SYSTEM_STREAM, action=action, actor_id=actor.user_id, actor_name=actor.username,
        data=data,
    )


def ensure_organization(
    session: Session, actor: Actor, *, code: str, name: str, name_en: str, kind: str, country: str = "JP"
) -> Organization:
    if kind not in ORG_KIND_ROLES:
        raise InvalidRequest(f"unknown organization kind {kind!r}")
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


def set_password(session: Session, actor: Actor, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.session_generation += 1  # signs out every existing session of this user
    user.failed_logins = 0
    user.locked_until = None
    _record(session, actor, "password_set", {"user_id": user.id})


def grant_role(
    session: Session, actor: Actor, user: User, organization: Organization, role: str, scope: str = "organization"
) -> Membership:
    if role not in ALL_ROLES:
        raise InvalidRequest(f"unknown role {role!r}")
    if role not in ORG_KIND_ROLES[organization.kind]:
        raise InvalidRequest(f"role {role} cannot be held in a {organization.kind}")
    if role == "auditor" and scope not in ("all", "fa"):
        raise InvalidRequest("an auditor's scope is 'all' or 'fa'")
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
    _record(session, actor, "role_revoked", {
        "user_id": membership.user_id, "organization_id": membership.organization_id, "role": membership.role,
    })
    session.delete(membership)
