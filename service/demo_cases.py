"""Demo cases standing at every stage of the procedure, under the demo call.

Each is driven through the real use cases (start_case, complete_task, send_message, start_designation) as
the demo users would, so the event log, work items and queues are exactly what using tejun produces:

| title | stands at | waiting for |
| --- | --- | --- |
| 量子センサを用いた生体計測の研究 | roster | a.security: the team roster |
| 量子鍵配送ネットワークの実証 | identification | a.researcher and b.researcher: their own disclosures |
| ダイヤモンドNV中心磁気センサの開発 | assessment | a.security: reviewing the proposed risk level |
| 光格子時計の小型化 | FA review | fa.officer: reviewing the submission (L3, with a mitigation plan) |
| 量子慣性センサによる測位 | additional mitigation | a.security: the measures the FA asked for |
| 超伝導量子ビットの読み出し回路 | accepted | nobody: waiting for the yearly follow-up |
| 量子イメージングによる非破壊検査 | follow-up | a.security: the follow-up report after a new member joined |
| 原子干渉計の基礎研究 | closed | nobody: the project has ended |
| 次世代量子計測プログラムの指定 | designation | fa.manager: approving the designation |

Idempotent: a case whose title is already there is left alone, so a second run adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from . import clock, consultations
from .auth.actor import SYSTEM, Actor
from .cases import commands
from .cases.designation import start_designation
from .cases.queries import task_form
from .clock import JST
from .forms import references
from .models import Call, Case, Organization, User, WorkItem
from .services import Services
from .unit_of_work import unit_of_work

CALL_CODE = "QS-2026-01"
LEAD, PARTNER, AGENCY = "toto-u", "saikai-u", "rpa"

ROSTER = "量子センサを用いた生体計測の研究"
DISCLOSURES = "量子鍵配送ネットワークの実証"
ASSESSMENT = "ダイヤモンドNV中心磁気センサの開発"
FA_REVIEW = "光格子時計の小型化"
ADDITIONAL = "量子慣性センサによる測位"
ACCEPTED = "超伝導量子ビットの読み出し回路"
FOLLOW_UP = "量子イメージングによる非破壊検査"
CLOSED = "原子干渉計の基礎研究"
DESIGNATION = "次世代量子計測プログラムの指定"
APPLICATION_TITLES = (ROSTER, DISCLOSURES, ASSESSMENT, FA_REVIEW, ADDITIONAL, ACCEPTED, FOLLOW_UP, CLOSED)


def _today() -> str:
    return clock.now().astimezone(JST).date().isoformat()


def _in_days(days: int) -> str:
    return (clock.now().astimezone(JST).date() + timedelta(days=days)).isoformat()


def _member(name: str, role: str, username: str | None = None, *, by_office: bool = False) -> dict:
    entry = {"name": name, "role": role, "consent_obtained": True, "consent_date": _today(),
             "filled_by": "security_office" if by_office else "self"}
    if username:
        entry["username"] = username
    return entry


def _disclosure(name: str, affiliation: str, *, disciplinary: bool = False) -> dict:
    return {"disclosure": {
        "identity": {"name": name, "affiliation": affiliation},
        "disciplinary_history": ({"has_history": True, "details": "2019年 研究費の不適切な経理（戒告）"}
                                 if disciplinary else {"has_history": False}),
        "restricted_list": {"currently_listed_affiliation": False, "listed_funding": False,
                            "past_listed_affiliation": False, "ties_to_listed_researchers": False},
        "certification": {"consent": True, "certified": True, "certification_date": _today()},
    }}


@dataclass
class _Demo:
    svc: Services
    call_id: int
    lead_id: int
    partner_id: int
    agency_id: int
    actors: dict[str, Actor] = field(default_factory=dict)

    # -- steps ---------------------------------------------------------------------------------------------
    def start(self, title: str, *, project_end_date=None) -> int:
        outcome = commands.start_case(
            self.svc, self.actors["a.security"], call_id=self.call_id, lead_institution_id=self.lead_id,
            title=title, partner_ids=(self.partner_id,), project_end_date=project_end_date,
        )
        return outcome.case_id

    def do(self, case_id: int, element_id: str, who: str, data: dict) -> None:
        with self.svc.db.reader() as session:
            task_id = session.scalars(
                select(WorkItem.task_id).where(WorkItem.case_id == case_id, WorkItem.element_id == element_id)
                .order_by(WorkItem.id)
            ).first()
        if task_id is None:
            raise RuntimeError(f"demo case {case_id}: no ready {element_id}")
        commands.complete_task(self.svc, self.actors[who], task_id, data)

    def prepared(self, case_id: int, element_id: str, who: str) -> dict:
        """What the model prepared for a task's form (e.g. the screening rows, one per subject)."""
        with self.svc.db.reader() as session:
            task_id = session.scalars(
                select(WorkItem.task_id).where(WorkItem.case_id == case_id, WorkItem.element_id == element_id)
            ).first()
            return task_form(session, self.actors[who], task_id)["data"]

    # -- stretches of the procedure ------------------------------------------------------------------------
    def roster(self, case_id: int) -> None:
        self.do(case_id, "fix_team_roster", "a.security", {"roster": {
            "project": {"title": self.title(case_id), "technology_areas": ["9", "10"], "export_controlled": False,
                        "dual_use": True},
            "members": [_member("伊藤 直樹", "pi", "a.researcher"),
                        _member("松本 結衣", "student", by_office=True)],
            "partners": [{"organization_id": self.partner_id, "name": "西海大学", "members": [
                _member("山本 大輔", "co_pi", "b.researcher")]}],
        }})

    def identification(self, case_id: int, *, disciplinary: bool = False) -> None:
        self.do(case_id, "fill_disclosure_on_behalf", "a.security", _disclosure("松本 結衣", "東都大学"))
        self.do(case_id, "record_managed_data", "a.security", {"managed_data_inventory": {"items": [
            {"title": "計測データ", "publication_status": "non_public", "storage_location": "学内ストレージ",
             "encryption": "both", "personal_data": "none", "custodian": "伊藤 直樹"}]}})
        self.do(case_id, "fill_disclosure", "a.researcher",
                _disclosure("伊藤 直樹", "東都大学", disciplinary=disciplinary))
        self.do(case_id, "fill_partner_member_disclosure", "b.researcher", _disclosure("山本 大輔", "西海大学"))
        # the partner's own risk management: its managed data, due diligence, the rubric's level confirmed
        self.do(case_id, "record_partner_managed_data", "b.security", {"managed_data_inventory": {"items": [
            {"title": "試料分析データ", "publication_status": "restricted_sharing", "storage_location": "学内サーバ",
             "encryption": "both", "personal_data": "none", "custodian": "山本 大輔"}]}})
        self.do(case_id, "partner_due_diligence_review", "b.security", {"partner_due_diligence": {
            "institution_profile": {"name_native": "西海大学", "country": "日本", "ownership": "public",
                                    "funding_sources": "運営費交付金", "listed": False,
                                    "legal_obligation_to_share": False, "purpose_alignment": "aligned"},
            "team_screening": [],
            "certification": {"certified": True, "certified_by": "西海大学 研究推進部", "certified_on": _today()},
        }})
        self.do(case_id, "review_partner_assessment", "b.security", {"partner_assessment_review": {
            "override": False, "mitigation_needed": False, "notes": "特段の懸念なし"}})
        rows = self.prepared(case_id, "record_screening_results", "a.security")["screening_results"]["results"]
        self.do(case_id, "record_screening_results", "a.security", {"screening_results": {"results": [
            {"subject_id": row["subject_id"], "subject_type": row.get("subject_type") or "person",
             "lists_checked": ["meti_end_user_list", "us_csl"], "screened_on": _today(), "match_status": "no_match"}
            for row in rows]}})

    def assessed_and_submitted(self, case_id: int, *, with_mitigation: bool = False) -> None:
        self.do(case_id, "review_risk_assessment", "a.security",
                {"assessment_review": {"override": False, "mitigation_needed": with_mitigation}})
        if with_mitigation:
            self.do(case_id, "plan_mitigation", "a.security", {"mitigation_plan": {"measures": [
                {"measure": "M5", "target": "M1", "owner": "研究推進部", "due_date": _in_days(90)},
                {"measure": "M8", "target": "M1", "owner": "研究推進部", "due_date": _in_days(90)}]}})
            self.do(case_id, "confirm_mitigation_feasibility", "a.researcher",
                    {"mitigation_feasibility": {"feasible": True, "confirmed_on": _today()}})
        self.do(case_id, "institutional_approval", "a.admin",
                {"institutional_approval": {"decision": "approve", "approved_on": _today()}})

    def submitted(self, case_id: int, **kwargs) -> None:
        self.roster(case_id)
        self.identification(case_id, **kwargs)
        self.assessed_and_submitted(case_id, with_mitigation=kwargs.get("disciplinary", False))

    def accepted(self, case_id: int) -> None:
        self.submitted(case_id)
        self.do(case_id, "review_submission", "fa.officer", {"fa_review": {"decision": "accept"}})
        self.do(case_id, "approve_review_outcome", "fa.manager", {"fa_outcome_approval": {"approved": True}})

    def title(self, case_id: int) -> str:
        with self.svc.db.reader() as session:
            return session.get(Case, case_id).title


def _roster(demo: _Demo, title: str) -> None:
    demo.start(title)


def _disclosures(demo: _Demo, title: str) -> None:
    case_id = demo.start(title)
    demo.roster(case_id)
    demo.do(case_id, "fill_disclosure_on_behalf", "a.security", _disclosure("松本 結衣", "東都大学"))


def _assessment(demo: _Demo, title: str) -> None:
    case_id = demo.start(title)
    demo.roster(case_id)
    demo.identification(case_id)


def _fa_review(demo: _Demo, title: str) -> None:
    case_id = demo.start(title)
    demo.submitted(case_id, disciplinary=True)
    # the FA and the lead's office consult on a measure during the review (an open thread)
    thread_id = consultations.open_thread(
        demo.svc, demo.actors["fa.officer"], case_id, subject="measure", measure="M5",
        title="研究データの持ち出し管理", body="M5 の対象に共同研究先との共有データを含めますか。")
    consultations.answer(demo.svc, demo.actors["a.security"], case_id, thread_id,
                         body="含めます。共有の手順は研究室の規程に従います。")


def _additional(demo: _Demo, title: str) -> None:
    case_id = demo.start(title)
    demo.submitted(case_id)
    demo.do(case_id, "review_submission", "fa.officer", {"fa_review": {
        "decision": "request_additional_mitigation", "response_due_date": _in_days(30),
        "requested_measures": [{"measure": "M7", "detail": "研究データへのアクセスに多要素認証を導入すること"}]}})


def _accepted(demo: _Demo, title: str) -> None:
    demo.accepted(demo.start(title))


def _follow_up(demo: _Demo, title: str) -> None:
    case_id = demo.start(title)
    demo.accepted(case_id)
    commands.send_message(demo.svc, demo.actors["a.security"], case_id, "member_added", {"trigger": {
        "kind": "member_added", "member": _member("小川 蓮", "participant", by_office=True)}})


def _closed(demo: _Demo, title: str) -> None:
    # the project ended yesterday; no case opens for a project already ended (service/cases/intake.py), so this
    # one was opened and accepted three days ago, and the timer worker's round now closes it
    now = clock.now()
    with clock.held_at(now - timedelta(days=3)):
        case_id = demo.start(title, project_end_date=now.astimezone(JST).date() - timedelta(days=1))
        demo.accepted(case_id)
    with unit_of_work(demo.svc) as session:
        commands.fire_timers(session, demo.svc, SYSTEM, case_id)


def _designation(demo: _Demo, title: str) -> None:
    outcome = start_designation(demo.svc, demo.actors["fa.officer"], funding_agency_id=demo.agency_id, title=title)
    demo.do(outcome.case_id, "draft_program_designation", "fa.officer", {"program_designation": {
        "program": {"code": "QM-2027", "title": "次世代量子計測研究開発プログラム",
                    "title_en": "Next-generation Quantum Metrology R&D Program"},
        "designation": {"scope": "whole_program", "technology_areas": ["9", "10", "5"],
                        "rationale": "量子計測・先端センサー技術を含み、技術流出防止の観点から指定する。"},
        "call": {"title": "令和9年度 公募", "risk_deadline": _in_days(180), "follow_up_interval": "P12M"},
    }})


# what the printed guide says about each demo case: (stage, who acts next and what they do)
GUIDE = {
    ROSTER: ("research team roster / 研究チーム名簿", "a.security: fix the team roster / 名簿を確定"),
    DISCLOSURES: ("(1) risk identification / リスクの特定",
                  "a.researcher, b.researcher: their own disclosures / 本人の申告"),
    ASSESSMENT: ("(2) risk assessment / リスク評価", "a.security: review the proposed risk level / 評価案の確認"),
    FA_REVIEW: ("FA review / 配分機関の確認", "fa.officer: review the submission (L3) / 提出内容の確認"),
    ADDITIONAL: ("additional mitigation / 追加の低減措置",
                 "a.security: plan the measures the FA asked for / 追加措置の計画"),
    ACCEPTED: ("accepted, yearly follow-up / 受理・年次フォローアップ待ち", "nobody yet / なし"),
    FOLLOW_UP: ("(4) follow-up / フォローアップ", "a.security: the follow-up report (new member) / 報告"),
    CLOSED: ("closed / 終了", "nobody: the project has ended / なし"),
    DESIGNATION: ("programme designation / プログラム指定", "fa.manager: approve the designation / 指定の承認"),
}

BUILDERS = {
    ROSTER: _roster, DISCLOSURES: _disclosures, ASSESSMENT: _assessment, FA_REVIEW: _fa_review,
    ADDITIONAL: _additional, ACCEPTED: _accepted, FOLLOW_UP: _follow_up, CLOSED: _closed,
}


def seed_demo_cases(svc: Services) -> list[int]:
    """Create the demo cases that are not there yet; returns the ids of the cases created."""
    references.forget()  # the demo organizations were just created: make them choices in the forms
    with svc.db.reader() as session:
        call = session.scalars(select(Call).where(Call.code == CALL_CODE)).one()
        orgs = {o.code: o.id for o in session.scalars(
            select(Organization).where(Organization.code.in_([LEAD, PARTNER, AGENCY])))}
        users = session.scalars(select(User).where(User.username.in_(
            ["a.security", "a.admin", "a.researcher", "b.security", "b.researcher", "fa.officer", "fa.manager"])))
        actors = {user.username: Actor.from_user(user) for user in users}
        existing = set(session.scalars(select(Case.title).where(
            (Case.call_id == call.id) | ((Case.kind == "designation") & (Case.funding_agency_id == orgs[AGENCY])))))
        before = set(session.scalars(select(Case.id)))
    demo = _Demo(svc, call.id, orgs[LEAD], orgs[PARTNER], orgs[AGENCY], actors)
    for title, build in BUILDERS.items():
        if title not in existing:
            build(demo, title)
    if DESIGNATION not in existing:
        _designation(demo, DESIGNATION)
    with svc.db.reader() as session:
        return sorted(set(session.scalars(select(Case.id))) - before)
