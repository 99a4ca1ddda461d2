"""Telling a case's security officers about new restricted-list hits found by re-screening (in-app, in each
officer's language)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Case, Membership, ScreeningHit, User
from ..notifications import notify
from .sources import SOURCES


def officers_of(session: Session, case: Case) -> list[int]:
    if case.lead_institution_id is None:
        return []
    return list(session.scalars(
        select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == case.lead_institution_id, Membership.role == "security_officer",
               User.active.is_(True))
    ))


def notify_officers(session: Session, case: Case, hits: list[ScreeningHit], follow_up: str) -> list[int]:
    users = officers_of(session, case)
    if not users or not hits:
        return []
    locales = dict(session.execute(select(User.id, User.locale).where(User.id.in_(users))).all())
    names = "、".join(dict.fromkeys(f"{h.subject.subject_id} {h.subject.name}" for h in hits))
    entries = "; ".join(dict.fromkeys(
        f"{h.entry_name} ({SOURCES[h.source].title_en if h.source in SOURCES else h.source}, "
        f"{h.classification} {h.score:g})" for h in hits))
    texts = {
        "ja": (f"{case.reference}: 制限リストの新たな該当候補（{names}）",
               f"{entries}\n{follow_up}\n審査してください: /screening/cases/{case.id}"),
        "en": (f"{case.reference}: new restricted-list hit ({names})",
               f"{entries}\n{follow_up}\nPlease review: /screening/cases/{case.id}"),
    }
    key = "screening_hit:" + ",".join(str(h.id) for h in sorted(hits, key=lambda h: h.id))
    for locale in ("ja", "en"):
        group = [u for u in users if (locales.get(u) == "en") == (locale == "en")]
        title, body = texts[locale]
        notify(session, user_ids=group, kind="screening_hit", title=title, body=body, case_id=case.id,
               url=f"/screening/cases/{case.id}", dedupe_key=key[:120])
    return users
