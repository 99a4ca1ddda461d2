"""The page language: the `lang` cookie (set by the switch in the page header, see app.js), else the user's
stored preference (`users.locale`), else TEJUN_DEFAULT_LOCALE."""

from __future__ import annotations

from flask import current_app, request

LANGUAGES = ("ja", "en")
LANG_COOKIE = "lang"


def select_locale() -> str:
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    default = current_app.extensions["tejun"].settings.default_locale
    return default if default in LANGUAGES else "ja"
