"""Reads of a case's parts as the API lists them (steps, timeline, open tasks, team, attachments, submission
rounds), each in a read session of its own, scoped like the case page (`queries.scoped_case`: NotFound for
those who do not see the case) and returning rows whose attributes are loaded (the API serializes them after
the session closed)."""

from __future__ import annotations

from ..attachments import for_case, for_download
from ..auth.actor import Actor
from ..auth.permissions import View
from ..models import Attachment
from . import history, queries, submissions


def steps(svc, actor: Actor, case_id: int, lang: str) -> list:
    """The submitted forms the actor sees, oldest first (`history.steps`)."""
    with svc.db.reader() as session:
        case, scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
        found = history.model_map(session, case.model_version_id, case.process_id)
        return history.steps(history.history(session, scope, case, lang), found)


def timeline(svc, actor: Actor, case_id: int, lang: str) -> list:
    """The case's history entries the actor sees, oldest first (`history.history`)."""
    with svc.db.reader() as session:
        case, scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
        return list(history.history(session, scope, case, lang))


def open_items(svc, actor: Actor, case_id: int) -> list:
    """The case's open tasks the actor sees, soonest due first (`history.open_items`)."""
    with svc.db.reader() as session:
        case, scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
        return list(history.open_items(session, scope, case))


def team(svc, actor: Actor, case_id: int):
    """The team roster as the actor may see it (`history.visible_team`), read from the case's workflow."""
    with svc.db.reader() as session:
        case, scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
        flow = queries.restore(session, case, svc.settings.script_time_limit)
        return history.visible_team(scope, case, flow.lookup("members") or [], flow.lookup("partners") or [])


def attachments(svc, actor: Actor, case_id: int) -> list[Attachment]:
    """The case's evidence files the actor may download, newest first (`attachments.for_case`)."""
    with svc.db.reader() as session:
        case, scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
        return for_case(session, actor, case, scope)


def rounds(svc, actor: Actor, case_id: int, lang: str) -> list:
    """The submission rounds the actor sees, oldest first (`submissions.rounds`; call it in `lang`'s locale)."""
    with svc.db.reader() as session:
        case, scope = queries.scoped_case(session, actor, case_id, View.SUMMARY)
        return list(submissions.rounds(session, scope, case, lang))


def download(svc, actor: Actor, public_id: str) -> Attachment:
    """The attachment the actor may download (`attachments.for_download`), detached from its closed session."""
    with svc.db.reader() as session:
        found = for_download(session, svc, actor, public_id)
        session.expunge(found)
        return found
