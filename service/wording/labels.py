"""Words for codes: roles, stages, statuses, outcomes, priorities, risk levels, event actions.

Every text is a catalog msgid (English), translated by Flask-Babel in the request's language.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

ROLES = {
    "fa_officer": _l("FA case officer"),
    "fa_manager": _l("FA manager"),
    "security_officer": _l("Research security officer"),
    "institution_admin": _l("Institution administrator"),
    "researcher": _l("Researcher"),
    "ministry_officer": _l("Ministry officer"),
    "process_designer": _l("Process designer"),
    "auditor": _l("Auditor"),
    "system_admin": _l("System administrator"),
}

STAGES = {
    "designation": _l("Program designation"),
    "roster": _l("Research team"),
    "identification": _l("(1) Risk identification"),
    "assessment": _l("(2) Risk assessment"),
    "mitigation": _l("(3) Risk mitigation"),
    "approval": _l("Institutional approval"),
    "fa_review": _l("FA review"),
    "consultation": _l("Ministry consultation"),
    "additional_mitigation": _l("Additional mitigation"),
    "follow_up": _l("(4) Follow-up"),
}

STATUSES = {
    "running": _l("In progress"),
    "completed": _l("Completed"),
    "error": _l("Stopped by an error"),
}

OUTCOMES = {
    "accepted": _l("Accepted"),
    "not_accepted": _l("Not accepted"),
    "withdrawn": _l("Withdrawn"),
    "closed": _l("Closed"),
}

PRIORITIES = {0: _l("Low"), 1: _l("Normal"), 2: _l("High"), 3: _l("Urgent")}

# the procedure's top-level processes (bpmn/), as people call them
PROCESSES = {"research_security_case": _l("Research security procedure"),
             "program_designation": _l("Program designation")}
VARIANTS = {"domestic": _l("Domestic"), "foreign_joint": _l("Joint research with a foreign partner")}

RISK_LEVELS = {
    "L0": _l("L0 No risk"),
    "L1": _l("L1 Record and monitor"),
    "L2": _l("L2 Mitigation recommended"),
    "L3": _l("L3 Mitigation required"),
    "L4": _l("L4 Cannot proceed unless removed"),
}

ACTIONS = {
    "case_started": _l("Case opened"),
    "task_completed": _l("Step completed"),
    "task_claimed": _l("Task taken"),
    "task_released": _l("Task released to the team"),
    "task_assigned": _l("Task assigned"),
    "message_delivered": _l("Case event received"),
    "timer_fired": _l("Deadline or schedule reached"),
    "engine_error": _l("Stopped by an error"),
    "case_retried": _l("Restarted after an error"),
    "attachment_added": _l("Document uploaded"),
    "submission_frozen": _l("Submitted to the funding agency"),
    "consultation_opened": _l("Consultation opened"),
    "consultation_answered": _l("Consultation answered"),
    "consultation_closed": _l("Consultation closed"),
}

# messages a case waits for (BPMN message names), as the timeline names them
MESSAGES = {
    "withdraw": _l("Application withdrawn"),
    "member_added": _l("New team member"),
    "partner_added": _l("New partner institution"),
    "disclosure_changed": _l("Disclosure changed"),
    "screening_hit": _l("New restricted-list hit"),
}

TABS = {
    "mine": _l("Assigned to me"),
    "team": _l("My team, unassigned"),
    "org": _l("All open in my organization"),
    "overdue": _l("Overdue"),
}

SORTS = {
    "due": _l("Due date (soonest first)"),
    "-due": _l("Due date (latest first)"),
    "priority": _l("Priority"),
    "created": _l("Oldest first"),
    "-created": _l("Newest first"),
    "case": _l("Case reference"),
}

MEMBER_ROLES = {
    "pi": _l("Principal investigator"),
    "co_pi": _l("Co-investigator"),
    "participant": _l("Participant"),
    "student": _l("Student"),
}


# where a lane's role works, in the lane names of the diagrams ("security_officer@partner")
LANE_PLACES = {"partner": _l("partner institution"), "ministry": _l("ministry"), "lead": _l("lead institution")}


def diagram_words() -> dict:
    """Codes the procedure's diagrams use as names (lanes, variant flows, messages), as the reader's words."""
    return {code: str(text) for table in (ROLES, VARIANTS, MESSAGES, LANE_PLACES) for code, text in table.items()}


def lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ja"


def pick(code, table: dict) -> str:
    """The translated word for a code; the code itself when the table does not know it."""
    if code is None or code == "":
        return ""
    text = table.get(code)
    return str(text) if text is not None else str(code)


def local(ja: str | None, en: str | None) -> str:
    """A name kept in both languages (organizations, programs, task titles): the one for this page."""
    if lang() == "en" and en:
        return en
    return ja or en or ""
