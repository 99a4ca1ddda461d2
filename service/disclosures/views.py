"""Reads of the disclosure pages, each opening its own session and returning what the page shows, loaded (the
page renders after the session closed)."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.actor import Actor
from . import ProfileView, get_profile, my_consents, profile_form


@dataclass(frozen=True)
class ProfilePage:
    view: ProfileView
    schema: dict
    ui_schema: dict
    # the cases of the profile's owner, with their consent to the office's pre-fill (only for the owner)
    consents: list


def profile_page(svc, actor: Actor, user_id: int, lang: str) -> ProfilePage:
    """A person's disclosure profile as the actor may see it (`get_profile`: NotFound otherwise), the
    disclosure form in `lang`, and the owner's consents."""
    with svc.db.reader() as session:
        view = get_profile(session, actor, user_id)
        schema, ui_schema = profile_form(session, lang)
        consents = my_consents(session, actor) if view.may_edit else []
        return ProfilePage(view, schema, ui_schema, consents)


def form(svc, lang: str) -> tuple[dict, dict]:
    """The disclosure form (schema, UI schema) in `lang` (`profile_form`)."""
    with svc.db.reader() as session:
        return profile_form(session, lang)


def profile(svc, actor: Actor, user_id: int) -> ProfileView:
    """A person's disclosure profile as the actor may see it (`get_profile`: NotFound otherwise)."""
    with svc.db.reader() as session:
        return get_profile(session, actor, user_id)


def consents(svc, actor: Actor) -> list:
    """The cases whose team the actor is on, each with their consent to the office's pre-fill (`my_consents`)."""
    with svc.db.reader() as session:
        return my_consents(session, actor)
