"""Driving cases of the real procedure (bpmn/, forms/) to the screening task and beyond, through the use cases.

Form data follows docs/procedure.md §7.2. Rosters here have no partner unless asked, to keep cases short.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from service import clock
from service.cases import commands
from service.cases.queries import restore
from service.models import Case, Event, Notification, WorkItem
from service.screening.importers import import_list

JST = clock.JST
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "screening"


def today() -> str:
    return clock.now().astimezone(JST).date().isoformat()


def member(name: str, role: str, username: str | None = None, *, name_latin: str | None = None,
           filled_by: str = "self") -> dict:
    entry = {"name": name, "role": role, "consent_obtained": True, "consent_date": today(), "filled_by": filled_by}
    if username:
        entry["username"] = username
    if name_latin:
        entry["name_latin"] = name_latin
    return entry


def disclosure(name: str, **sections) -> dict:
    return {"disclosure": {
        "identity": {"name": name, "affiliation": "A大学"},
        "disciplinary_history": {"has_history": False},
        "restricted_list": {"currently_listed_affiliation": False, "listed_funding": False,
                            "past_listed_affiliation": False, "ties_to_listed_researchers": False},
        "certification": {"consent": True, "certified": True, "certification_date": today()},
        **sections,
    }}


class Driver:
    def __init__(self, svc, world):
        from service.forms import references

        self.svc, self.world = svc, world
        references.forget()  # the world's organizations are new: forms listing institutions must see them

    def actor(self, who: str):
        return self.world.actor(who)

    def items(self, case_id: int, element_id: str | None = None) -> list[WorkItem]:
        with self.svc.db.reader() as session:
            query = select(WorkItem).where(WorkItem.case_id == case_id).order_by(WorkItem.id)
            if element_id:
                query = query.where(WorkItem.element_id == element_id)
            return list(session.scalars(query))

    def item(self, case_id: int, element_id: str) -> WorkItem:
        found = self.items(case_id, element_id)
        assert len(found) == 1, (element_id, [i.element_id for i in self.items(case_id)])
        return found[0]

    def ready(self, case_id: int) -> list[str]:
        return sorted(i.element_id for i in self.items(case_id))

    def task_data(self, case_id: int, task_id: str) -> dict:
        with self.svc.db.reader() as session:
            return dict(restore(session, session.get(Case, case_id)).human_task(task_id).data)

    def case(self, case_id: int) -> Case:
        with self.svc.db.reader() as session:
            return session.get(Case, case_id)

    def value(self, case_id: int, key: str):
        with self.svc.db.reader() as session:
            return restore(session, session.get(Case, case_id)).lookup(key)

    def events(self, case_id: int, action: str | None = None) -> list[Event]:
        with self.svc.db.reader() as session:
            query = select(Event).where(Event.case_id == case_id).order_by(Event.seq)
            if action:
                query = query.where(Event.action == action)
            return list(session.scalars(query))

    def notifications(self, who: str, kind: str) -> list[Notification]:
        with self.svc.db.reader() as session:
            return list(session.scalars(select(Notification).where(
                Notification.user_id == self.world.users[who], Notification.kind == kind)))

    def complete(self, case_id: int, element_id: str, data: dict, who: str = "security", index: int = 0):
        items = self.items(case_id, element_id)
        return commands.complete_task(self.svc, self.actor(who), items[index].task_id, data)

    # -- the procedure up to screening -------------------------------------------------------------------------
    def start(self, title: str = "量子センサの研究") -> int:
        return commands.start_case(self.svc, self.actor("security"), call_id=self.world.call_id,
                                   lead_institution_id=self.world.lead_id, title=title).case_id

    def roster(self, case_id: int, members: list[dict], partners: list[dict] | None = None) -> None:
        self.complete(case_id, "fix_team_roster", {"roster": {
            "project": {"title": "量子センサの研究", "technology_areas": ["9"], "export_controlled": False,
                        "dual_use": True},
            "members": members, "partners": partners or []}})

    def disclose_all(self, case_id: int, extra: dict[str, dict] | None = None) -> None:
        """Every open disclosure: researchers their own, the office the rest (extra: member_id -> sections)."""
        extra = extra or {}
        for _ in range(20):
            open_items = [i for i in self.items(case_id) if i.form == "disclosure.schema.json"]
            if not open_items:
                return
            item = open_items[0]
            member = self.task_data(case_id, item.task_id)["member"]
            who = "security"
            for name in ("researcher", "researcher2", "partner_researcher"):
                if item.assignee_id == self.world.users[name]:
                    who = name
            if item.element_id == "fill_partner_member_disclosure_on_behalf":
                who = "partner_security"
            commands.complete_task(self.svc, self.actor(who), item.task_id,
                                   disclosure(member["name"], **extra.get(member["member_id"], {})))
        raise AssertionError("disclosures did not finish")

    def partner_due_diligence(self, case_id: int) -> None:
        """The partner's own risk management: its managed data, due diligence, the rubric's level confirmed."""
        partner = self.actor("partner_security")
        for item in self.items(case_id, "record_partner_managed_data"):
            commands.complete_task(self.svc, partner, item.task_id, {"managed_data_inventory": {"items": []}})
        for item in self.items(case_id, "partner_due_diligence_review"):
            commands.complete_task(self.svc, partner, item.task_id, {"partner_due_diligence": {
                "institution_profile": {"name_native": "B大学", "country": "日本", "ownership": "public",
                                        "funding_sources": "運営費交付金", "listed": False,
                                        "legal_obligation_to_share": False, "purpose_alignment": "aligned"},
                "team_screening": [],
                "certification": {"certified": True, "certified_by": "B大学", "certified_on": today()}}})
        for item in self.items(case_id, "review_partner_assessment"):
            commands.complete_task(self.svc, partner, item.task_id, {"partner_assessment_review": {
                "override": False, "mitigation_needed": False}})

    def managed_data(self, case_id: int, unchanged: bool = False) -> None:
        data = {"inventory_unchanged": True, "items": []} if unchanged else {"items": [
            {"title": "測定データ", "publication_status": "public", "storage_location": "学内NAS",
             "encryption": "both", "personal_data": "none", "custodian": "PI"}]}
        self.complete(case_id, "record_managed_data", {"managed_data_inventory": data})

    def to_screening(self, members: list[dict], partners: list[dict] | None = None,
                     extra: dict[str, dict] | None = None) -> int:
        case_id = self.start()
        self.roster(case_id, members, partners)
        self.disclose_all(case_id, extra)
        self.partner_due_diligence(case_id)
        self.managed_data(case_id)
        assert "record_screening_results" in self.ready(case_id), self.ready(case_id)
        return case_id

    def screening_form(self, case_id: int) -> dict:
        item = self.item(case_id, "record_screening_results")
        return self.task_data(case_id, item.task_id)["screening_results"]

    def submit_screening(self, case_id: int, rows: list[dict] | None = None):
        if rows is None:
            # the pre-filled rows; filled by hand where no list has been imported (screening skipped)
            rows = [{"lists_checked": ["other"], "screened_on": today(), "match_status": "no_match", **row}
                    for row in self.screening_form(case_id)["results"]]
        return self.complete(case_id, "record_screening_results", {"screening_results": {"results": rows}})

    def to_acceptance(self, case_id: int) -> None:
        """From the screening task to an accepted case waiting between follow-ups."""
        self.submit_screening(case_id)
        self.complete(case_id, "review_risk_assessment", {"assessment_review": {"override": False,
                                                                                 "mitigation_needed": False}})
        if self.items(case_id, "plan_mitigation"):
            self.complete(case_id, "plan_mitigation", {"mitigation_plan": {"measures": [
                {"measure": "M5", "target": "project", "owner": "研究推進部", "due_date": "2027-09-30"}]}})
            self.complete(case_id, "confirm_mitigation_feasibility",
                          {"mitigation_feasibility": {"feasible": True, "confirmed_on": today()}}, who="researcher")
        self.complete(case_id, "institutional_approval",
                      {"institutional_approval": {"decision": "approve", "approved_on": today()}}, who="admin")
        self.complete(case_id, "review_submission", {"fa_review": {"decision": "accept"}}, who="fa_officer")
        self.complete(case_id, "approve_review_outcome", {"fa_outcome_approval": {"approved": True}},
                      who="fa_manager")
        assert self.value(case_id, "outcome") == "accepted", self.ready(case_id)


def import_sample(svc, source: str, name: str, **kwargs):
    from service.auth.actor import SYSTEM

    return import_list(svc, SYSTEM, source, SAMPLES / name, **kwargs)
