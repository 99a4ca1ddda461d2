"""The subjects of a screening: the people and organizations of a screening task's rows, with every other name
the case knows for them (disclosures, partner profiles, registered names) and their disclosed affiliations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from ..models import Organization, ScreeningSubject
from .lists import today


@dataclass
class Subject:
    subject_id: str
    subject_type: str  # person | organization
    name: str
    aliases: list[dict] = field(default_factory=list)  # {"label", "name"}
    affiliations: list[dict] = field(default_factory=list)  # {"label", "name", "relation", "end_year"}

    def names(self) -> list[tuple[str, str]]:
        return [("name", self.name)] + [(a["label"], a["name"]) for a in self.aliases]

    def add_alias(self, label: str, name) -> None:
        name = str(name or "").strip()
        if name and name != self.name and all(a["name"] != name for a in self.aliases):
            self.aliases.append({"label": label, "name": name})


def _year(value) -> int | None:
    try:
        return int(str(value)[:4])
    except (TypeError, ValueError):
        return None


def affiliations_of(disclosure: dict, on: date) -> list[dict]:
    """Organizations a person's disclosure ties them to, with the relation each would mean if listed."""
    found: list[dict] = []

    def add(label, name, relation, end_year=None):
        name = str(name or "").strip()
        if name and not any(a["name"] == name and a["relation"] == relation for a in found):
            found.append({"label": label, "name": name, "relation": relation, "end_year": end_year})

    identity = disclosure.get("identity") or {}
    add("affiliation", identity.get("affiliation"), "current_affiliation")
    for item in disclosure.get("appointments") or []:
        end = item.get("end_date")
        current = item.get("current") or not end or str(end) >= on.isoformat()
        add("appointment", item.get("institution"), "current_affiliation" if current else "past_affiliation",
            None if current else _year(end))
    for item in disclosure.get("education") or []:
        end_year = _year(item.get("year_to"))
        current = end_year is None or end_year >= on.year
        add("education", item.get("institution"), "current_affiliation" if current else "past_affiliation",
            None if current else end_year)
    for item in disclosure.get("research_funding") or []:
        add("funding", item.get("funder"), "current_funding")
    for item in disclosure.get("non_research_support") or []:
        add("support", item.get("provider"), "current_funding")
    for item in disclosure.get("talent_programs") or []:
        add("talent_program", item.get("sponsor"), "ties_to_listed_researchers")
    return found


def subjects_from_task(session: Session, data: dict) -> list[Subject]:
    """The subjects of a screening task: its draft's rows, with every other name the case knows for them."""
    rows = ((data.get("screening_results") or {}).get("results")) or []
    members: dict[str, dict] = {}
    partners: dict[str, dict] = {}
    for member in data.get("identification_members") or data.get("members") or []:
        members[str(member.get("member_id"))] = member
    for partner in data.get("identification_partners") or data.get("partners") or []:
        partners[str(partner.get("partner_id"))] = partner
        for member in partner.get("members") or []:
            members[str(member.get("member_id"))] = member
    disclosures: dict[str, dict] = {}
    profiles: dict[str, dict] = {}
    for record in (data.get("disclosures") or []) + (data.get("new_disclosures") or []):
        disclosures[str(record.get("member_id"))] = record.get("disclosure") or {}
    for result in (data.get("partner_results") or []) + (data.get("new_partner_results") or []):
        profiles[str(result.get("partner_id"))] = (result.get("due_diligence") or {}).get("institution_profile") or {}
        for record in result.get("disclosures") or []:
            disclosures[str(record.get("member_id"))] = record.get("disclosure") or {}
    on = today()
    subjects = []
    for row in rows:
        subject_id = str(row.get("subject_id") or "").strip()
        if not subject_id:
            continue
        kind = "organization" if row.get("subject_type") == "organization" else "person"
        subject = Subject(subject_id, kind, str(row.get("subject_name") or "").strip())
        if kind == "person":
            member = members.get(subject_id) or {}
            disclosure = disclosures.get(subject_id) or {}
            identity = disclosure.get("identity") or {}
            subject.name = subject.name or str(member.get("name") or identity.get("name") or subject_id)
            subject.add_alias("name", member.get("name"))
            subject.add_alias("name_latin", member.get("name_latin"))
            subject.add_alias("disclosed_name", identity.get("name"))
            subject.add_alias("disclosed_name_latin", identity.get("name_latin"))
            subject.affiliations = affiliations_of(disclosure, on)
        else:
            partner = partners.get(subject_id) or {}
            profile = profiles.get(subject_id) or {}
            subject.name = subject.name or str(partner.get("name") or profile.get("name_native") or subject_id)
            subject.add_alias("name", partner.get("name"))
            subject.add_alias("name_latin", partner.get("name_latin"))
            subject.add_alias("name_native", profile.get("name_native"))
            subject.add_alias("name_latin", profile.get("name_latin"))
            organization = session.get(Organization, partner["organization_id"]) if _int(
                partner.get("organization_id")) else None
            if organization is not None:
                subject.add_alias("registered_name", organization.name)
                subject.add_alias("registered_name_en", organization.name_en)
        subjects.append(subject)
    return subjects


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def subject_of_row(row: ScreeningSubject) -> Subject:
    """A subject as stored for a case (what re-screening searches for)."""
    return Subject(row.subject_id, row.subject_type, row.name, list(row.aliases or []), list(row.affiliations or []))
