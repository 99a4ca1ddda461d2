"""Server-rendered pages for people: sign-in, queues, tasks, cases."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel

LANGUAGES = ("ja", "en")


def select_locale() -> str:
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    return "ja"


def register(app: Flask) -> None:
    from . import pages

    Babel(app, locale_selector=select_locale, default_timezone="Asia/Tokyo")
    app.register_blueprint(pages.bp)
    from .sso import init_sso

    init_sso(app)
