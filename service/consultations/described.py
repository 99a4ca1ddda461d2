"""A consultation event (`consultation_opened`, `_answered`, `_closed`) told to a person who reads the record: the
auditor's history and report (service/audit/presentation.py). Sentences in the reader's language, no keys of
the event's data: who asked or replied, about what, the text, and each file with its SHA-256."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..cases.history import CONSULTATION_ACTIONS, consultation_sentence, thread_titles
from ..models import Event
from ..notifications.texts import N_, text
from ..reference import mitigation_catalog

__all__ = ["CONSULTATION_ACTIONS", "notes"]

# the same words as the case page's section (service/web/consultations.py)
SUBJECTS = {"general": N_("The case in general"), "team_scope": N_("The team's scope"), "measure": N_("A measure")}
ABOUT = N_("About: %(subject)s")
FILE = N_("File: %(name)s (%(size)s bytes, SHA-256 %(sha256)s)")


def notes(session: Session, action: str, data: dict, lang: str) -> list[str]:
    """The lines the audit history shows for one consultation event."""
    event = Event(action=action, data=data)
    found = [consultation_sentence(event, thread_titles(session, [event]), lang)]
    if action == "consultation_opened" and data.get("subject") in SUBJECTS:
        subject = text(lang, SUBJECTS[data["subject"]])
        if data.get("measure"):
            measure = next((m for m in mitigation_catalog() if m.get("code") == data["measure"]), {})
            named = measure.get("en" if lang == "en" else "ja") or measure.get("ja") or ""
            subject = f"{subject}（{data['measure']} {named}）" if named else f"{subject}（{data['measure']}）"
        found.append(text(lang, ABOUT, subject=subject))
    if data.get("body"):
        found.append(str(data["body"]))
    for item in data.get("attachments") or []:
        if isinstance(item, dict):
            found.append(text(lang, FILE, name=item.get("name") or "", size=item.get("size") or 0,
                              sha256=item.get("sha256") or ""))
    return found
