"""Nothing raw reaches a person: every kind of page, for the demo's cases, in Japanese, shows no code of the
known vocabularies (roles, stages, variants, event types, messages, element ids), no ISO-8601 duration and no
username where a name belongs."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from lxml import etree
from sqlalchemy import func, select

from service import demo, demo_cases
from service.audit.presentation import _MORE_ACTIONS
from service.cases.history import model_map
from service.designer import names
from service.engine.loader import BPMN_NS
from service.eventlog.chain import case_stream
from service.models import Case, Event, Membership, User, WorkItem
from service.wording import labels
from tests.conftest import ROOT
from tests.web.helpers import csrf
from tests.web.test_i18n import visible

DURATION = re.compile(r"(?<![\w-])P(?:\d+[YMWD])+(?:T(?:\d+[HMS])+)?(?![\w-])|(?<![\w-])PT(?:\d+[HMS])+(?![\w-])")
# pages whose subject is an account: the username is a field there, shown as such
ACCOUNT_PAGES = ("/admin/users", "/admin/organizations/", "/login")


@pytest.fixture(scope="module")
def demo_app(app, settings):
    result = app.test_cli_runner().invoke(args=["demo", "--quiet"])
    assert result.exit_code == 0, result.output
    passwords = json.loads((settings.instance_path / "demo-accounts.json").read_text())
    return app, passwords


def signed_in(app, passwords, username: str, lang: str = "ja"):
    client = app.test_client()
    client.set_cookie("lang", lang)
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": passwords[username],
                                           "csrf_token": csrf(page)})
    assert response.status_code == 302, username
    return client


def vocabulary(svc) -> set[str]:
    """Codes a person must never read: snake_case codes of the label tables, every event type recorded, and
    the element ids of the procedure's model."""
    codes = set()
    for table in (labels.ROLES, labels.STAGES, labels.STATUSES, labels.OUTCOMES, labels.VARIANTS, labels.ACTIONS,
                  labels.MESSAGES, labels.MEMBER_ROLES, _MORE_ACTIONS):
        codes.update(str(code) for code in table)
    with svc.db.reader() as session:
        codes.update(session.scalars(select(Event.action).distinct()))
        case = session.scalars(select(Case).where(Case.title == demo_cases.ROSTER)).one()
        found = model_map(session, case.model_version_id, case.process_id)
        # element ids; a gateway named like the data it decides on (risk_management_result) is that data's
        # name in the auditor's view of the case data, not an element id
        # (assigned by a script, or a key of a dict a script builds: follow_up.bpmn's "reassessment_required")
        data_names = {m.group(1) for path in (ROOT / "bpmn").glob("*.bpmn")
                      for pattern in (r"^\s*([a-z_][a-z0-9_]*)\s*=[^=]", r'"([a-z_][a-z0-9_]*)"\s*:')
                      for m in re.finditer(pattern, path.read_text(), re.M)}
        codes.update(set(found.elements) - data_names)
        codes.update(found.process_files)
    # the disclosure form's field names (the profile page shows them by their labels)
    codes.update(_property_names(json.loads((ROOT / "forms" / "disclosure.schema.json").read_text())))
    return {c for c in codes if "_" in c}


def _property_names(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        found.update(k for k in (node.get("properties") or {}) if isinstance(k, str))
        for value in node.values():
            found |= _property_names(value)
    elif isinstance(node, list):
        for value in node:
            found |= _property_names(value)
    return found


# a time as the engine or the log writes it (people read 2026-04-01 09:00 in JST), an engine class's name
ISO_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
ENGINE_CLASS = re.compile(r"\b[A-Z][A-Za-z]+EventDefinition\b")
JSON_TEXT = re.compile(r'[{\[]\s*"[a-z_]+"\s*:|\[\s*\{')  # a structure dumped as JSON: {"role": "co_pi"


def raw_in(text: str, codes: set[str], usernames: set[str]) -> list[str]:
    found = [m.group(0) for pattern in (DURATION, ISO_TIME, ENGINE_CLASS, JSON_TEXT)
             for m in pattern.finditer(text)]
    found += [c for c in codes if re.search(rf"(?<![\w.-]){re.escape(c)}(?![\w-])", text)]
    found += [u for u in usernames if re.search(rf"(?<![\w.@-]){re.escape(u)}(?![\w@-])", text)]
    return found


def pages(svc) -> list[tuple[str, str]]:
    """(who, path): every kind of page for the demo's cases."""
    with svc.db.reader() as session:
        cases = {c.title: c for c in session.scalars(select(Case).where(Case.title.in_(list(demo_cases.GUIDE))))}
        items = session.scalars(select(WorkItem).where(WorkItem.case_id.in_([c.id for c in cases.values()]))).all()
        people = {u.username: u.id for u in session.scalars(select(User).where(User.username.in_(list(demo.KINDS))))}
        # the demo account holding a role in an organization works that organization's tasks of that role
        holder = {(m.organization_id, m.role): m.user.username
                  for m in session.scalars(select(Membership).where(Membership.user_id.in_(list(people.values()))))}
    found = [
        ("a.security", "/"), ("a.security", "/?tab=org"), ("fa.officer", "/"), ("fa.officer", "/cases"),
        ("a.researcher", "/"), ("a.researcher", "/disclosure"), ("b.researcher", "/disclosure"),
        ("a.security", f"/disclosure/{people['a.researcher']}"), ("a.security", "/notifications?show=all"),
        ("a.researcher", "/notifications?show=all"), ("fa.officer", "/dashboard"), ("auditor", "/audit/"),
        ("admin", "/admin/organizations"), ("admin", "/admin/cases-in-error"), ("designer", "/designer/"),
    ]
    for title, case in cases.items():
        if case.kind == "designation":
            found += [("fa.manager", f"/cases/{case.id}"), ("auditor", f"/audit/cases/{case.id}")]
            continue
        found += [("a.security", f"/cases/{case.id}"), ("fa.officer", f"/cases/{case.id}"),
                  ("auditor", f"/cases/{case.id}"), ("auditor", f"/audit/cases/{case.id}"),
                  ("auditor", f"/audit/cases/{case.id}/report.html"), ("a.security", f"/screening/cases/{case.id}"),
                  ("auditor", f"/audit/cases/{case.id}?at=2")]
    for item in items:
        who = holder.get((item.organization_id, item.role))
        if item.role == "researcher" and item.assignee_id:
            who = next((u for u, i in people.items() if i == item.assignee_id), who)
        if who:
            found.append((who, f"/tasks/{item.task_id}"))
    return found


def test_no_page_shows_a_raw_key_in_japanese(demo_app, svc):
    app, passwords = demo_app
    codes = vocabulary(svc)
    usernames = set(demo.KINDS)
    clients: dict[str, object] = {}
    problems = []
    for who, path in pages(svc):
        client = clients.get(who) or clients.setdefault(who, signed_in(app, passwords, who))
        response = client.get(path)
        assert response.status_code == 200, (who, path, response.status_code)
        text = visible(response.get_data(as_text=True))
        account_page = any(path.startswith(p) for p in ACCOUNT_PAGES)
        raw = raw_in(text, codes, set() if account_page else usernames)
        if raw:
            problems.append(f"{who} {path}: {sorted(set(raw))}")
    assert not problems, "raw keys shown:\n" + "\n".join(problems)


def test_the_detector_finds_what_it_looks_for(svc):
    codes = {"security_officer", "disclosure_prefilled"}
    assert raw_in("担当: security_officer", codes, set()) == ["security_officer"]
    assert raw_in("間隔 P12M", codes, set()) == ["P12M"]
    assert raw_in("by fa.officer", codes, {"fa.officer"}) == ["fa.officer"]
    assert not raw_in("佐藤 花子 fa.officer@example.jp", codes, {"fa.officer"})
    assert not raw_in("RS-2026-00001 PD-2026-00009", codes, set())
    assert raw_in("期限 2099-12-31T23:59:59+09:00", codes, set()) == ["2099-12-31T23:59"]
    assert raw_in("待機 (SignalEventDefinition)", codes, set()) == ["SignalEventDefinition"]
    assert not raw_in("2099-12-31 23:59", codes, set())
    assert raw_in('研究者 {"name": "山本 大輔"', codes, set()) == ['{"name":']


def test_the_disclosure_profile_is_the_disclosure_form_and_a_labelled_read_only_view(demo_app, svc):
    app, passwords = demo_app
    researcher = signed_in(app, passwords, "a.researcher")
    page = researcher.get("/disclosure").get_data(as_text=True)
    schema = json.loads(re.search(r'id="tejun-form-schema">(.*?)</script>', page, re.S).group(1))
    data = json.loads(re.search(r'id="tejun-form-data">(.*?)</script>', page, re.S).group(1))
    props = schema["properties"]["disclosure"]["properties"]
    assert "certification" not in props and "identity" in props  # the case's certification is not the profile's
    assert data["disclosure"]["identity"]["name"] == "伊藤 直樹"
    assert "<textarea" not in page and 'id="consents"' in page  # no JSON text area; the consent section stays
    version = int(re.search(r'data-expected-version="(\d+)"', page).group(1))
    token = csrf(page)
    headers = {"X-CSRFToken": token, "Accept": "application/json, application/problem+json"}
    missing = json.loads(json.dumps(data))
    missing["disclosure"]["identity"]["name"] = ""
    refused = researcher.post("/disclosure", json={"data": missing, "expected_version": version}, headers=headers)
    assert refused.status_code == 422
    assert any(e["pointer"].startswith("/disclosure/identity") for e in refused.get_json()["errors"])
    changed = json.loads(json.dumps(data))
    changed["disclosure"]["identity"]["affiliation"] = "東都大学 理学部"
    saved = researcher.post("/disclosure", json={"data": changed, "expected_version": version}, headers=headers)
    assert saved.status_code == 200 and saved.get_json()["next_url"] == "/disclosure"
    with svc.db.reader() as session:
        user_id = session.scalar(select(User.id).where(User.username == "a.researcher"))
    stale = researcher.post("/disclosure", json={"data": changed, "expected_version": version}, headers=headers)
    assert stale.status_code in (200, 409)  # unchanged data is "nothing changed"; a stale version never saves
    officer = signed_in(app, passwords, "a.security").get(f"/disclosure/{user_id}").get_data(as_text=True)
    text = visible(officer)
    assert "東都大学 理学部" in text and "氏名" in text and "tejun-form-schema" not in officer
    assert "identity" not in text and "{" not in text.split("プロフィール", 1)[1]


class _CaseData(HTMLParser):
    """The names and plain values of the audit history's data panels ("All case data at this point" and the
    "Case data changed" table): [(name, value)] with nested values flattened."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside one of the panels while > 0
        self.tag: str | None = None
        self.names: list[str] = []
        self.values: list[str] = []
        self.cell = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag in ("details", "table") and ({"audit-case-data", "audit-data-changes"} & set(classes)):
            self.depth = 1
            return
        if not self.depth:
            return
        if tag in ("details", "table"):
            self.depth += 1
        if tag == "tr":
            self.cell = 0
        if tag == "dt" or (tag == "th" and attrs.get("scope") == "row"):
            self.tag = "name"
            self.names.append("")
        elif (tag == "span" and "data-text" in classes) or (tag == "td" and self.cell > 0):
            self.tag = "value"
            self.values.append("")
        if tag in ("th", "td"):
            self.cell += 1

    def handle_endtag(self, tag):
        if self.depth and tag in ("details", "table"):
            self.depth -= 1
        if tag in ("dt", "th", "span", "td"):
            self.tag = None

    def handle_data(self, data):
        if self.depth and self.tag == "name":
            self.names[-1] += data.strip()
        elif self.depth and self.tag == "value":
            self.values[-1] += data.strip()


IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")  # a variable's name or a code: side, level_value
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def case_data_problems(html: str, lang: str) -> list[str]:
    panels = _CaseData()
    panels.feed(html)
    found = [f"name {n!r}" for n in panels.names if IDENTIFIER.match(n) or (lang == "ja" and not JAPANESE.search(n))]
    found += [f"value {v!r}" for v in panels.values
              if IDENTIFIER.match(v) or ISO_MOMENT.search(v) or JSON_TEXT.search(v)]
    return found


def test_the_auditors_case_data_is_named_in_the_readers_language(demo_app, svc):
    """Every variable of the case data an auditor reads (the history's "All case data" and "Case data changed")
    is named in the page's language, or hidden as internal by the names catalog (bpmn/names/data.json); its
    codes by their words, its times in JST: no `deadline_at`, `side = partner` or `2027-02-11T23:59:59+09:00`."""
    app, passwords = demo_app
    with svc.db.reader() as session:
        cases = session.scalars(select(Case).where(Case.title.in_(list(demo_cases.GUIDE)))).all()
        lengths = {c.id: session.scalar(select(func.max(Event.seq)).where(Event.stream == case_stream(c.id)))
                   for c in cases}
    problems, panels = [], 0
    for lang in ("ja", "en"):
        client = signed_in(app, passwords, "auditor", lang)
        for case in cases:
            last = lengths[case.id]
            # the latest state, and the events that set the case up, plan the work and close it
            for at in sorted({last, 3, last // 2} - {0}):
                html = client.get(f"/audit/cases/{case.id}?at={at}").get_data(as_text=True)
                panels += html.count('class="audit-case-data"')
                problems += [f"{lang} {case.reference}@{at}: {p}" for p in case_data_problems(html, lang)]
    assert panels >= 2 * len(cases)
    assert not problems, "raw case data shown:\n" + "\n".join(sorted(set(problems)))


def test_the_case_data_detector_finds_what_it_looks_for():
    raw = ('<details class="audit-case-data"><dl class="data"><div><dt>deadline_at</dt><dd>'
           '<span class="data-text">2027-02-11T23:59:59+09:00</span></dd></div><div><dt>所属</dt><dd>'
           '<span class="data-text">partner</span></dd></div><div><dt>Risk level</dt><dd>'
           '<span class="data-text">L2</span></dd></div></dl></details>'
           '<table class="list audit-data-changes"><tbody><tr><th scope="row">level_value</th><td>1</td>'
           '<td>2</td></tr></tbody></table>')
    assert case_data_problems(raw, "ja") == ["name 'deadline_at'", "name 'Risk level'", "name 'level_value'",
                                             "value '2027-02-11T23:59:59+09:00'", "value 'partner'"]
    assert case_data_problems(raw.replace("deadline_at", "期限").replace("level_value", "レベル"), "en") == [
        "value '2027-02-11T23:59:59+09:00'", "value 'partner'"]


def test_the_procedures_steps_and_diagrams_follow_the_readers_language(demo_app, svc):
    """An element named in the model only in Japanese (a script step, an event, a gateway, a flow) is read in
    English from the names catalog (bpmn/names/<model>.json): on the audit timeline, the history's links and
    every diagram the auditor opens; in Japanese no code stands for a name ("研究者の追加 (member_added)")."""
    app, passwords = demo_app
    with svc.db.reader() as session:
        cases = session.scalars(select(Case).where(Case.title.in_(list(demo_cases.GUIDE)))).all()
        case = next(c for c in cases if c.kind != "designation")
        found = model_map(session, case.model_version_id, case.process_id)
        # every diagram of the procedure (the audit's diagram route: a version's process file)
        diagrams = {f"/audit/cases/{case.id}/diagram/{case.model_version_id}/{process}.bpmn"
                    for process in found.process_files}
        case_id = case.id
    for lang in ("en", "ja"):
        client = signed_in(app, passwords, "auditor", lang)
        problems = []
        for case in cases:
            html = client.get(f"/audit/cases/{case.id}").get_data(as_text=True)
            steps = [visible(cell) for cell in re.findall(r'<td data-label="(?:What|何を)">(.*?)</td>', html, re.S)]
            assert steps, case.reference
            if lang == "en":
                problems += [f"{case.reference}: {s!r}" for s in steps if JAPANESE.search(s)]
                # the called processes, on the audit history and on the case page
                links = re.findall(r'process=[\w-]+#diagram">([^<]+)</a>', html)
                problems += [f"{case.reference} link: {name!r}" for name in links if JAPANESE.search(name)]
        if lang == "en":  # the case page's own timeline names each step (timers, scripts too) in English
            model_names = {e.name.split(" (")[0] for e in found.elements.values() if e.name and not e.form}
            for case in cases:
                page = client.get(f"/cases/{case.id}").get_data(as_text=True)
                timeline = visible(page.split('class="timeline"', 1)[1].split("</ol>", 1)[0])
                problems += [f"{case.reference} timeline: {n!r}" for n in model_names
                             if JAPANESE.search(n) and n in timeline]
        if lang == "en":  # the case page's links to the processes called from each process ("① リスク確認 (再)")
            for process in sorted({url.rsplit("/", 1)[1][:-5] for url in diagrams}):
                page = client.get(f"/cases/{case_id}?process={process}").get_data(as_text=True)
                problems += [f"case page {process} link: {name!r}" for name in
                             re.findall(r'process=[\w-]+#diagram">([^<]+)</a>', page) if JAPANESE.search(name)]
        for url in sorted(diagrams):
            answer = client.get(url)
            assert answer.status_code == 200, url
            root = etree.fromstring(answer.data)
            for node in root.iter(f"{{{BPMN_NS}}}*"):
                name, kind = node.get("name") or "", etree.QName(node).localname
                if kind not in names.SHOWN:
                    continue
                if (lang == "en" and JAPANESE.search(name)) or re.search(r"\b[a-z]+_[a-z_]+\b", name):
                    problems.append(f"{url} {node.get('id')}: {name!r}")
        assert len(diagrams) >= 5
        assert not problems, f"{lang}: names in the other language or codes:\n" + "\n".join(sorted(set(problems)))
