"""The task page's read (GET /tasks/<id>): the work item with its form, case and context, and the names and
people around it, in a read session of its own; what the page shows is loaded before the session closes."""

from __future__ import annotations

from ..attachments import for_case
from ..auth.actor import Actor
from ..auth.permissions import View, case_scope
from ..queues import lookups
from ..wording.render import describe
from . import queries


def task_page(svc, actor: Actor, task_id: str, lang: str) -> dict:
    """`queries.task_form` (NotFound for a task the actor may not see) with: the item's organization, programme
    and assignee names (`orgs`, `programs`, `people`), the people it may be assigned to (`colleagues`, for those
    who may assign), the context described (`context`: (entry, described node) pairs), the public ids of the
    case's files the actor may download when the context shows a file (`downloadable`) and whether the actor
    sees the case page (`sees_case`)."""
    with svc.db.reader() as session:
        form = queries.task_form(session, actor, task_id, lang)
        item, case = form["item"], form["case"]
        orgs, programs, people = lookups.names(session, [item])
        colleagues = lookups.assignable_people(session, item) if form["may_assign"] else []
        context = [(entry, describe(entry.schema, entry.display, entry.root)) for entry in form["context"]]
        scope = case_scope(actor, case)
        downloadable = {a.public_id for a in for_case(session, actor, case, scope)} \
            if any(_has_file(node) for _entry, node in context) else set()
        return {"form": form, "item": item, "case": case, "orgs": orgs, "programs": programs, "people": people,
                "colleagues": colleagues, "context": context, "downloadable": downloadable,
                "sees_case": scope.view >= View.SUMMARY}


def _has_file(node) -> bool:
    return node.kind == "file" or any(_has_file(n) for n in node.items) or any(_has_file(n) for _l, n in node.fields)


def task_form(svc, actor: Actor, task_id: str, lang: str) -> dict:
    """`queries.task_form` in a read session of its own (the API's task with its form)."""
    with svc.db.reader() as session:
        return queries.task_form(session, actor, task_id, lang)
