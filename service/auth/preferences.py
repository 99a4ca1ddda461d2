"""What a person may set for themselves: the language tejun speaks to them in (pages and e-mail)."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..models import User
from ..services import Services
from ..unit_of_work import unit_of_work
from .actor import Actor

LOCALES = ("ja", "en")


def set_locale(svc: Services, actor: Actor, locale: str) -> None:
    if locale not in LOCALES:
        raise InvalidRequest(f"language must be one of {', '.join(LOCALES)}")
    if actor.user_id is None:
        raise InvalidRequest("only people have a language preference")
    with unit_of_work(svc) as session:
        user = session.get(User, actor.user_id)
        user.locale = locale
