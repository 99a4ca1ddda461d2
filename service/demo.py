"""Demo data: a funding agency, two universities, a ministry, one user per role, a designated program with
an open call, and cases standing at every stage of the procedure. Idempotent: run it as often as you like.

Passwords are generated on first run and kept in `instance/demo-accounts.json` (mode 600), so the start
command can print them every time.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from . import clock
from .auth.actor import SYSTEM
from .auth.admin import ensure_organization, ensure_user, grant_role, set_password
from .models import Call, Organization, Program, TechnologyArea, TechnologyAreaList
from .reference.sync import sync_reference_data
from .services import Services
from .unit_of_work import unit_of_work

ORGANIZATIONS = [
    # code, name, name_en, kind
    ("rpa", "研究推進機構", "Research Promotion Agency", "funding_agency"),
    ("toto-u", "東都大学", "Toto University", "institution"),
    ("saikai-u", "西海大学", "Saikai University", "institution"),
    ("meti", "経済産業省", "Ministry of Economy, Trade and Industry", "ministry"),
]

USERS = [
    # username, display name, organization, role, scope
    ("fa.officer", "佐藤 花子", "rpa", "fa_officer", "organization"),
    ("fa.manager", "鈴木 一郎", "rpa", "fa_manager", "organization"),
    ("a.security", "高橋 美咲", "toto-u", "security_officer", "organization"),
    ("a.admin", "田中 健", "toto-u", "institution_admin", "organization"),
    ("a.researcher", "伊藤 直樹", "toto-u", "researcher", "organization"),
    ("b.security", "渡辺 由美", "saikai-u", "security_officer", "organization"),
    ("b.researcher", "山本 大輔", "saikai-u", "researcher", "organization"),
    ("ministry.officer", "中村 恵", "meti", "ministry_officer", "organization"),
    ("designer", "小林 誠", "rpa", "process_designer", "organization"),
    ("auditor", "加藤 聡子", "rpa", "auditor", "all"),
    ("admin", "吉田 修", "rpa", "system_admin", "organization"),
]
# the printed guide: which account to sign in with for each kind of user
KINDS = {
    "fa.officer": "funding agency case officer / 配分機関 担当者: reviews submissions, asks for measures",
    "fa.manager": "funding agency manager / 配分機関 管理者: approves outcomes and programme designations",
    "a.security": "research security officer, lead university / 研究セキュリティ担当（主たる機関）",
    "a.admin": "institution administrator / 機関管理者: institutional approval",
    "a.researcher": "researcher, lead university / 研究者（主たる機関）: own disclosure",
    "b.security": "research security officer, partner university / 研究セキュリティ担当（共同機関）",
    "b.researcher": "researcher, partner university / 研究者（共同機関）: own disclosure",
    "ministry.officer": "ministry officer / 省庁担当者: consultations",
    "designer": "process designer / プロセス設計者: models and forms",
    "auditor": "auditor / 監査担当: histories, reports, dossiers",
    "admin": "system administrator / システム管理者: organizations, users",
}
ERAD_NUMBERS = {"a.researcher": "10234567", "b.researcher": "20345678"}

PROGRAM_CODE = "QS-2026"
CALL_CODE = "QS-2026-01"


@dataclass
class DemoAccount:
    username: str
    display_name: str
    organization: str
    role: str
    password: str


def _passwords_file(svc: Services) -> Path:
    return Path(svc.settings.instance_path) / "demo-accounts.json"


def _stored_passwords(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(passwords, fh, indent=1)


def seed_demo(svc: Services, with_cases: bool = True) -> list[DemoAccount]:
    path = _passwords_file(svc)
    passwords = _stored_passwords(path)
    accounts = []
    with unit_of_work(svc) as session:
        sync_reference_data(session)
        orgs = {
            code: ensure_organization(session, SYSTEM, code=code, name=name, name_en=name_en, kind=kind)
            for code, name, name_en, kind in ORGANIZATIONS
        }
        for username, display, org_code, role, scope in USERS:
            password = passwords.get(username) or f"Tejun-{secrets.token_urlsafe(9)}"
            user, created = ensure_user(
                session, SYSTEM, username=username, display_name=display, email=f"{username}@example.jp",
                password=password, erad_researcher_number=ERAD_NUMBERS.get(username),
            )
            if not created and username not in passwords:
                set_password(session, SYSTEM, user, password)  # the file was lost: issue a new one
            passwords[username] = password
            grant_role(session, SYSTEM, user, orgs[org_code], role, scope)
            accounts.append(DemoAccount(username, display, orgs[org_code].name, role, password))
        _ensure_program(session, orgs["rpa"])
    _write_passwords(path, passwords)
    if with_cases:
        from .demo_cases import seed_demo_cases

        seed_demo_cases(svc)
    return accounts


def _ensure_program(session, fa: Organization) -> Program:
    program = session.scalars(select(Program).where(Program.code == PROGRAM_CODE)).first()
    if program is not None:
        return program
    areas = session.scalars(
        select(TechnologyArea)
        .join(TechnologyAreaList)
        .where(TechnologyAreaList.is_current.is_(True), TechnologyArea.code.in_(["9", "10"]))
    ).all()
    now = clock.now()
    program = Program(
        code=PROGRAM_CODE,
        title="先端量子センシング研究開発プログラム",
        title_en="Advanced Quantum Sensing R&D Program",
        funding_agency_id=fa.id,
        designated=True,
        designation_scope="whole",
        rationale="量子情報科学及び先端センサー技術を含み、技術流出防止の観点から特定研究開発プログラムに指定する。",
        designated_at=now,
        created_at=now,
        areas=list(areas),
    )
    session.add(program)
    session.flush()
    session.add(
        Call(
            program_id=program.id,
            code=CALL_CODE,
            title="令和8年度 公募",
            title_en="FY2026 call for proposals",
            # a deadline that is always ahead of a fresh demo, so its cases are not all late at once
            risk_deadline=(clock.now() + timedelta(days=66)).date(),
            follow_up_interval="P12M",
            status="open",
            published_at=now,
            created_at=now,
        )
    )
    return program




def guide(svc: Services, accounts: list[DemoAccount]) -> list[str]:
    """The lines `flask demo` prints: an account per kind of user, then which demo case stands at which stage."""
    from .demo_cases import GUIDE
    from .models import Case

    lines = ["Sign in at http://127.0.0.1:5000 as / ログインするアカウント:"]
    for account in accounts:
        lines.append(f"  {account.username:<17} {account.password:<22} {account.display_name} ({account.organization})")
        lines.append(f"  {'':<17} {KINDS.get(account.username, account.role)}")
    with svc.db.reader() as session:
        cases = {case.title: case for case in session.scalars(select(Case).where(Case.title.in_(list(GUIDE))))}
    if cases:
        lines.append("")
        lines.append("Demo cases / デモ案件 (reference, title: stage -> who acts next):")
        for title, (stage, who) in GUIDE.items():
            case = cases.get(title)
            if case is not None:
                lines.append(f"  {case.reference:<14} {title}")
                lines.append(f"  {'':<14} {stage} -> {who}")
    return lines
