"""Reads of the administrators' pages, each opening its own session (the checks of `admin` included: 404 for
anyone but a system administrator) and returning rows whose attributes the pages show are loaded (a user's
memberships and their organizations load eagerly)."""

from __future__ import annotations

from ..models import Organization, User
from . import admin
from .actor import Actor


def organizations(svc, actor: Actor) -> list[admin.OrganizationRow]:
    with svc.db.reader() as session:
        return admin.list_organizations(session, actor)


def organization(svc, actor: Actor, organization_id: int) -> tuple[Organization, list[tuple]]:
    with svc.db.reader() as session:
        return admin.organization_detail(session, actor, organization_id)


def users(svc, actor: Actor, **search) -> tuple[admin.UserPage, list[Organization]]:
    """A page of users (`admin.list_users`) and the active organizations (the search's choices)."""
    with svc.db.reader() as session:
        return admin.list_users(session, actor, **search), admin.active_organizations(session, actor)


def active_organizations(svc, actor: Actor) -> list[Organization]:
    with svc.db.reader() as session:
        return admin.active_organizations(session, actor)


def user(svc, actor: Actor, user_id: int) -> User:
    """One user with their memberships (NotFound for an unknown one)."""
    with svc.db.reader() as session:
        return admin.user_detail(session, actor, user_id)


def user_with_organizations(svc, actor: Actor, user_id: int) -> tuple[User, list[Organization]]:
    with svc.db.reader() as session:
        return admin.user_detail(session, actor, user_id), admin.active_organizations(session, actor)


def user_page(svc, actor: Actor, **search) -> admin.UserPage:
    """A page of users (`admin.list_users`) without the search's choices (the API's list)."""
    with svc.db.reader() as session:
        return admin.list_users(session, actor, **search)
