"""The dashboard tables: one pure query function per table, `(session, actor, filters) -> Table`.

Every number is a SQL aggregate (GROUP BY in the database); Python only merges a few result rows keyed by a
code (a measure code, a month). Scope, the one rule of `service.auth.permissions`:

* cases by programme and call, and by stage and outcome: the cases the viewer may see at all
  (`visible_cases_clause`, exactly the case list);
* everything else (risk levels, review rounds, submission-to-decision time, measures, screening hits,
  follow-ups): only the cases the viewer sees in FULL (`full_view_clause`). A partner institution or a
  consulted ministry (PART view) and a researcher on the team (SUMMARY) see status, stage and outcome of
  the cases they take part in, never the case-wide risk level or the FA's review;
* overdue tasks: the open tasks of the cases seen in FULL, plus (PART view) the tasks routed to the viewer's
  own organization in a case it is a party to.

Where the numbers come from (as tejun stores cases today; the shipped procedure's element ids, bpmn/). The
figures read from `task_completed` events (review rounds, submission and decision, measures requested and
planned) are kept per case in the read model `case_milestones` / `case_measures` (`read_model`, written with
each step; at 100,000 cases reading the JSON of half a million events took seconds per table):

* stage, status, outcome, risk level: the `cases` row (copied from the workflow at every step);
* review rounds: `task_completed` events of `review_submission` (one per FA review round) per case;
* submission: the first `task_completed` event of `institutional_approval` whose decision is `approve`
  (the institution submits to the FA); decision: the first `task_completed` event of
  `approve_review_outcome` with `approved: true` (the FA manager signs off the accept / not-accept
  decision). Days between the two, per outcome: count, minimum, quartiles, median, maximum (quartiles
  and median are the nearest-rank percentiles: the smallest value with at least p·n values at or below it);
* measures requested: `requested_measures[].measure` of the FA's `fa_review` (review) and
  `follow_up_confirmation` (follow-up) submissions; each request counts;
* measures agreed: `measures[].measure` of `mitigation_plan` and `additional_mitigation` submissions in the
  cases the FA accepted (outcome `accepted`, or `closed` at the project end after acceptance); one per case,
  code and target, however often a plan was resubmitted (a measure dropped from a later resubmission still
  counts: the events keep each submission whole, not what was struck out);
* the status of an agreed measure: its row (same code and target) in the case's latest `follow_up_report`;
* screening hits: `screening_hits` by classification and decision (pending while undecided);
* follow-ups due in the next 90 days: running cases at stage `follow_up` whose next timer (`next_wakeup_at`:
  the next periodic round, or the project end if that comes first) falls in the window, and open follow-up
  tasks (work items at stage `follow_up`) due in it, by month (JST).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import JSON, and_, case, column, distinct, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import PART_ROLES, full_view_clause, visible_cases_clause
from ..errors import N_
from ..models import (
    Call,
    Case,
    CaseMeasure,
    CaseMilestones,
    CaseParty,
    Event,
    MitigationMeasure,
    Organization,
    Program,
    ScreeningHit,
    WorkItem,
)
from .filters import Filters

ACCEPTED = ("accepted", "closed")
FOLLOW_UP_DAYS = 90
# the shipped procedure's steps the tables read (bpmn/; docs/procedure.md §4); the others: read_model
FOLLOW_UP_REPORT = ("follow_up_report", ("follow_up_report", "measures_status"))


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # an English msgid, translated where shown
    # how a value is shown: text | number | days | status | stage | outcome | risk | name (a (ja, en) pair)
    # | measure (a code, named from the catalog) | decision | classification | date
    kind: str = "text"


@dataclass
class Table:
    key: str
    title: str  # msgid
    columns: list[Column]
    rows: list[tuple] = field(default_factory=list)
    # the chart drawn from it: bar | doughnut; the label columns and the value columns
    chart: str = "bar"
    label_keys: tuple[str, ...] = ()
    value_keys: tuple[str, ...] = ()
    note: str = ""  # msgid: what the table counts

    def column(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _scoped(actor: Actor, filters: Filters, full: bool) -> list:
    return [full_view_clause(actor) if full else visible_cases_clause(actor), *filters.conditions()]


# -- cases ------------------------------------------------------------------------------------------------
def programmes(session: Session, actor: Actor, filters: Filters) -> Table:
    running = func.sum(case((Case.status == "running", 1), else_=0))
    accepted = func.sum(case((Case.outcome.in_(ACCEPTED), 1), else_=0))
    not_accepted = func.sum(case((Case.outcome == "not_accepted", 1), else_=0))
    counted = (select(Case.program_id, Case.call_id, func.count().label("cases"), running.label("running"),
                      accepted.label("accepted"), not_accepted.label("not_accepted"))
               .where(*_scoped(actor, filters, full=False)).group_by(Case.program_id, Case.call_id).subquery())
    rows = session.execute(
        select(Program.code, Program.title, Program.title_en, Call.code, Call.title, Call.title_en, counted.c.cases,
               counted.c.running, counted.c.accepted, counted.c.not_accepted)
        .select_from(counted).outerjoin(Program, Program.id == counted.c.program_id)
        .outerjoin(Call, Call.id == counted.c.call_id).order_by(Program.code, Call.code)
    ).all()
    return Table("programmes", N_("Cases by programme and call"), [
        Column("programme", N_("Programme"), "name"), Column("call", N_("Call"), "name"),
        Column("cases", N_("Cases"), "number"), Column("running", N_("In progress"), "number"),
        Column("accepted", N_("Accepted"), "number"), Column("not_accepted", N_("Not accepted"), "number"),
    ], [((r[1], r[2] or r[0]) if r[0] else None, (r[4], r[5] or r[3]) if r[3] else None, r[6], int(r[7] or 0),
         int(r[8] or 0), int(r[9] or 0)) for r in rows],
        chart="bar", label_keys=("programme", "call"), value_keys=("running", "accepted", "not_accepted"))


def stages(session: Session, actor: Actor, filters: Filters) -> Table:
    n = func.count().label("n")
    rows = session.execute(
        select(Case.status, Case.stage, Case.outcome, n).where(*_scoped(actor, filters, full=False))
        .group_by(Case.status, Case.stage, Case.outcome).order_by(n.desc(), Case.status, Case.stage, Case.outcome)
    ).all()
    return Table("stages", N_("Cases by stage and outcome"), [
        Column("status", N_("Status"), "status"), Column("stage", N_("Stage"), "stage"),
        Column("outcome", N_("Outcome"), "outcome"), Column("cases", N_("Cases"), "number"),
    ], [tuple(r) for r in rows], chart="bar", label_keys=("stage", "status", "outcome"), value_keys=("cases",))


def risk_levels(session: Session, actor: Actor, filters: Filters) -> Table:
    n = func.count().label("n")
    rows = session.execute(
        select(Case.risk_level, n).where(*_scoped(actor, filters, full=True))
        .group_by(Case.risk_level).order_by(Case.risk_level.is_(None), Case.risk_level)
    ).all()
    return Table("risk_levels", N_("Risk levels"), [
        Column("risk_level", N_("Risk level"), "risk"), Column("cases", N_("Cases"), "number"),
    ], [tuple(r) for r in rows], chart="doughnut", label_keys=("risk_level",), value_keys=("cases",),
        note=N_("Only the cases you see in full: partners and ministries do not see a case's risk level."))


# -- tasks ------------------------------------------------------------------------------------------------
def _task_scope(actor: Actor):
    """Open tasks the viewer may count: any task of a case seen in FULL; in a case seen in PART, the tasks
    routed to the viewer's own organization as a party of that case (`CaseScope.sees`)."""
    parts = actor.orgs_with(*PART_ROLES)
    own_part = and_(WorkItem.organization_id.in_(parts), exists().where(
        CaseParty.case_id == WorkItem.case_id, CaseParty.organization_id == WorkItem.organization_id)) \
        if parts else false()
    return or_(full_view_clause(actor), and_(visible_cases_clause(actor), own_part))


def overdue(session: Session, actor: Actor, filters: Filters) -> Table:
    now = clock.now()
    n = func.count().label("n")
    counted = (select(WorkItem.organization_id, n, func.min(WorkItem.due_at).label("oldest"))
               .join(Case, Case.id == WorkItem.case_id)
               .where(WorkItem.due_at < now, _task_scope(actor), *filters.conditions())
               .group_by(WorkItem.organization_id).subquery())
    rows = session.execute(
        select(Organization.name, Organization.name_en, counted.c.n, counted.c.oldest)
        .join(counted, counted.c.organization_id == Organization.id).order_by(counted.c.n.desc(), Organization.name)
    ).all()
    return Table("overdue", N_("Overdue tasks by organization"), [
        Column("organization", N_("Organization"), "name"), Column("tasks", N_("Overdue tasks"), "number"),
        Column("oldest_due", N_("Oldest due date"), "date"),
    ], [((r[0], r[1]), r[2], r[3]) for r in rows], chart="bar", label_keys=("organization",),
        value_keys=("tasks",))


# -- the FA review ----------------------------------------------------------------------------------------
def _completed(element_id: str):
    return and_(Event.action == "task_completed", Event.element_id == element_id)


def review_rounds(session: Session, actor: Actor, filters: Filters) -> Table:
    rounds = CaseMilestones.review_rounds
    n = func.count().label("n")
    rows = session.execute(
        select(rounds, n).select_from(CaseMilestones).join(Case, Case.id == CaseMilestones.case_id)
        .where(rounds > 0, *_scoped(actor, filters, full=True)).group_by(rounds).order_by(rounds)
    ).all()
    return Table("review_rounds", N_("FA review rounds per case"), [
        Column("rounds", N_("Review rounds"), "number"), Column("cases", N_("Cases"), "number"),
    ], [tuple(r) for r in rows], chart="bar", label_keys=("rounds",), value_keys=("cases",),
        note=N_("Cases the FA has reviewed at least once, by how many times it reviewed them."))


def _days(session: Session, later, earlier):
    if _dialect(session) == "postgresql":
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def decision_time(session: Session, actor: Actor, filters: Filters) -> Table:
    days = _days(session, CaseMilestones.decided_at, CaseMilestones.submitted_at)
    outcome = func.coalesce(Case.outcome, "")
    decided = [CaseMilestones.submitted_at.is_not(None), CaseMilestones.decided_at.is_not(None),
               *_scoped(actor, filters, full=True)]
    if _dialect(session) == "postgresql":
        # percentile_disc is the nearest-rank percentile; one sort per outcome instead of two window passes
        rows = session.execute(
            select(outcome, func.count(), func.min(days),
                   *(func.percentile_disc(p).within_group(days) for p in (0.25, 0.5, 0.75)), func.max(days))
            .select_from(CaseMilestones).join(Case, Case.id == CaseMilestones.case_id).where(*decided)
            .group_by(outcome).order_by(outcome)
        ).all()
        return _decision_table(rows)
    spans = (select(outcome.label("outcome"), days.label("days"),
                    func.row_number().over(partition_by=outcome, order_by=days).label("rn"),
                    func.count().over(partition_by=outcome).label("n"))
             .select_from(CaseMilestones).join(Case, Case.id == CaseMilestones.case_id).where(*decided).subquery())

    def pct(p: float):
        return func.min(case((spans.c.rn >= p * spans.c.n, spans.c.days)))

    rows = session.execute(
        select(spans.c.outcome, func.count(), func.min(spans.c.days), pct(0.25), pct(0.5), pct(0.75),
               func.max(spans.c.days))
        .group_by(spans.c.outcome).order_by(spans.c.outcome)
    ).all()
    return _decision_table(rows)


def _decision_table(rows) -> Table:
    return Table("decision_time", N_("Days from submission to the FA's decision"), [
        Column("outcome", N_("Outcome"), "outcome"), Column("cases", N_("Cases"), "number"),
        Column("min", N_("Shortest"), "days"), Column("p25", N_("First quartile"), "days"),
        Column("median", N_("Median"), "days"), Column("p75", N_("Third quartile"), "days"),
        Column("max", N_("Longest"), "days"),
    ], [(r[0] or None, r[1], *(round(float(v), 1) if v is not None else None for v in r[2:])) for r in rows],
        chart="bar", label_keys=("outcome",), value_keys=("p25", "median", "p75"),
        note=N_("From the institution's submission to the FA manager's sign-off, in days."))


# -- measures ---------------------------------------------------------------------------------------------
def _elements(session: Session, path: tuple[str, ...]):
    """The JSON array at `path` of an event's data as rows (a table-valued function joined per event)."""
    if _dialect(session) == "postgresql":
        return func.json_array_elements(Event.data[path]).table_valued(column("value", JSON))
    return func.json_each(Event.data, "$." + ".".join(path)).table_valued(column("value", JSON))


def _measure_rows(kind: str, where: list):
    """(case_id, code, target, owner, due_date, at) of every measure of `kind` (read model) in scope."""
    return (select(CaseMeasure.case_id, CaseMeasure.code, CaseMeasure.target, CaseMeasure.owner,
                   CaseMeasure.due_date, CaseMeasure.at)
            .join(Case, Case.id == CaseMeasure.case_id).where(CaseMeasure.kind == kind, *where).subquery())


def measures(session: Session, actor: Actor, filters: Filters) -> Table:
    scope = _scoped(actor, filters, full=True)
    requested = _measure_rows("requested", scope)
    asked = {code: (times, cases) for code, times, cases in session.execute(
        select(requested.c.code, func.count(), func.count(distinct(requested.c.case_id)))
        .group_by(requested.c.code))}
    planned = _measure_rows("planned", [*scope, Case.outcome.in_(ACCEPTED)])
    one_each = (select(planned.c.case_id, planned.c.code, func.coalesce(planned.c.target, "").label("target"))
                .distinct().subquery())
    agreed = {code: (count, cases) for code, count, cases in session.execute(
        select(one_each.c.code, func.count(), func.count(distinct(one_each.c.case_id))).group_by(one_each.c.code))}
    order = {code: pos for code, pos in session.execute(select(MitigationMeasure.code, MitigationMeasure.position))}
    codes = sorted(set(asked) | set(agreed), key=lambda c: (c is None, order.get(c, 10**6), c or ""))
    rows = [(code, *asked.get(code, (0, 0)), *agreed.get(code, (0, 0))) for code in codes]
    return Table("measures", N_("Measures requested and agreed, by catalog code"), [
        Column("measure", N_("Measure"), "measure"), Column("requested", N_("Times requested by the FA"), "number"),
        Column("requested_cases", N_("Cases with a request"), "number"),
        Column("agreed", N_("Agreed measures"), "number"), Column("agreed_cases", N_("Cases agreeing it"), "number"),
    ], rows, chart="bar", label_keys=("measure",), value_keys=("requested", "agreed"),
        note=N_("Agreed: the measures planned in cases the FA accepted, once per case, code and target."))


def agreed_measures(session: Session, actor: Actor, filters: Filters):
    """Every agreed measure (one row per case, code and target) with its latest reported status: a query for
    exports (rows streamed as the database returns them)."""
    scope = _scoped(actor, filters, full=True)
    planned = _measure_rows("planned", [*scope, Case.outcome.in_(ACCEPTED)])
    target = func.coalesce(planned.c.target, "")
    agreed = (select(planned.c.case_id, planned.c.code, target.label("target"), func.max(planned.c.owner)
                     .label("owner"), func.max(planned.c.due_date).label("due_date"),
                     func.max(planned.c.at).label("agreed_at"))
              .group_by(planned.c.case_id, planned.c.code, target).subquery())
    element_id, path = FOLLOW_UP_REPORT
    latest = (select(func.max(Event.id).label("id")).join(Case, Case.id == Event.case_id)
              .where(_completed(element_id), *scope).group_by(Event.case_id).subquery())
    item = _elements(session, path).alias("reported")
    reports = (select(Event.case_id, Event.at, item.c.value["measure"].as_string().label("code"),
                      func.coalesce(item.c.value["target"].as_string(), "").label("target"),
                      item.c.value["status"].as_string().label("status"))
               .select_from(Event).join(latest, latest.c.id == Event.id).join(item, true()).subquery())
    lead = Organization
    return (select(Case.reference, Case.title, Program.code, lead.name, lead.name_en, agreed.c.code,
                   MitigationMeasure.name_ja, MitigationMeasure.name_en, agreed.c.target, agreed.c.owner,
                   agreed.c.due_date, func.max(reports.c.status), func.max(reports.c.at))
            .select_from(agreed).join(Case, Case.id == agreed.c.case_id)
            .outerjoin(Program, Program.id == Case.program_id)
            .outerjoin(lead, lead.id == Case.lead_institution_id)
            .outerjoin(MitigationMeasure, MitigationMeasure.code == agreed.c.code)
            .outerjoin(reports, and_(reports.c.case_id == agreed.c.case_id, reports.c.code == agreed.c.code,
                                     reports.c.target == agreed.c.target))
            .group_by(Case.id, Case.reference, Case.title, Program.code, lead.name, lead.name_en, agreed.c.code,
                      MitigationMeasure.name_ja, MitigationMeasure.name_en, agreed.c.target, agreed.c.owner,
                      agreed.c.due_date)
            .order_by(Case.reference, agreed.c.code, agreed.c.target))


# -- screening and follow-ups -----------------------------------------------------------------------------
def screening_hits(session: Session, actor: Actor, filters: Filters) -> Table:
    decision = func.coalesce(ScreeningHit.decision, "pending")
    rows = session.execute(
        select(ScreeningHit.classification, decision, func.count(), func.count(distinct(ScreeningHit.case_id)))
        .join(Case, Case.id == ScreeningHit.case_id).where(*_scoped(actor, filters, full=True))
        .group_by(ScreeningHit.classification, decision).order_by(ScreeningHit.classification, decision)
    ).all()
    return Table("screening_hits", N_("Screening hits and their decisions"), [
        Column("classification", N_("Match"), "classification"), Column("decision", N_("Decision"), "decision"),
        Column("hits", N_("Hits"), "number"), Column("cases", N_("Cases"), "number"),
    ], [tuple(r) for r in rows], chart="bar", label_keys=("classification", "decision"), value_keys=("hits",))


def _month(session: Session, moment):
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", moment), "YYYY-MM")
    return func.strftime("%Y-%m", moment, "+9 hours")


def follow_ups(session: Session, actor: Actor, filters: Filters) -> Table:
    now = clock.now()
    until = now + timedelta(days=FOLLOW_UP_DAYS)
    scope = _scoped(actor, filters, full=True)
    month = _month(session, Case.next_wakeup_at).label("month")
    scheduled = dict(session.execute(
        select(month, func.count()).where(*scope, Case.status == "running", Case.stage == "follow_up",
                                          Case.next_wakeup_at >= now, Case.next_wakeup_at < until)
        .group_by(month)).all())
    month = _month(session, WorkItem.due_at).label("month")
    open_tasks = dict(session.execute(
        select(month, func.count()).join(Case, Case.id == WorkItem.case_id)
        .where(*scope, WorkItem.stage == "follow_up", WorkItem.due_at >= now, WorkItem.due_at < until)
        .group_by(month)).all())
    rows = [(m, scheduled.get(m, 0), open_tasks.get(m, 0)) for m in sorted(set(scheduled) | set(open_tasks))]
    return Table("follow_ups", N_("Follow-ups due in the next 90 days"), [
        Column("month", N_("Month"), "text"), Column("scheduled", N_("Scheduled follow-up rounds"), "number"),
        Column("open_tasks", N_("Open follow-up tasks due"), "number"),
    ], rows, chart="bar", label_keys=("month",), value_keys=("scheduled", "open_tasks"))


def choices(session: Session, actor: Actor) -> dict:
    """The filters' choices: the programmes, calls and lead institutions of the cases the viewer sees."""
    seen = (select(Case.program_id, Case.call_id, Case.lead_institution_id).where(visible_cases_clause(actor))
            .group_by(Case.program_id, Case.call_id, Case.lead_institution_id).subquery())
    programs = session.execute(select(Program.id, Program.code, Program.title, Program.title_en)
                               .where(Program.id.in_(select(seen.c.program_id))).order_by(Program.code)).all()
    calls = session.execute(select(Call.id, Call.code, Call.title, Call.title_en, Call.program_id)
                            .where(Call.id.in_(select(seen.c.call_id))).order_by(Call.code)).all()
    institutions = session.execute(select(Organization.id, Organization.name, Organization.name_en)
                                   .where(Organization.id.in_(select(seen.c.lead_institution_id)))
                                   .order_by(Organization.name)).all()
    return {"programs": programs, "calls": calls, "institutions": institutions}


TABLES = {
    "programmes": programmes,
    "stages": stages,
    "risk_levels": risk_levels,
    "overdue": overdue,
    "review_rounds": review_rounds,
    "decision_time": decision_time,
    "measures": measures,
    "screening_hits": screening_hits,
    "follow_ups": follow_ups,
}

__all__ = ["TABLES", "Column", "Table", "agreed_measures", "choices"]


def measure_names(session: Session) -> dict[str, tuple[str, str]]:
    """Each mitigation measure's (Japanese, English) name by code."""
    return {code: (ja, en) for code, ja, en in session.execute(
        select(MitigationMeasure.code, MitigationMeasure.name_ja, MitigationMeasure.name_en))}


def dashboard_view(svc, actor: Actor, filters: Filters) -> dict:
    """What /dashboard shows, read in a session of its own: every table, the filters' choices and the measures'
    names (all plain rows)."""
    with svc.db.reader() as session:
        return {"tables": [fn(session, actor, filters) for fn in TABLES.values()],
                "options": choices(session, actor), "names": measure_names(session)}
