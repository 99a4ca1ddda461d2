"""What may enter a case, beyond what a form's JSON Schema can say (issue 18, point 7).

Checked by the use cases before anything is written, so a refused start or roster leaves nothing behind:

* `check_start` (`commands.start_case`): the lead institution is not its own partner; the project's end date
  is not in the past (Japan's today on tejun's clock);
* `check_roster` (`commands.complete_task`, form `team_roster`): exactly one principal investigator, in the
  lead institution's team; no partner entry is the lead institution; no end date in the past; a `username`
  names a person of the institution whose team lists them (the lead for its members, the partner for its
  members). A username nobody has is allowed: the form says such a disclosure waits in the institution's
  researcher queue.

Every problem is one `{pointer, message, keyword}` of a `ValidationFailed` (422), the pointer into the data as
the caller sent it (`/partner_ids/0`, `/roster/members/1/role`), the message in the actor's language from
the same catalogs as the pages (`service/notifications/texts.text`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..errors import ValidationFailed
from ..models import Case, Membership, User
from ..notifications.texts import N_, text

ROSTER_FORM = "team_roster.schema.json"

LEAD_AS_PARTNER = N_("The lead institution cannot be its own partner.")
END_IN_PAST = N_("The project's end date is in the past.")
NO_PI = N_("Name exactly one principal investigator (PI) in the lead institution's team.")
SECOND_PI = N_("Only one principal investigator (PI) per project.")
PARTNER_PI = N_("The principal investigator belongs to the lead institution's team.")
NOT_OF_INSTITUTION = N_("%(username)s is not a person of this institution.")


def _today() -> date:
    return clock.now().astimezone(clock.JST).date()


def _problem(locale: str | None, pointer: str, keyword: str, msgid: str, **params) -> dict:
    return {"pointer": pointer, "keyword": keyword, "message": text(locale, msgid, **params)}


def check_start(lead_id: int, partner_ids, project_end_date: date | None, locale: str | None = "ja") -> None:
    """`start_case`'s arguments that cannot enter a case (see the module's docstring)."""
    problems = [_problem(locale, f"/partner_ids/{i}", "lead_as_partner", LEAD_AS_PARTNER)
                for i, partner_id in enumerate(partner_ids) if partner_id == lead_id]
    if project_end_date is not None and project_end_date < _today():
        problems.append(_problem(locale, "/project_end_date", "past_date", END_IN_PAST))
    if problems:
        raise ValidationFailed(problems)


def _end_date_problem(project: dict, locale: str | None) -> list[dict]:
    try:
        end = date.fromisoformat(str(project.get("end_date") or ""))
    except ValueError:
        return []  # absent, or the schema's format check says what is wrong
    return [_problem(locale, "/roster/project/end_date", "past_date", END_IN_PAST)] if end < _today() else []


def _strangers(session: Session, people: list[tuple[str, str, int]], locale: str | None) -> list[dict]:
    """(pointer, username, organization) for each named person: those known to tejun but not of that
    organization."""
    names = {username for _, username, _ in people}
    if not names:
        return []
    known = set(session.scalars(select(User.username).where(User.username.in_(names))))
    belongs = {(username, org_id) for username, org_id in session.execute(
        select(User.username, Membership.organization_id).join(Membership).where(User.username.in_(names)))}
    return [_problem(locale, pointer, "not_of_institution", NOT_OF_INSTITUTION, username=username)
            for pointer, username, org_id in people
            if username in known and (username, org_id) not in belongs]


def check_roster(session: Session, case: Case, form: str | None, data: dict, locale: str | None = "ja") -> None:
    """A team roster that cannot enter the case (see the module's docstring); other forms pass."""
    if form != ROSTER_FORM:
        return
    roster = data.get("roster") or {}
    members = roster.get("members") or []
    partners = roster.get("partners") or []
    problems = _end_date_problem(roster.get("project") or {}, locale)
    lead_pis = [i for i, m in enumerate(members) if m.get("role") == "pi"]
    if not lead_pis:
        problems.append(_problem(locale, "/roster/members", "one_pi", NO_PI))
    problems += [_problem(locale, f"/roster/members/{i}/role", "one_pi", SECOND_PI) for i in lead_pis[1:]]
    people = [(f"/roster/members/{i}/username", m["username"], case.lead_institution_id)
              for i, m in enumerate(members) if m.get("username")]
    for p, partner in enumerate(partners):
        org_id = partner.get("organization_id")
        if org_id is not None and org_id == case.lead_institution_id:
            problems.append(_problem(locale, f"/roster/partners/{p}/organization_id", "lead_as_partner",
                                     LEAD_AS_PARTNER))
        for i, m in enumerate(partner.get("members") or []):
            if m.get("role") == "pi":
                problems.append(_problem(locale, f"/roster/partners/{p}/members/{i}/role", "one_pi", PARTNER_PI))
            if m.get("username") and org_id is not None:
                people.append((f"/roster/partners/{p}/members/{i}/username", m["username"], org_id))
    problems += _strangers(session, people, locale)
    if problems:
        raise ValidationFailed(problems)
