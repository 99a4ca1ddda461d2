"""Reads of the e-Rad pages, each opening its own session and returning what the page needs, loaded (the page
renders after the session closed)."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.actor import Actor
from ..cases import queries as case_queries
from ..cases.forms import expanded_schema
from ..models import Call, Case, WorkItem
from . import queries, roster_import


def exportable_calls(svc, actor: Actor) -> list[tuple[Call, object, int]]:
    """(call, its programme, its application cases) for every call the actor may export (`queries.exportable_calls`)."""
    with svc.db.reader() as session:
        return queries.exportable_calls(session, actor)


@dataclass(frozen=True)
class RosterTask:
    case: Case
    item: WorkItem
    # the roster form's schema with its definitions expanded (what a file's rows are read against)
    schema: dict
    # the task's data as its form shows it, and the partners whose teams a file may fill; None unless asked for
    data: dict | None = None
    partners: list[roster_import.PartnerTeam] | None = None


def roster_task(svc, actor: Actor, case_id: int, lang: str, *, with_draft: bool = False) -> RosterTask:
    """The case and its open team-roster task the actor may work (`queries.roster_task`: 404 or 403 otherwise),
    the roster form's schema, and with `with_draft` the task's draft and the partners a file may fill: those of
    the draft and the case's partner institutions."""
    with svc.db.reader() as session:
        case, item = queries.roster_task(session, actor, case_id)
        schema = expanded_schema(session, case, item.form) or {}
        if not with_draft:
            return RosterTask(case, item, schema)
        data = case_queries.task_form(session, actor, item.task_id, lang)["data"]
        partners = roster_import.partner_teams(data.get("roster"), queries.partner_parties(session, case.id))
        return RosterTask(case, item, schema, data, partners)
