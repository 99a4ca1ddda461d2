"""Driving research-security cases through the service layer, as the people of a test `World` would.

Everything goes through the use cases (`service.cases.commands`, the timer worker): start a case as the lead
institution's security officer, find the ready work item a person should see, complete it as that person,
deliver messages, let time pass. Form data is the minimal valid data of docs/procedure.md §7.2, built for the
world's organizations and people.

The roster of every case here: the PI and a participant (the world's two lead researchers, who fill their
own disclosures), a student whose disclosure the security office fills, and (unless `partner=False`) the
partner institution with its Co-PI (the world's partner researcher) and a participant whose disclosure the
partner's office fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from service import clock
from service.auth.actor import Actor
from service.cases import commands
from service.cases.commands import Outcome
from service.cases.queries import restore
from service.errors import ValidationFailed
from service.models import Case, CaseState, Event, WorkItem
from service.worker.timers import run_once

JST = clock.JST


def today() -> date:
    """Today in Japan on tejun's clock (what the models' scripts see)."""
    return clock.now().astimezone(JST).date()


def iso(day: date) -> str:
    return day.isoformat()


# -- form data (docs/procedure.md §7.2) -----------------------------------------------------------------------
def member(name: str, role: str, username: str | None = None, filled_by: str = "self") -> dict:
    entry = {"name": name, "role": role, "consent_obtained": True, "consent_date": iso(today()),
             "filled_by": filled_by}
    if username:
        entry["username"] = username
    return entry


def roster(world, *, partner: bool = True, end_date: date | None = None) -> dict:
    project = {"title": "量子センサの研究", "technology_areas": ["9", "10"], "export_controlled": False,
               "dual_use": True}
    if end_date is not None:
        project["end_date"] = iso(end_date)
    partners = []
    if partner:
        partners.append({"organization_id": world.partner_id, "name": "B大学", "members": [
            member("田中 次郎", "co_pi", world.username("partner_researcher")),
            member("高橋 三郎", "participant", filled_by="security_office"),
        ]})
    return {"roster": {
        "project": project,
        "members": [
            member("山田 太郎", "pi", world.username("researcher")),
            member("佐藤 花子", "participant", world.username("researcher2")),
            member("鈴木 一郎", "student", filled_by="security_office"),
        ],
        "partners": partners,
    }}


def disclosure(name: str, *, disciplinary: bool = False) -> dict:
    history = {"has_history": True, "details": "2019年 研究費の不適切な経理（戒告）"} if disciplinary else {
        "has_history": False}
    return {"disclosure": {
        "identity": {"name": name, "affiliation": "A大学"},
        "disciplinary_history": history,
        "restricted_list": {"currently_listed_affiliation": False, "listed_funding": False,
                            "past_listed_affiliation": False, "ties_to_listed_researchers": False},
        "certification": {"consent": True, "certified": True, "certification_date": iso(today())},
    }}


def partner_due_diligence(team_screening: list[dict] | None = None) -> dict:
    """The partner's profile, its team's screening and its certification (its level comes from the rubric)."""
    return {"partner_due_diligence": {
        "institution_profile": {"name_native": "B大学", "country": "日本", "ownership": "public",
                                "funding_sources": "運営費交付金", "listed": False,
                                "legal_obligation_to_share": False, "purpose_alignment": "aligned"},
        "team_screening": team_screening or [],
        "certification": {"certified": True, "certified_by": "B大学 研究推進部", "certified_on": iso(today())},
    }}


PARTNER_MANAGED_DATA = {"managed_data_inventory": {"items": [
    {"title": "試料測定データ", "publication_status": "non_public", "storage_location": "B大学 研究室サーバ",
     "encryption": "at_rest", "personal_data": "none", "custodian": "田中 次郎"}]}}


def partner_assessment_review(level: str | None = None, *, share: bool = False,
                              mitigation_needed: bool = False) -> dict:
    """The partner confirms the rubric's level (or sets `level`, with a reason)."""
    review = {"override": level is not None, "mitigation_needed": mitigation_needed,
              "share_disclosures_with_lead": share}
    if level is not None:
        review.update(overridden_level=level, override_reason="研究室の管理体制を踏まえて判断")
    return {"partner_assessment_review": review}


def partner_mitigation_plan(measure: str = "M6", target: str = "P1-M2") -> dict:
    return {"partner_mitigation_plan": {"summary": "B大学側の措置", "measures": [
        {"measure": measure, "target": target, "owner": "B大学 研究推進部",
         "due_date": iso(today() + timedelta(days=60))}]}}


MANAGED_DATA = {"managed_data_inventory": {"items": [
    {"title": "測定データ", "publication_status": "non_public", "storage_location": "学内NAS",
     "encryption": "both", "personal_data": "none", "custodian": "山田 太郎"}]}}
MANAGED_DATA_UNCHANGED = {"managed_data_inventory": {"inventory_unchanged": True, "items": []}}


def screening(rows: list[dict]) -> dict:
    """One no-match row per subject the task's draft lists (`rows` = the draft's `results`)."""
    return {"screening_results": {"results": [
        {"subject_id": row["subject_id"], "subject_type": row.get("subject_type") or "person",
         "lists_checked": ["meti_end_user_list", "us_csl"], "screened_on": iso(today()), "match_status": "no_match"}
        for row in rows
    ]}}


ASSESSMENT_AS_PROPOSED = {"assessment_review": {"override": False, "mitigation_needed": False}}


def approve() -> dict:
    return {"institutional_approval": {"decision": "approve", "approved_on": iso(today())}}


def fa_review(decision: str, **fields) -> dict:
    return {"fa_review": {"decision": decision, **fields}}


def mitigation_plan(target: str = "M2") -> dict:
    return {"mitigation_plan": {"measures": [
        {"measure": "M5", "target": target, "owner": "研究推進部", "due_date": iso(today() + timedelta(days=120))}]}}


def feasible(root: str = "additional_feasibility") -> dict:
    return {root: {"feasible": True, "confirmed_on": iso(today())}}


def additional_mitigation(round_no: int) -> dict:
    return {"additional_mitigation": {
        "response_summary": f"第{round_no}回 追加措置: 多要素認証を導入する",
        "measures": [{"measure": "M7", "target": "project", "owner": "情報基盤センター",
                      "due_date": iso(today() + timedelta(days=90))}],
    }}


OUTCOME_APPROVED = {"fa_outcome_approval": {"approved": True}}
ADDITIONAL_APPROVED = {"additional_mitigation_approval": {"decision": "approve"}}
FOLLOW_UP_CONFIRMED = {"follow_up_confirmation": {"decision": "confirmed"}}


def follow_up_report(kind: str, *, new_members: list[dict] | None = None) -> dict:
    report = {"trigger_kind": kind, "measures_status": [], "reassessment_required": bool(new_members)}
    if new_members:
        report["new_members"] = new_members
    return {"follow_up_report": report}


# -- the driver ---------------------------------------------------------------------------------------------
@dataclass
class Done:
    """A work item as it was when someone completed it, and what the use case answered."""

    item: WorkItem
    outcome: Outcome


class Driver:
    def __init__(self, svc, world):
        self.svc = svc
        self.world = world
        self._actors: dict[str, Actor] = {}

    def actor(self, who: str) -> Actor:
        if who not in self._actors:
            self._actors[who] = self.world.actor(who)
        return self._actors[who]

    # -- reading ------------------------------------------------------------------------------------------
    def case(self, case_id: int) -> Case:
        with self.svc.db.reader() as session:
            case = session.get(Case, case_id)
            _ = case.parties  # loaded while the session is open
            return case

    def items(self, case_id: int, element_id: str | None = None) -> list[WorkItem]:
        with self.svc.db.reader() as session:
            query = select(WorkItem).where(WorkItem.case_id == case_id).order_by(WorkItem.id)
            if element_id:
                query = query.where(WorkItem.element_id == element_id)
            return list(session.scalars(query).all())

    def item(self, case_id: int, element_id: str) -> WorkItem:
        found = self.items(case_id, element_id)
        assert len(found) == 1, (
            f"expected one ready {element_id}, found {len(found)}; ready: {self.ready(case_id)}"
        )
        return found[0]

    def ready(self, case_id: int) -> list[str]:
        return sorted(item.element_id for item in self.items(case_id))

    def task_data(self, case_id: int, task_id: str) -> dict:
        """The data the engine holds for a ready task (what scripts put there for it)."""
        with self.svc.db.reader() as session:
            flow = restore(session, session.get(Case, case_id))
            return dict(flow.human_task(task_id).data)

    def value(self, case_id: int, key: str):
        """A case data value as the case sees it now."""
        with self.svc.db.reader() as session:
            return restore(session, session.get(Case, case_id)).lookup(key)

    def waiting_messages(self, case_id: int) -> set[str]:
        with self.svc.db.reader() as session:
            return {m.name for m in restore(session, session.get(Case, case_id)).waiting_messages()}

    def state_size(self, case_id: int) -> int:
        with self.svc.db.reader() as session:
            return len(session.get(CaseState, case_id).state)

    def events(self, case_id: int, action: str | None = None) -> list[Event]:
        with self.svc.db.reader() as session:
            query = select(Event).where(Event.case_id == case_id).order_by(Event.seq)
            if action:
                query = query.where(Event.action == action)
            return list(session.scalars(query).all())

    def engine_trail(self, case_id: int) -> list[str]:
        """Every BPMN element the engine completed in the case, in order, from the event log."""
        return [element for event in self.events(case_id) for element in (event.data or {}).get("completed", [])]

    # -- acting -------------------------------------------------------------------------------------------
    def start(self, *, title: str = "量子センサの研究", who: str = "security", partner: bool = True,
              project_end_date: date | None = None, variant: str = "domestic") -> int:
        outcome = commands.start_case(
            self.svc, self.actor(who), call_id=self.world.call_id, lead_institution_id=self.world.lead_id,
            title=title, variant=variant, partner_ids=(self.world.partner_id,) if partner else (),
            project_end_date=project_end_date,
        )
        assert outcome.error is None, outcome.error
        return outcome.case_id

    def do(self, case_id: int, element_id: str, who: str, data: dict, *, index: int = 0) -> Done:
        """Complete the `index`-th ready `element_id` as `who`; returns the item as it was routed."""
        found = self.items(case_id, element_id)
        assert found, f"no ready {element_id}; ready: {self.ready(case_id)}"
        item = found[index]
        try:
            outcome = commands.complete_task(self.svc, self.actor(who), item.task_id, data,
                                             expected_version=self.case(case_id).version)
        except ValidationFailed as exc:
            raise AssertionError(f"{element_id}: the form refused the data: {exc.errors}") from None
        assert outcome.error is None, outcome.error
        return Done(item, outcome)

    def send(self, case_id: int, who: str, name: str, payload: dict | None = None) -> Outcome:
        outcome = commands.send_message(self.svc, self.actor(who), case_id, name, payload or {})
        assert outcome.error is None, outcome.error
        return outcome

    def tick(self) -> list[int]:
        """One round of the timer worker at the current (travelled) time."""
        return run_once(self.svc)

    # -- stretches of the procedure (docs/procedure.md §7.3) ----------------------------------------------
    def roster(self, case_id: int, *, partner: bool = True, end_date: date | None = None) -> Done:
        return self.do(case_id, "fix_team_roster", "security", roster(self.world, partner=partner,
                                                                       end_date=end_date))

    def disclosures(self, case_id: int, *, disciplinary: str | None = None) -> dict[str, Done]:
        """Every member's disclosure, each by the person it is routed to; returns them by member name."""
        done: dict[str, Done] = {}
        personal = {self.world.username("researcher"): "researcher",
                    self.world.username("researcher2"): "researcher2",
                    self.world.username("partner_researcher"): "partner_researcher"}
        for element_id, office in (("fill_disclosure", None), ("fill_disclosure_on_behalf", "security"),
                                   ("fill_partner_member_disclosure", None),
                                   ("fill_partner_member_disclosure_on_behalf", "partner_security")):
            while self.items(case_id, element_id):
                item = self.items(case_id, element_id)[0]
                person = self.task_data(case_id, item.task_id)["member"]
                who = office or personal[person["username"]]
                done[person["name"]] = self.do(case_id, element_id, who,
                                               disclosure(person["name"], disciplinary=person["name"] == disciplinary))
        return done

    def identification(self, case_id: int, *, partner: bool = True, disciplinary: str | None = None,
                       managed_data: dict = MANAGED_DATA) -> dict[str, Done]:
        """① from the ready disclosures to the recorded screening results."""
        done = self.disclosures(case_id, disciplinary=disciplinary)
        if partner:
            done.update(self.partner_risk_management(case_id))
        done["record_managed_data"] = self.do(case_id, "record_managed_data", "security", managed_data)
        item = self.item(case_id, "record_screening_results")
        rows = self.task_data(case_id, item.task_id)["screening_results"]["results"]
        done["record_screening_results"] = self.do(case_id, "record_screening_results", "security",
                                                   screening(rows))
        return done

    def partner_risk_management(self, case_id: int, *, level: str | None = None, share: bool = False,
                                measures: bool = False) -> dict[str, Done]:
        """The partner's own risk management after its team disclosed: its managed data, due diligence, the
        rubric's level confirmed (or `level`), its own measures when `measures` (or when the level needs them)."""
        done = {"record_partner_managed_data": self.do(case_id, "record_partner_managed_data", "partner_security",
                                                       PARTNER_MANAGED_DATA)}
        done["partner_due_diligence_review"] = self.do(case_id, "partner_due_diligence_review", "partner_security",
                                                       partner_due_diligence())
        done["review_partner_assessment"] = self.do(case_id, "review_partner_assessment", "partner_security",
                                                    partner_assessment_review(level, share=share,
                                                                              mitigation_needed=measures))
        if self.items(case_id, "plan_partner_mitigation"):
            done["plan_partner_mitigation"] = self.do(case_id, "plan_partner_mitigation", "partner_security",
                                                      partner_mitigation_plan())
        return done

    def to_fa_review(self, case_id: int, *, partner: bool = True) -> None:
        """Prefix A: roster, ①, ② as proposed (L0, no mitigation), institutional approval: the FA reviews."""
        self.roster(case_id, partner=partner)
        self.identification(case_id, partner=partner)
        self.do(case_id, "review_risk_assessment", "security", ASSESSMENT_AS_PROPOSED)
        self.do(case_id, "institutional_approval", "admin", approve())

    def additional_round(self, case_id: int, round_no: int) -> None:
        """The FA asks for more; the office plans it, the institution approves and resubmits."""
        self.do(case_id, "review_submission", "fa_officer", fa_review(
            "request_additional_mitigation", requested_measures=[{"measure": "M7", "detail": "多要素認証の導入"}]))
        self.do(case_id, "plan_additional_mitigation", "security", additional_mitigation(round_no))
        self.do(case_id, "confirm_additional_feasibility", "researcher", feasible())  # the PI, again
        self.do(case_id, "approve_additional_mitigation", "admin", ADDITIONAL_APPROVED)

    def accept(self, case_id: int) -> None:
        self.do(case_id, "review_submission", "fa_officer", fa_review("accept"))
        self.do(case_id, "approve_review_outcome", "fa_manager", OUTCOME_APPROVED)
