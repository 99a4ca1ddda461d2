"""The queue page's read (the home page): one query opening its own session, returning what the page shows,
loaded (the page renders after the session closed)."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth.actor import Actor
from ..auth.permissions import may_assign, may_work
from ..models import Organization, Program
from . import lookups
from . import queries as queues
from .queries import Page


@dataclass(frozen=True)
class QueuePage:
    tab: str
    counts: dict[str, int]
    page: Page
    programs: list[Program]
    orgs: dict[int, Organization]
    program_names: dict[int, Program]
    people: dict[int, str]
    rights: dict[int, tuple[bool, bool]]


def opening_tab(counts: dict[str, int]) -> str:
    """The tab the queue opens on when none was chosen: the first that has work (own tasks first, then the
    team's, then the organization's), else "mine"."""
    return next((tab for tab in ("mine", "team", "org") if counts.get(tab)), "mine")


def queue_page(svc, actor: Actor, *, tab: str | None, page: int, per_page: int, sort: str,
               program_id: int | None, search: str | None) -> QueuePage:
    """The actor's queue: the tabs' counts, one page of `tab` (None: the first tab that has work), the program
    filter's choices, the names the page shows and what the actor may do with each item."""
    with svc.db.reader() as session:
        counts = queues.counts(session, actor)
        tab = tab or opening_tab(counts)
        found = queues.queue(session, actor, tab, page=page, per_page=per_page, sort=sort,
                             program_id=program_id, search=search)
        programs = lookups.programs_in_queues(session, actor)
        orgs, program_names, people = lookups.names(session, found.items)
        rights = {item.id: (may_work(actor, item), may_assign(actor, item)) for item in found.items}
        return QueuePage(tab, counts, found, programs, orgs, program_names, people, rights)


def queue_tab(svc, actor: Actor, tab: str, *, page: int, per_page: int, sort: str, program_id: int | None,
              search: str | None, with_counts: bool) -> tuple[Page, dict[str, int] | None]:
    """One page of a queue tab (`queries.queue`, the API's list) and, when asked, every tab's count."""
    with svc.db.reader() as session:
        found = queues.queue(session, actor, tab, page=page, per_page=per_page, sort=sort, program_id=program_id,
                             search=search)
        return found, queues.counts(session, actor) if with_counts else None
