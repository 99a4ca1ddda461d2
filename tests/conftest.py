"""Shared fixtures: a real database built by the migrations (SQLite, or PostgreSQL when
TEJUN_TEST_DATABASE_URL points at one), the real app, and factories for organizations, users and cases.

PostgreSQL runs get a schema of their own (dropped at the end), so parallel runs never collide.
"""

from __future__ import annotations

import itertools
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

# argon2's cheapest parameters for the hundreds of users tests create (subprocesses inherit it); set before
# service.auth.passwords is imported. Production keeps the RFC 9106 profile (docs/security.md).
os.environ.setdefault("TEJUN_PASSWORD_HASH_PROFILE", "cheapest")

from service import clock
from service.app import create_app
from service.auth.actor import SYSTEM, Actor
from service.auth.admin import ensure_organization, ensure_user, grant_role
from service.config import Settings
from service.designer.store import read_model_dirs, store_version
from service.migrate import upgrade
from service.models import Call, Program, User
from service.unit_of_work import unit_of_work

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
PASSWORD = "Correct-Horse-42"
_counter = itertools.count(1)


def pytest_collection_modifyitems(config, items):
    """Modules holding a test marked `slow` run first, each module's tests staying together (its module fixtures
    are built once). The parallel pass (`-n 2 --dist worksteal`) then starts its long tests early, and the other
    worker steals the short ones from the end, instead of the pass ending on one long test while the other
    worker sits idle."""
    slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow)  # stable: keeps each module's order
    # A test that uses no database fixture (every one starts at `database_url`) does the same on SQLite as on
    # PostgreSQL: it is one_pass, unless its module reads the database address itself (subprocesses, drills).
    reads_address: dict[Path, bool] = {}
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            continue
        if item.path not in reads_address:
            reads_address[item.path] = "TEJUN_TEST_DATABASE_URL" in item.path.read_text(encoding="utf-8")
        if not reads_address[item.path]:
            item.add_marker(pytest.mark.one_pass)


# A test whose call takes longer than this without the `slow` marker is named at the end of the run: mark it slow
# (it is then scheduled first) or make it faster. Wall seconds, so a busy machine names more of them.
UNMARKED_SLOW_SECONDS = 10.0
_unmarked_slow: list[tuple[float, str]] = []


def pytest_runtest_logreport(report):
    if report.when == "call" and report.duration > UNMARKED_SLOW_SECONDS and "slow" not in report.keywords:
        _unmarked_slow.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter):
    if _unmarked_slow:
        terminalreporter.section(f"tests over {UNMARKED_SLOW_SECONDS:.0f} s not marked slow")
        for duration, nodeid in sorted(_unmarked_slow, reverse=True):
            terminalreporter.write_line(f"{duration:7.2f}s {nodeid}")


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEJUN_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'tejun-test.sqlite3'}"
        return
    schema = f"tejun_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(url, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def settings(database_url, tmp_path_factory) -> Settings:
    upgrade(database_url)
    instance = tmp_path_factory.mktemp("instance")
    return Settings.from_env(
        instance_path=instance,
        database_url=database_url,
        secret_key="test-secret-key-" + secrets.token_hex(8),
        upload_dir=instance / "uploads",
        db_pool_size=10,
    )


@pytest.fixture(scope="session")
def app(settings):
    application = create_app(settings)
    application.config.update(TESTING=True)
    svc = application.extensions["tejun"]
    from service.reference.sync import sync_reference_data

    with unit_of_work(svc) as session:
        sync_reference_data(session)
        if settings.bpmn_dir.is_dir() and any(settings.bpmn_dir.glob("*.bpmn")):
            store_version(session, read_model_dirs(settings.bpmn_dir, settings.forms_dir), status="published")
    yield application
    svc.db.dispose()


@pytest.fixture
def svc(app):
    return app.extensions["tejun"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    clock.reset()


@pytest.fixture
def travel():
    """A clock that stands still until the test moves it: `travel.advance(days=31)`."""
    moving = clock.TravellingClock(datetime(2026, 4, 1, 9, 0, tzinfo=UTC))
    clock.set_source(moving)
    return moving


def model_set(svc, folder: str, set_name: str | None = None, validate: bool = True) -> int:
    """Store a test model folder (tests/data/models/<folder>) as a published version of its own set."""
    from service.designer.store import insert_version

    files = {p.name: p.read_bytes() for p in sorted((DATA / "models" / folder).iterdir()) if p.is_file()}
    with unit_of_work(svc) as session:
        if validate:
            version, _ = store_version(session, files, set_name=set_name or f"test-{folder}", status="published")
        else:
            version = insert_version(session, files, set_name=set_name or f"test-{folder}", status="published")
        return version.id


@dataclass
class World:
    """One funding agency with a program and an open call, two institutions, and people in every role."""

    svc: object
    tag: str
    fa_id: int = 0
    lead_id: int = 0
    partner_id: int = 0
    ministry_id: int = 0
    program_id: int = 0
    call_id: int = 0
    users: dict[str, int] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        with self.svc.db.reader() as session:
            return Actor.from_user(session.get(User, self.users[name]))

    def username(self, name: str) -> str:
        return f"{self.tag}-{name}"


PEOPLE = {
    # name: (organization, role, scope)
    "fa_officer": ("fa", "fa_officer", "organization"),
    "fa_officer2": ("fa", "fa_officer", "organization"),
    "fa_manager": ("fa", "fa_manager", "organization"),
    "security": ("lead", "security_officer", "organization"),
    "security2": ("lead", "security_officer", "organization"),
    "admin": ("lead", "institution_admin", "organization"),
    "researcher": ("lead", "researcher", "organization"),
    "researcher2": ("lead", "researcher", "organization"),
    "partner_security": ("partner", "security_officer", "organization"),
    "partner_researcher": ("partner", "researcher", "organization"),
    "ministry": ("ministry", "ministry_officer", "organization"),
    "designer": ("fa", "process_designer", "organization"),
    "auditor": ("fa", "auditor", "all"),
    "fa_auditor": ("fa", "auditor", "fa"),
    "sysadmin": ("fa", "system_admin", "organization"),
}


def make_world(svc, tag: str | None = None, *, lead_code: str | None = None, program: tuple[str, str] = (
        "プログラム", "program"), call: tuple[str, str | None] = ("公募", None),
        risk_deadline: date = date(2027, 1, 29)) -> World:
    """The one world builder: an FA with a designated programme and an open call, a lead institution (or the
    institution with `lead_code`, another world's), a partner, a ministry, and a person in every role of PEOPLE.
    Names carry `tag`, so worlds never collide in the session's database. `program` and `call` are the titles
    (ja, en)."""
    tag = tag or f"w{next(_counter)}{secrets.token_hex(2)}"
    w = World(svc=svc, tag=tag)
    with unit_of_work(svc) as session:
        orgs = {
            "fa": ensure_organization(session, SYSTEM, code=f"{tag}-fa", name=f"{tag} 機構", name_en=f"{tag} Agency",
                                      kind="funding_agency"),
            "lead": ensure_organization(session, SYSTEM, code=lead_code or f"{tag}-lead", name=f"{tag} 大学A",
                                        name_en=f"{tag} University A", kind="institution"),
            "partner": ensure_organization(session, SYSTEM, code=f"{tag}-partner", name=f"{tag} 大学B",
                                           name_en=f"{tag} University B", kind="institution"),
            "ministry": ensure_organization(session, SYSTEM, code=f"{tag}-min", name=f"{tag} 省",
                                            name_en=f"{tag} Ministry", kind="ministry"),
        }
        w.fa_id, w.lead_id = orgs["fa"].id, orgs["lead"].id
        w.partner_id, w.ministry_id = orgs["partner"].id, orgs["ministry"].id
        for name, (org_key, role, scope) in PEOPLE.items():
            user, _ = ensure_user(session, SYSTEM, username=w.username(name), display_name=name,
                                  email=f"{w.username(name)}@example.jp", password=PASSWORD)
            grant_role(session, SYSTEM, user, orgs[org_key], role, scope)
            w.users[name] = user.id
        new_program = Program(code=f"{tag}-prog", title=f"{tag} {program[0]}", title_en=f"{tag} {program[1]}",
                              funding_agency_id=w.fa_id, designated=True, created_at=clock.now())
        session.add(new_program)
        session.flush()
        new_call = Call(program_id=new_program.id, code=f"{tag}-call", title=call[0], title_en=call[1],
                        risk_deadline=risk_deadline, follow_up_interval="P12M", status="open", created_at=clock.now())
        session.add(new_call)
        session.flush()
        w.program_id, w.call_id = new_program.id, new_call.id
    return w


@pytest.fixture
def world(svc) -> World:
    return make_world(svc)


def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("needs PostgreSQL (set TEJUN_TEST_DATABASE_URL)")
