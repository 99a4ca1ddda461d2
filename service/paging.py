"""One page of a SQL query with its total: the `{items, total, page, per_page}` every list answers with."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def page_query(session: Session, query, page: int, per_page: int) -> dict:
    """One page of a SQL query (its order given), with the total count."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.offset((page - 1) * per_page).limit(per_page)))
    return {"items": items, "total": total, "page": page, "per_page": per_page}
