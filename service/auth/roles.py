"""Roles, the kind of organization each belongs to, and how a BPMN lane names one."""

from __future__ import annotations

import re

FA_ROLES = frozenset({"fa_officer", "fa_manager"})
INSTITUTION_ROLES = frozenset({"security_officer", "institution_admin", "researcher"})
MINISTRY_ROLES = frozenset({"ministry_officer"})
# held in any organization; they do not work case tasks
STAFF_ROLES = frozenset({"process_designer", "auditor", "system_admin"})
ALL_ROLES = FA_ROLES | INSTITUTION_ROLES | MINISTRY_ROLES | STAFF_ROLES

ORG_KIND_ROLES = {
    "funding_agency": FA_ROLES | STAFF_ROLES,
    "institution": INSTITUTION_ROLES | STAFF_ROLES,
    "ministry": MINISTRY_ROLES | STAFF_ROLES,
}
ORG_KINDS = tuple(ORG_KIND_ROLES)

_LANE = re.compile(r"^(?P<role>[a-z_]+)(?:@(?P<scope>[a-z_]+))?$")


class LaneError(ValueError):
    pass


def parse_lane(lane: str | None) -> tuple[str, str]:
    """`security_officer@partner` -> ("security_officer", "partner"); the scope defaults by role."""
    match = _LANE.match((lane or "").strip())
    if not match or match["role"] not in ALL_ROLES - STAFF_ROLES:
        raise LaneError(f"lane {lane!r} does not name a case role ({', '.join(sorted(ALL_ROLES - STAFF_ROLES))})")
    role = match["role"]
    scope = match["scope"] or ("fa" if role in FA_ROLES else "ministry" if role in MINISTRY_ROLES else "lead")
    return role, scope
