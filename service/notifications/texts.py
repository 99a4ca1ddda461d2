"""Notification and e-mail texts in the recipient's language, outside any web request.

The msgids are in the same catalogs as the pages (`service/translations`, marked with `N_` so that
`pybabel extract` finds them); they are translated here with Babel directly, since the worker and the use
cases run without a Flask request.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from ..clock import JST

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def N_(message: str) -> str:  # noqa: N802 - the conventional name extraction tools look for
    """Marks a msgid for the catalogs; translated later, in the recipient's language."""
    return message


ASSIGNED_TITLE = N_("New task for you: %(task)s")
ASSIGNED_BODY = N_("%(case)s %(case_title)s: the task \"%(task)s\" has been assigned to you.")
REMINDER_TITLE = N_("Due soon: %(task)s")
REMINDER_BODY = N_("%(case)s %(case_title)s: the task \"%(task)s\" is due on %(due)s (JST).")
ESCALATION_TITLE = N_("Overdue: %(task)s")
ESCALATION_BODY = N_(
    "%(case)s %(case_title)s: the task \"%(task)s\" was due on %(due)s (JST) and is still open. "
    "It is with: %(holder)s."
)
HOLDER_TEAM = N_("the team queue (nobody has taken it)")
MAIL_FOOTER = N_("Open it in tejun: %(url)s")
MAIL_SIGNATURE = N_("This message was sent by tejun. Change what you receive with your administrator.")


@cache
def _catalog(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [locale], domain="messages")


def text(locale: str | None, msgid: str, **params) -> str:
    translated = _catalog(locale or "ja").gettext(msgid)
    return translated % params if params else translated


def task_title(item, locale: str | None) -> str:
    return (item.title_en or item.title) if locale == "en" else item.title


def jst(moment: datetime | None) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M") if moment else ""
