"""The dashboard filters (programme, call, period, institution) and the case conditions they make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ..clock import JST
from ..models import Case


@dataclass(frozen=True)
class Filters:
    """What the viewer narrowed the dashboard to. The period is on the day a case was opened (JST), both
    ends included; None means no limit."""

    program_id: int | None = None
    call_id: int | None = None
    institution_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args) -> Filters:
        """From a query string (a werkzeug MultiDict or a dict); unreadable values are ignored."""

        def number(key):
            try:
                value = int(args.get(key) or 0)
            except (TypeError, ValueError):
                return None
            return value if 0 < value < 2**31 else None

        def day(key):
            try:
                return date.fromisoformat(str(args.get(key) or "")[:10])
            except ValueError:
                return None

        return cls(number("program"), number("call"), number("institution"), day("from"), day("to"))

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for links to exports and back)."""
        found = {"program": self.program_id, "call": self.call_id, "institution": self.institution_id,
                 "from": self.date_from.isoformat() if self.date_from else None,
                 "to": self.date_to.isoformat() if self.date_to else None}
        return {k: str(v) for k, v in found.items() if v}

    def conditions(self) -> list:
        """SQL conditions on `Case` for these filters."""
        where = []
        if self.program_id:
            where.append(Case.program_id == self.program_id)
        if self.call_id:
            where.append(Case.call_id == self.call_id)
        if self.institution_id:
            where.append(Case.lead_institution_id == self.institution_id)
        if self.date_from:
            where.append(Case.created_at >= datetime.combine(self.date_from, time(), JST).astimezone(UTC))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), JST).astimezone(UTC)
            where.append(Case.created_at < end)
        return where
