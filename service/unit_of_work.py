"""One transaction per use case; a lost race of any kind becomes a Conflict, never a half-written case.

Only the race on a case (its version moved, or another change wrote the same task rows first) is reported
as "someone else changed this case first". Another UNIQUE violation is a 409 naming what already exists;
any other integrity error (a missing reference, a NOT NULL) is a bug: logged and raised as a server error.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .errors import N_, Conflict
from .services import Services

T = TypeVar("T")

log = logging.getLogger("tejun.db")

_LOST_RACE = ("database is locked", "could not serialize", "deadlock detected", "lock not available")
CASE_CHANGED = N_("someone else changed this case first; reload it and try again")
SAME_MOMENT = N_("someone else saved a change at the same moment; reload and try again")
ALREADY_EXISTS = N_("an entry with the same %(what)s exists already; reload to see it or choose another value")
# rows only a change of a case writes: two changes of one case at once collide here
_CASE_TABLES = frozenset({"case_states", "work_items", "task_routes"})
# two writers at once of one event stream (a case's or another's), of the anchors, or of a new case's reference
_SAME_MOMENT_TABLES = frozenset({"events", "event_streams", "audit_anchors", "cases"})


@contextmanager
def unit_of_work(svc: Services) -> Iterator[Session]:
    try:
        with svc.db.transaction() as session:
            yield session
    except StaleDataError as exc:
        # a versioned row (version_id_col) was changed by another transaction since it was read
        raise Conflict(CASE_CHANGED if "'cases'" in str(exc) else SAME_MOMENT) from None
    except IntegrityError as exc:
        unique = _unique_violation(exc)
        if unique is None:
            log.error("integrity error (a bug, not a race): %s", exc.orig)
            raise
        table, columns = unique
        if table in _CASE_TABLES:
            raise Conflict(CASE_CHANGED) from None
        if table in _SAME_MOMENT_TABLES:
            raise Conflict(SAME_MOMENT) from None
        log.info("unique violation on %s (%s)", table, columns)
        raise Conflict(ALREADY_EXISTS, params={"what": f"{table}.{columns}" if columns else table}) from None
    except OperationalError as exc:
        if any(marker in str(exc.orig).lower() for marker in _LOST_RACE):
            raise Conflict(N_("the case is busy with another change; try again")) from None
        raise


def _unique_violation(exc: IntegrityError) -> tuple[str, str] | None:
    """(table, columns) of a violated UNIQUE or primary key, from SQLite's or PostgreSQL's error; else None."""
    orig = exc.orig
    text = str(orig)
    sqlite = re.search(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)", text)
    if sqlite:
        names = [name.split(".", 1) for name in sqlite.group(1).split(", ")]
        return names[0][0], ",".join(column for _table, column in names)
    diag = getattr(orig, "diag", None)
    if getattr(orig, "sqlstate", None) == "23505" or "duplicate key value violates unique" in text:
        table = getattr(diag, "table_name", None) or ""
        key = re.search(r"Key \(([^)]*)\)=", getattr(diag, "message_detail", None) or text)
        return table, (key.group(1).replace(" ", "") if key else getattr(diag, "constraint_name", None) or "")
    return None


def use_case(step: Callable[..., T]) -> Callable[..., T]:
    """The use case of a unit-of-work step `step(session, actor, **args)`: `(svc, actor, **args)`, in a
    transaction of its own. The step stays composable inside larger units of work (the demo, the CLI's
    imports); entry points call the use case."""

    @functools.wraps(step)
    def run(svc: Services, actor, **args) -> T:
        with unit_of_work(svc) as session:
            return step(session, actor, **args)

    return run
