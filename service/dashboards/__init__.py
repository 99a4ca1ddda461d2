"""Oversight dashboards: counts over the cases a person may see, computed by SQL aggregates (issue 19).

`queries` holds one pure function per dashboard table, each `(session, actor, filters) -> Table`; `exports`
writes those tables, the case list, the queues and the agreed measures as CSV or Excel. Scope follows
`service.auth.permissions` exactly: the set of cases is `visible_cases_clause(actor)` (what the case list
shows); anything that only a FULL view may see of a case (risk level, review rounds, decisions, measures,
screening, follow-ups) is aggregated over `full_view_clause(actor)` only.
"""

from .filters import Filters
from .queries import TABLES, Table

__all__ = ["Filters", "TABLES", "Table"]
