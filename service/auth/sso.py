"""Signing in through an OpenID Connect provider: claims decide the organization and the roles.

The provider vouches for who the person is (`iss` + `sub`); two configurable claims say which organization
(by tejun organization code) and which roles they hold there. Roles in that organization are brought in
line with the claims at every sign-in, so removing a role at the provider removes it here too.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..errors import N_, Forbidden
from ..eventlog import chain
from ..models import Membership, Organization, User, UserIdentity
from ..services import Services
from ..unit_of_work import unit_of_work
from .actor import SYSTEM
from .admin import grant_role, revoke_role
from .roles import ORG_KIND_ROLES

DEFAULT_ORG_CLAIM = "tejun_org"
DEFAULT_ROLES_CLAIM = "tejun_roles"


def _roles(value) -> set[str]:
    if isinstance(value, str):
        return set(value.replace(",", " ").split())
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def _new_username(session: Session, claims: dict, org: Organization) -> str:
    base = str(claims.get("preferred_username") or claims.get("email") or f"sso-{claims['sub']}")[:120]
    candidate, n = base, 1
    # never take over an existing account by name: a new, distinct username instead
    while session.scalar(select(User.id).where(User.username == candidate)) is not None:
        n += 1
        candidate = f"{base}@{org.code}" if n == 2 else f"{base}@{org.code}-{n}"
    return candidate


def sign_in_from_claims(svc: Services, issuer: str, claims: dict, remote_addr: str | None = None) -> int:
    """Find or create the tejun user for verified ID-token claims; returns the user id."""
    oidc = svc.settings.oidc
    subject = str(claims.get("sub") or "")
    if not subject:
        raise Forbidden(N_("the identity provider did not say who you are (no 'sub' claim)"))
    org_code = claims.get(oidc.get("org_claim") or DEFAULT_ORG_CLAIM)
    wanted = _roles(claims.get(oidc.get("roles_claim") or DEFAULT_ROLES_CLAIM))
    now = clock.now()
    with unit_of_work(svc) as session:
        org = session.scalars(select(Organization).where(Organization.code == str(org_code or ""))).first()
        if org is None or not org.active:
            raise Forbidden(N_("your organization is not registered in tejun; ask your administrator"))
        wanted &= ORG_KIND_ROLES[org.kind]
        if not wanted:
            raise Forbidden(N_("your account holds no tejun role in your organization; ask your administrator"))
        identity = session.scalars(
            select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
        ).first()
        if identity is None:
            user = User(username=_new_username(session, claims, org), password_hash=None, created_at=now)
            session.add(user)
            session.flush()
            identity = UserIdentity(user_id=user.id, issuer=issuer, subject=subject, created_at=now)
            session.add(identity)
            chain.append(session, stream=chain.SYSTEM_STREAM, action="user_created", actor_id=None,
                         actor_name="sso", data={"id": user.id, "username": user.username, "issuer": issuer})
        else:
            user = session.get(User, identity.user_id)
        if not user.active:
            raise Forbidden(N_("this account is disabled"))
        user.display_name = str(claims.get("name") or user.display_name or user.username)[:255]
        user.email = str(claims.get("email") or user.email or "")[:255]
        held = session.scalars(
            select(Membership).where(Membership.user_id == user.id, Membership.organization_id == org.id)
        ).all()
        for membership in held:
            if membership.role not in wanted:
                revoke_role(session, SYSTEM, membership)
        for role in sorted(wanted - {m.role for m in held}):
            grant_role(session, SYSTEM, user, org, role)
        identity.last_login_at = now
        user.last_login_at = now
        chain.append(session, stream=f"user:{user.id}", action="login", actor_id=user.id, actor_name=user.username,
                     data={"via": "sso", "issuer": issuer, "remote_addr": remote_addr, "roles": sorted(wanted)})
        return user.id
